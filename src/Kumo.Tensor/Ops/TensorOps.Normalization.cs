using Kumo.Tensor.Autograd;

namespace Kumo.Tensor.Ops;

public static partial class TensorOps
{
    /// <summary>Layer norm's ε (added to the variance).</summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>
    /// Layer normalization over the last dimension: (x − mean) / √(var + 1e-5) · gamma + beta, with the biased
    /// variance; mean and variance are sequential ascending sums. gamma and beta gradients sum rows in ascending order.
    /// </summary>
    public static Tensor LayerNorm(Tape tape, Tensor x, Tensor gamma, Tensor beta)
    {
        int n = x.Columns, rows = x.Rows;
        if (gamma.Length != n || beta.Length != n)
        {
            throw new ArgumentException($"layer norm over {n} features needs gamma and beta of {n}, got {gamma} and {beta}");
        }

        var y = new Tensor(x.Shape, null, x.RequiresGrad || gamma.RequiresGrad || beta.RequiresGrad);
        float[] xhat = new float[x.Length];
        float[] rstd = new float[rows];
        Work.For(rows, tape.Compute, r =>
        {
            int o = r * n;
            float sum = 0f;
            for (int j = 0; j < n; j++)
            {
                sum += x.Data[o + j];
            }

            float mean = sum / n;
            float sq = 0f;
            for (int j = 0; j < n; j++)
            {
                float d = x.Data[o + j] - mean;
                sq = MathF.FusedMultiplyAdd(d, d, sq);
            }

            float rs = 1f / MathF.Sqrt((sq / n) + LayerNormEpsilon);
            rstd[r] = rs;
            for (int j = 0; j < n; j++)
            {
                float h = (x.Data[o + j] - mean) * rs;
                xhat[o + j] = h;
                y.Data[o + j] = MathF.FusedMultiplyAdd(h, gamma.Data[j], beta.Data[j]);
            }
        });

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad();
            if (gamma.RequiresGrad || beta.RequiresGrad)
            {
                float[] gg = gamma.EnsureGrad(), gb = beta.EnsureGrad();
                for (int r = 0; r < rows; r++)
                {
                    int o = r * n;
                    for (int j = 0; j < n; j++)
                    {
                        gg[j] = MathF.FusedMultiplyAdd(g[o + j], xhat[o + j], gg[j]);
                        gb[j] += g[o + j];
                    }
                }
            }

            if (x.RequiresGrad)
            {
                float[] gx = x.EnsureGrad();
                Work.For(rows, tape.Compute, r =>
                {
                    // dx = rstd · (dxhat − mean(dxhat) − xhat · mean(dxhat · xhat)), dxhat = g · gamma
                    int o = r * n;
                    float sumD = 0f, sumDx = 0f;
                    for (int j = 0; j < n; j++)
                    {
                        float d = g[o + j] * gamma.Data[j];
                        sumD += d;
                        sumDx = MathF.FusedMultiplyAdd(d, xhat[o + j], sumDx);
                    }

                    float meanD = sumD / n, meanDx = sumDx / n;
                    for (int j = 0; j < n; j++)
                    {
                        float d = g[o + j] * gamma.Data[j];
                        float v = MathF.FusedMultiplyAdd(-xhat[o + j], meanDx, d - meanD);
                        gx[o + j] = MathF.FusedMultiplyAdd(rstd[r], v, gx[o + j]);
                    }
                });
            }
        }, new OpCall(nameof(LayerNorm), x, gamma, beta));
        return y;
    }
}
