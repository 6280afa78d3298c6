using Kumo.Tensor.Autograd;

namespace Kumo.Tensor.Ops;

public static partial class TensorOps
{
    /// <summary>
    /// Rows of <paramref name="table"/> (entries × width) picked by <paramref name="ids"/>: (ids × width).
    /// The backward scatter-adds into the table in ascending position order, so a row used twice accumulates
    /// its two gradients in a fixed order.
    /// </summary>
    public static Tensor Embedding(Tape tape, Tensor table, ReadOnlySpan<int> ids)
    {
        if (table.Shape.Length != 2)
        {
            throw new ArgumentException($"an embedding table is 2-D, got {table}");
        }

        int entries = table.Shape[0], width = table.Shape[1];
        int[] idx = ids.ToArray();
        var y = new Tensor([idx.Length, width], null, table.RequiresGrad);
        for (int i = 0; i < idx.Length; i++)
        {
            if ((uint)idx[i] >= (uint)entries)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"id {idx[i]} outside 0..{entries - 1}");
            }

            table.Data.AsSpan(idx[i] * width, width).CopyTo(y.Data.AsSpan(i * width, width));
        }

        tape.Record(y, () =>
        {
            float[] g = y.EnsureGrad(), gt = table.EnsureGrad();
            for (int i = 0; i < idx.Length; i++)
            {
                int o = idx[i] * width;
                for (int j = 0; j < width; j++)
                {
                    gt[o + j] += g[(i * width) + j];
                }
            }
        }, new OpCall(nameof(Embedding), [table], [tape.LeafOf(ids)], []));
        return y;
    }
}
