using Kumo.Tensor.Autograd;
using Kumo.Tensor.Numerics;

namespace Kumo.Tensor.Ops;

public static partial class TensorOps
{
    /// <summary>
    /// Cross-entropy from logits (rows × classes) against one target class per row, averaged over rows: a scalar.
    /// Each row's loss is log Σ e^(x − max) + max − x[target] (<see cref="DetMath"/>); the mean sums rows in
    /// ascending order.
    /// </summary>
    public static Tensor CrossEntropy(Tape tape, Tensor logits, ReadOnlySpan<int> targets)
    {
        int n = logits.Columns, rows = logits.Rows;
        if (targets.Length != rows)
        {
            throw new ArgumentException($"{targets.Length} targets for {rows} rows of logits");
        }

        int[] t = targets.ToArray();
        foreach (int target in t)
        {
            if ((uint)target >= (uint)n)
            {
                throw new ArgumentOutOfRangeException(nameof(targets), $"target {target} outside 0..{n - 1}");
            }
        }

        float[] probs = new float[logits.Length];
        float[] rowLoss = new float[rows];
        Work.For(rows, tape.Compute, r =>
        {
            ReadOnlySpan<float> x = logits.Data.AsSpan(r * n, n);
            float max = float.NegativeInfinity;
            for (int j = 0; j < n; j++)
            {
                max = MathF.Max(max, x[j]);
            }

            float sum = 0f;
            Span<float> p = probs.AsSpan(r * n, n);
            for (int j = 0; j < n; j++)
            {
                p[j] = DetMath.Exp(x[j] - max);
                sum += p[j];
            }

            float inv = 1f / sum;
            for (int j = 0; j < n; j++)
            {
                p[j] *= inv;
            }

            rowLoss[r] = DetMath.Log(sum) + max - x[t[r]];
        });

        float total = 0f;
        for (int r = 0; r < rows; r++)
        {
            total += rowLoss[r];
        }

        var loss = new Tensor([1], [total / rows], logits.RequiresGrad);
        tape.Record(loss, () =>
        {
            float scale = loss.EnsureGrad()[0] / rows;
            float[] gx = logits.EnsureGrad();
            Work.For(rows, tape.Compute, r =>
            {
                int o = r * n;
                for (int j = 0; j < n; j++)
                {
                    float d = probs[o + j] - (j == t[r] ? 1f : 0f);
                    gx[o + j] = MathF.FusedMultiplyAdd(scale, d, gx[o + j]);
                }
            });
        }, new OpCall(nameof(CrossEntropy), [logits], [tape.LeafOf(targets)], []));
        return loss;
    }
}
