using System.Text;

namespace Kumo.Tensor.Formats;

/// <summary>
/// The order tensors and metadata keys are written in: by the bytes of their UTF-8 names (that is, by Unicode code
/// point). Unlike .NET's ordinal UTF-16 order it is what any other language's byte-wise sort gives, so another
/// implementation can produce the same canonical file.
/// </summary>
internal sealed class TensorNameOrder : IComparer<string>
{
    public static readonly TensorNameOrder Instance = new();

    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? -1 : 1;
        }

        return Encoding.UTF8.GetBytes(x).AsSpan().SequenceCompareTo(Encoding.UTF8.GetBytes(y));
    }
}
