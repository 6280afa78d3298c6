using Kumo.Tensor.Autograd;
using Kumo.Tensor.Numerics;

namespace Kumo.Tensor.Ops;

public static partial class TensorOps
{
    private const float GeluC = 0.7978845608028654f; // √(2/π)
    private const float GeluA = 0.044715f;

    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tape tape, Tensor x)
    {
        var y = new Tensor(x.Shape, null, x.RequiresGrad);
        for (int i = 0; i < y.Length; i++)
        {
            y.Data[i] = x.Data[i] > 0f ? x.Data[i] : 0f;
        }

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad(), gx = x.EnsureGrad();
            for (int i = 0; i < gx.Length; i++)
            {
                if (x.Data[i] > 0f)
                {
                    gx[i] += g[i];
                }
            }
        }, new OpCall(nameof(Relu), x));
        return y;
    }

    /// <summary>GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))), with <see cref="DetMath.Tanh(float)"/>.</summary>
    public static Tensor Gelu(Tape tape, Tensor x)
    {
        var y = new Tensor(x.Shape, null, x.RequiresGrad);
        float[] t = new float[x.Length];
        for (int i = 0; i < y.Length; i++)
        {
            float v = x.Data[i];
            t[i] = DetMath.Tanh(GeluC * MathF.FusedMultiplyAdd(GeluA * v * v, v, v));
            y.Data[i] = 0.5f * v * (1f + t[i]);
        }

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad(), gx = x.EnsureGrad();
            for (int i = 0; i < gx.Length; i++)
            {
                float v = x.Data[i], th = t[i];
                // d/dx = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²)
                float inner = GeluC * MathF.FusedMultiplyAdd(3f * GeluA * v, v, 1f);
                float d = MathF.FusedMultiplyAdd(0.5f * v * MathF.FusedMultiplyAdd(-th, th, 1f), inner, 0.5f * (1f + th));
                gx[i] = MathF.FusedMultiplyAdd(g[i], d, gx[i]);
            }
        }, new OpCall(nameof(Gelu), x));
        return y;
    }

    /// <summary>Softmax over the last dimension, max-subtracted, with <see cref="DetMath.Exp(float)"/>; sums in ascending order.</summary>
    public static Tensor Softmax(Tape tape, Tensor x)
    {
        var y = new Tensor(x.Shape, null, x.RequiresGrad);
        int n = x.Columns;
        Work.For(x.Rows, tape.Compute, r => SoftmaxRow(x.Data.AsSpan(r * n, n), y.Data.AsSpan(r * n, n)));
        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad(), gx = x.EnsureGrad();
            Work.For(x.Rows, tape.Compute, r =>
            {
                int o = r * n;
                float dot = 0f;
                for (int j = 0; j < n; j++)
                {
                    dot = MathF.FusedMultiplyAdd(g[o + j], y.Data[o + j], dot);
                }

                for (int j = 0; j < n; j++)
                {
                    gx[o + j] = MathF.FusedMultiplyAdd(y.Data[o + j], g[o + j] - dot, gx[o + j]);
                }
            });
        }, new OpCall(nameof(Softmax), x));
        return y;
    }

    /// <summary>softmax(x) into y: e^(x − max) / Σ, the sum in ascending order.</summary>
    internal static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        float max = float.NegativeInfinity;
        for (int j = 0; j < x.Length; j++)
        {
            max = MathF.Max(max, x[j]);
        }

        float sum = 0f;
        for (int j = 0; j < x.Length; j++)
        {
            y[j] = DetMath.Exp(x[j] - max);
            sum += y[j];
        }

        float inv = 1f / sum;
        for (int j = 0; j < x.Length; j++)
        {
            y[j] *= inv;
        }
    }
}
