using Kumo.Tensor.Autograd;

namespace Kumo.Tensor.Ops;

public static partial class TensorOps
{
    /// <summary>
    /// Causal multi-head self-attention over packed projections: <paramref name="qkv"/> is (batch·time × 3·width),
    /// each row [q | k | v], head h using columns h·d … (h+1)·d − 1 of each part (d = width / heads). Position i
    /// attends to positions 0 … i only: out_i = Σ_{j ≤ i} softmax_j(q_i·k_j / √d) v_j. Result: (batch·time × width).
    /// Dot products and weighted sums accumulate by fused multiply-add in ascending index order; (sequence, head)
    /// pairs are independent — they read and write disjoint slices — so they are the unit split across threads.
    /// </summary>
    public static Tensor CausalSelfAttention(Tape tape, Tensor qkv, int batch, int time, int heads)
    {
        if (qkv.Shape.Length != 2 || qkv.Rows != batch * time || qkv.Columns % 3 != 0 || (qkv.Columns / 3) % heads != 0)
        {
            throw new ArgumentException($"attention over {batch}×{time} positions and {heads} heads cannot take {qkv}");
        }

        int width = qkv.Columns / 3, d = width / heads, stride = qkv.Columns;
        float scale = 1f / MathF.Sqrt(d);
        var y = new Tensor([batch * time, width], null, qkv.RequiresGrad);
        float[] probs = new float[batch * heads * time * time]; // row i holds weights for j ≤ i, zeros after
        float[] src = qkv.Data, dst = y.Data;

        Work.For(batch * heads, tape.Compute, bh =>
        {
            int b = bh / heads, h = bh % heads;
            int q0 = h * d, k0 = width + (h * d), v0 = (2 * width) + (h * d);
            Span<float> scores = stackalloc float[time];
            for (int i = 0; i < time; i++)
            {
                int qi = ((b * time) + i) * stride;
                for (int j = 0; j <= i; j++)
                {
                    int kj = ((b * time) + j) * stride;
                    float dot = 0f;
                    for (int c = 0; c < d; c++)
                    {
                        dot = MathF.FusedMultiplyAdd(src[qi + q0 + c], src[kj + k0 + c], dot);
                    }

                    scores[j] = dot * scale;
                }

                Span<float> p = probs.AsSpan((((bh * time) + i) * time), i + 1);
                SoftmaxRow(scores[..(i + 1)], p);
                int oi = ((b * time) + i) * width;
                for (int c = 0; c < d; c++)
                {
                    float acc = 0f;
                    for (int j = 0; j <= i; j++)
                    {
                        acc = MathF.FusedMultiplyAdd(p[j], src[(((b * time) + j) * stride) + v0 + c], acc);
                    }

                    dst[oi + q0 + c] = acc;
                }
            }
        });

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad(), gq = qkv.EnsureGrad();
            Work.For(batch * heads, tape.Compute, bh =>
            {
                int b = bh / heads, h = bh % heads;
                int q0 = h * d, k0 = width + (h * d), v0 = (2 * width) + (h * d);
                Span<float> dp = stackalloc float[time];
                for (int i = 0; i < time; i++)
                {
                    int qi = ((b * time) + i) * stride, oi = ((b * time) + i) * width;
                    ReadOnlySpan<float> p = probs.AsSpan((((bh * time) + i) * time), i + 1);

                    // dP_ij = dout_i · v_j, and dv_j += P_ij dout_i (j ascending within i ascending)
                    float dot = 0f;
                    for (int j = 0; j <= i; j++)
                    {
                        int vj = (((b * time) + j) * stride) + v0;
                        float s = 0f;
                        for (int c = 0; c < d; c++)
                        {
                            s = MathF.FusedMultiplyAdd(g[oi + q0 + c], src[vj + c], s);
                            gq[vj + c] = MathF.FusedMultiplyAdd(p[j], g[oi + q0 + c], gq[vj + c]);
                        }

                        dp[j] = s;
                        dot = MathF.FusedMultiplyAdd(p[j], s, dot);
                    }

                    // dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij') · scale; dq_i += dS_ij k_j; dk_j += dS_ij q_i
                    for (int j = 0; j <= i; j++)
                    {
                        float ds = p[j] * (dp[j] - dot) * scale;
                        int kj = (((b * time) + j) * stride) + k0;
                        for (int c = 0; c < d; c++)
                        {
                            gq[qi + q0 + c] = MathF.FusedMultiplyAdd(ds, src[kj + c], gq[qi + q0 + c]);
                            gq[kj + c] = MathF.FusedMultiplyAdd(ds, src[qi + q0 + c], gq[kj + c]);
                        }
                    }
                }
            });
        }, new OpCall(nameof(CausalSelfAttention), [qkv], [], [time, heads]));
        return y;
    }
}
