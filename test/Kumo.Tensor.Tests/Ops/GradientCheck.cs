using Kumo.Tensor.Autograd;

namespace Kumo.Tensor.Tests.Ops;

/// <summary>Compares a tape's gradients with central finite differences of L = Σ output ⊙ r (r random).</summary>
internal static class GradientCheck
{
    public static Tensor Random(Random random, int[] shape, float scale = 1f, bool requiresGrad = true)
    {
        var t = new Tensor(shape, null, requiresGrad);
        for (int i = 0; i < t.Length; i++)
        {
            t.Data[i] = (float)((random.NextDouble() * 2) - 1) * scale;
        }

        return t;
    }

    public static void Check(Func<Tape, Tensor> op, Tensor[] inputs, int seed = 7, float step = 3e-3f, double tolerance = 1e-2)
    {
        var random = new Random(seed);
        var tape = new Tape(new() { Threads = 1 });
        Tensor output = op(tape);
        float[] r = new float[output.Length];
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = (float)((random.NextDouble() * 2) - 1);
        }

        tape.Backward(output, r);

        double Loss()
        {
            Tensor y = op(new Tape(new() { Threads = 1 }, recording: false));
            double sum = 0;
            for (int i = 0; i < y.Length; i++)
            {
                sum += (double)y.Data[i] * r[i];
            }

            return sum;
        }

        for (int n = 0; n < inputs.Length; n++)
        {
            Tensor input = inputs[n];
            float[] analytic = input.Grad ?? new float[input.Length];
            for (int i = 0; i < input.Length; i++)
            {
                float saved = input.Data[i];
                input.Data[i] = saved + step;
                double plus = Loss();
                input.Data[i] = saved - step;
                double minus = Loss();
                input.Data[i] = saved;
                double numeric = (plus - minus) / (2.0 * step);
                double error = Math.Abs(numeric - analytic[i]);
                Assert.True(error <= tolerance * Math.Max(1.0, Math.Abs(numeric)),
                    $"input {n} element {i}: analytic {analytic[i]}, numeric {numeric} (error {error})");
            }
        }
    }
}
