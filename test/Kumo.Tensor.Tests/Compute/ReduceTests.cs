using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Tests.Compute;

public class ReduceTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.W128, SimdWidth.W256, SimdWidth.W512, SimdWidth.Auto];
    private static readonly int[] Lengths = [0, 1, 2, 7, 15, 16, 17, 31, 32, 33, 100, 1000, 4099];

    [Fact]
    public void Every_width_gives_the_bits_of_the_documented_tree()
    {
        foreach (int length in Lengths)
        {
            var random = new Random(length);
            float[] x = GemmTests.Data(random, length), y = GemmTests.Data(random, length);
            float sum = Tree(x, y, dot: false), dot = Tree(x, y, dot: true), squares = Tree(x, x, dot: true);
            foreach (SimdWidth width in Widths)
            {
                Assert.Equal(BitConverter.SingleToInt32Bits(sum), BitConverter.SingleToInt32Bits(Reduce.Sum(x, width)));
                Assert.Equal(BitConverter.SingleToInt32Bits(dot), BitConverter.SingleToInt32Bits(Reduce.Dot(x, y, width)));
                Assert.Equal(BitConverter.SingleToInt32Bits(squares), BitConverter.SingleToInt32Bits(Reduce.SumOfSquares(x, width)));
                Assert.Equal(BitConverter.SingleToInt32Bits(length == 0 ? float.NegativeInfinity : x.Max()), BitConverter.SingleToInt32Bits(Reduce.Max(x, width)));
            }
        }
    }

    [Fact]
    public void The_order_of_additions_is_the_tree_not_left_to_right()
    {
        // 1 + 2^24 + 1 … left to right loses both ones; lanes 0 and 2 keep them apart until the tree adds them as 2.
        float[] x = new float[17];
        x[0] = 1;
        x[1] = 16777216f;
        x[2] = 1;
        foreach (SimdWidth width in Widths)
        {
            Assert.Equal(16777218f, Reduce.Sum(x, width));
        }
    }

    [Fact]
    public void Max_handles_nan_and_signed_zeros_the_same_at_every_width()
    {
        foreach (SimdWidth width in Widths)
        {
            for (int at = 0; at < 40; at += 13)
            {
                float[] x = new float[40];
                Array.Fill(x, -0f);
                Assert.True(float.IsNegative(Reduce.Max(x, width)));
                x[at] = 0f;
                Assert.False(float.IsNegative(Reduce.Max(x, width)));
                x[39 - at] = float.NaN;
                Assert.Equal(BitConverter.SingleToInt32Bits(float.NaN), BitConverter.SingleToInt32Bits(Reduce.Max(x, width)));
            }
        }
    }

    [Fact]
    public void Dot_of_different_lengths_is_refused() =>
        Assert.Throws<ArgumentException>(() => Reduce.Dot(new float[3], new float[4]));

    /// <summary>The contract written out: 16 lanes, element i into lane i mod 16 in ascending order, then the pairwise tree.</summary>
    private static float Tree(float[] x, float[] y, bool dot)
    {
        float[] lanes = new float[16];
        for (int i = 0; i < x.Length; i++)
        {
            lanes[i % 16] = dot ? MathF.FusedMultiplyAdd(x[i], y[i], lanes[i % 16]) : lanes[i % 16] + x[i];
        }

        for (int half = 8; half >= 1; half /= 2)
        {
            for (int l = 0; l < half; l++)
            {
                lanes[l] += lanes[l + half];
            }
        }

        return lanes[0];
    }
}
