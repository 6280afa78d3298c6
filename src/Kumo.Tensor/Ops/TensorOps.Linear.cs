using Kumo.Tensor.Autograd;
using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Ops;

/// <summary>
/// The differentiable operations, each a forward computation plus the backward step it records on the
/// <see cref="Tape"/>. Every reduction runs sequentially in ascending index order (or through <see cref="Gemm"/>,
/// whose order is fixed by contract); products are accumulated with fused multiply-add throughout; threads only
/// ever split independent outputs. Transcendentals come from <see cref="Numerics.DetMath"/>. Hence: the same bits
/// on every CPU, SIMD width and thread count.
/// </summary>
public static partial class TensorOps
{
    /// <summary>x (… × k) · w (k × n) → (… × n).</summary>
    public static Tensor MatMul(Tape tape, Tensor x, Tensor w)
    {
        if (w.Shape.Length != 2 || w.Shape[0] != x.Columns)
        {
            throw new ArgumentException($"cannot multiply {x} by {w}");
        }

        int m = x.Rows, k = x.Columns, n = w.Shape[1];
        var y = new Tensor([.. x.Shape[..^1], n], null, x.RequiresGrad || w.RequiresGrad);
        Gemm.Multiply(x.Data, w.Data, y.Data, m, k, n, tape.Compute);
        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad();
            if (x.RequiresGrad)
            {
                // dx (m × k) += g (m × n) · wᵀ (n × k)
                float[] wt = Transpose(w.Data, k, n);
                Gemm.Multiply(g, wt, x.EnsureGrad(), m, n, k, tape.Compute, accumulate: true);
            }

            if (w.RequiresGrad)
            {
                // dw (k × n) += xᵀ (k × m) · g (m × n)
                float[] xt = Transpose(x.Data, m, k);
                Gemm.Multiply(xt, g, w.EnsureGrad(), k, m, n, tape.Compute, accumulate: true);
            }
        }, new OpCall(nameof(MatMul), x, w));
        return y;
    }

    /// <summary>x · w + b: a fully connected layer (w is in × out, b is a row of out).</summary>
    public static Tensor Linear(Tape tape, Tensor x, Tensor w, Tensor? b) =>
        b is null ? MatMul(tape, x, w) : Add(tape, MatMul(tape, x, w), b);

    /// <summary>
    /// a + b, elementwise when the shapes match, or b broadcast over every row of a when b is a single row of
    /// a's last dimension (a bias). The bias gradient sums rows in ascending order.
    /// </summary>
    public static Tensor Add(Tape tape, Tensor a, Tensor b)
    {
        bool broadcast = b.Length != a.Length || !a.Shape.AsSpan().SequenceEqual(b.Shape);
        if (broadcast && b.Length != a.Columns)
        {
            throw new ArgumentException($"cannot add {b} to {a}: shapes must match or the second be one row of the first's last dimension");
        }

        var y = new Tensor(a.Shape, null, a.RequiresGrad || b.RequiresGrad);
        int n = b.Length, rows = a.Length / n;
        for (int r = 0; r < rows; r++)
        {
            int o = r * n;
            for (int j = 0; j < n; j++)
            {
                y.Data[o + j] = a.Data[o + j] + b.Data[broadcast ? j : o + j];
            }
        }

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad();
            if (a.RequiresGrad)
            {
                AddInto(a.EnsureGrad(), g);
            }

            if (b.RequiresGrad)
            {
                float[] gb = b.EnsureGrad();
                if (!broadcast)
                {
                    AddInto(gb, g);
                }
                else
                {
                    for (int r = 0; r < rows; r++)
                    {
                        int o = r * n;
                        for (int j = 0; j < n; j++)
                        {
                            gb[j] += g[o + j];
                        }
                    }
                }
            }
        }, new OpCall(nameof(Add), a, b));
        return y;
    }

    /// <summary>a ⊙ b, elementwise (same shapes).</summary>
    public static Tensor Mul(Tape tape, Tensor a, Tensor b)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape))
        {
            throw new ArgumentException($"cannot multiply {a} and {b} elementwise");
        }

        var y = new Tensor(a.Shape, null, a.RequiresGrad || b.RequiresGrad);
        for (int i = 0; i < y.Length; i++)
        {
            y.Data[i] = a.Data[i] * b.Data[i];
        }

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad();
            if (a.RequiresGrad)
            {
                float[] ga = a.EnsureGrad();
                for (int i = 0; i < ga.Length; i++)
                {
                    ga[i] = MathF.FusedMultiplyAdd(g[i], b.Data[i], ga[i]);
                }
            }

            if (b.RequiresGrad)
            {
                float[] gb = b.EnsureGrad();
                for (int i = 0; i < gb.Length; i++)
                {
                    gb[i] = MathF.FusedMultiplyAdd(g[i], a.Data[i], gb[i]);
                }
            }
        }, new OpCall(nameof(Mul), a, b));
        return y;
    }

    /// <summary>The transpose of a rows × cols row-major matrix (exact: it only moves values).</summary>
    internal static float[] Transpose(ReadOnlySpan<float> source, int rows, int cols)
    {
        float[] t = new float[source.Length];
        for (int i = 0; i < rows; i++)
        {
            for (int j = 0; j < cols; j++)
            {
                t[(j * rows) + i] = source[(i * cols) + j];
            }
        }

        return t;
    }

    private static void AddInto(float[] target, float[] source)
    {
        for (int i = 0; i < target.Length; i++)
        {
            target[i] += source[i];
        }
    }
}
