using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Autograd;

/// <summary>
/// Splits independent work items (rows, attention heads) across the threads <see cref="ComputeOptions"/> allows.
/// Only ever used where each item writes its own outputs and reduces in its own fixed order, so the split cannot
/// change a bit of any result.
/// </summary>
internal static class Work
{
    public static void For(int count, ComputeOptions options, Action<int> body)
    {
        int threads = Math.Min(options.Threads, count);
        if (threads <= 1)
        {
            for (int i = 0; i < count; i++)
            {
                body(i);
            }

            return;
        }

        Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = threads }, body);
    }
}
