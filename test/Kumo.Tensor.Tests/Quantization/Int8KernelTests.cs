using FsCheck;
using FsCheck.Fluent;
using Kumo.Tensor.Quantization;

namespace Kumo.Tensor.Tests.Quantization;

/// <summary>The kernels' contract: the scale / 2 error bound, exact zeros, half-to-even rounding, refusal of NaN and ±∞.</summary>
public sealed class Int8KernelTests
{
    [Fact]
    public void Per_channel_rounds_half_to_even_against_max_over_127()
    {
        float[] w = [127f, 0.5f, 1.5f, 2.5f, -2.5f, -127f, 63.5f, -0.5f];
        var q = new sbyte[8];
        var scales = new float[2];
        Int8Kernels.QuantizePerChannel(w, 2, 4, q, scales);
        Assert.Equal([1f, 1f], scales);
        Assert.Equal(new sbyte[] { 127, 0, 2, 2, -2, -127, 64, 0 }, q);
    }

    [Fact]
    public void Q8_blocks_cover_each_row_with_a_partial_last_block()
    {
        Assert.Equal(0, Int8Kernels.BlocksPerRow(0));
        Assert.Equal(1, Int8Kernels.BlocksPerRow(32));
        Assert.Equal(2, Int8Kernels.BlocksPerRow(33));
        float[] w = [.. Enumerable.Range(0, 2 * 40).Select(i => i < 32 ? 127f : i < 40 ? 1.27f : -254f)];
        var q = new sbyte[w.Length];
        var scales = new Half[4];
        Int8Kernels.QuantizeBlocks(w, 2, 40, q, scales);
        Assert.Equal([(Half)1f, Int8Kernels.CeilingHalf(0.01f), (Half)2f, (Half)2f], scales);
        Assert.All(q, v => Assert.Equal(127, Math.Abs((int)v)));
    }

    [Fact]
    public void The_fp16_scale_is_the_smallest_one_not_below_max_over_127()
    {
        foreach (float max in new[] { 1e-3f, 0.0123f, 0.7f, 1f, 3.14159f, 1000.1f, 8_000_000f })
        {
            float exact = max / 127;
            Half h = Int8Kernels.CeilingHalf(exact);
            Assert.True((float)h >= exact, $"{max}: {h} < {exact}");
            Assert.True((float)Half.BitDecrement(h) < exact, $"{max}: {h} is not the smallest");
        }
    }

    [Fact]
    public void Zeros_quantize_to_zero_scales_and_zero_levels_exactly()
    {
        var w = new float[3 * 50];
        var q = new sbyte[w.Length];
        var scales = new float[3];
        var halves = new Half[3 * 2];
        var back = new float[w.Length];
        Int8Kernels.QuantizePerChannel(w, 3, 50, q, scales);
        Assert.All(scales, s => Assert.Equal(0f, s));
        Assert.All(q, v => Assert.Equal(0, v));
        Int8Kernels.DequantizePerChannel(q, scales, 3, 50, back);
        Assert.All(back, v => Assert.Equal(0f, v));
        Int8Kernels.QuantizeBlocks(w, 3, 50, q, halves);
        Assert.All(halves, s => Assert.Equal(Half.Zero, s));
        Assert.All(q, v => Assert.Equal(0, v));
    }

    [Fact]
    public void A_channel_of_zeros_stays_zero_while_its_neighbours_are_scaled()
    {
        float[] w = [0.5f, -1f, 0f, 0f, 0f, 0f, 3f, 2f];
        var q = new sbyte[8];
        var scales = new float[4];
        var back = new float[8];
        Int8Kernels.QuantizePerChannel(w, 4, 2, q, scales);
        Int8Kernels.DequantizePerChannel(q, scales, 4, 2, back);
        Assert.Equal([1f / 127, 0f, 0f, 3f / 127], scales);
        Assert.Equal(new sbyte[] { 64, -127, 0, 0, 0, 0, 127, 85 }, q);
        Assert.Equal(0f, back[2]);
        Assert.Equal(0f, back[5]);
    }

    [Fact]
    public void Extreme_finite_values_quantize_without_overflow()
    {
        float[] w = [float.MaxValue, -float.MaxValue, 1f, float.Epsilon, -float.Epsilon, 0f];
        var q = new sbyte[6];
        var scales = new float[3];
        var back = new float[6];
        Int8Kernels.QuantizePerChannel(w, 3, 2, q, scales);
        Int8Kernels.DequantizePerChannel(q, scales, 3, 2, back);
        Assert.Equal(new sbyte[] { 127, -127, 127, 0, 0, 0 }, q);
        Assert.All(back, v => Assert.True(float.IsFinite(v)));
        AssertWithinHalfScale(w[..2], back[..2], scales[0]);

        // A row of subnormals: its scale underflows to 0 and the row becomes zeros (error ≤ max|x| ≈ 1e-45).
        Assert.Equal(0f, scales[2]);

        // fp16 scales top out at 65504: q8_0 takes max |x| up to 65504 × 127 and refuses more, saying so.
        var halves = new Half[1];
        Int8Kernels.QuantizeBlocks([8_000_000f, -1f], 1, 2, q.AsSpan(0, 2), halves);
        var ex = Assert.Throws<ArgumentException>(() => Int8Kernels.QuantizeBlocks([1e7f, 1f], 1, 2, q.AsSpan(0, 2), halves, "big"));
        Assert.Contains("tensor 'big': block 0 of row 0 has max |x| = 10000000, beyond what an fp16 scale can carry", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(float.NaN, "NaN")]
    [InlineData(float.PositiveInfinity, "Infinity")]
    [InlineData(float.NegativeInfinity, "-Infinity")]
    public void Non_finite_values_are_refused_with_their_position(float bad, string shown)
    {
        float[] w = [1f, 2f, 3f, 4f, 5f, bad];
        var q = new sbyte[6];
        var ex = Assert.Throws<ArgumentException>(() => Int8Kernels.QuantizePerChannel(w, 2, 3, q, new float[2], "w1"));
        Assert.Contains($"tensor 'w1': element [1, 2] is {shown}; only finite values can be quantized", ex.Message, StringComparison.Ordinal);
        ex = Assert.Throws<ArgumentException>(() => Int8Kernels.QuantizeBlocks(w, 2, 3, q, new Half[2], "w1"));
        Assert.Contains("element [1, 2]", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Per_channel_error_is_within_half_a_scale_for_random_matrices()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            (float[] w, int rows, int columns) = RandomMatrix(new Random(seed));
            var q = new sbyte[w.Length];
            var scales = new float[rows];
            var back = new float[w.Length];
            Int8Kernels.QuantizePerChannel(w, rows, columns, q, scales);
            Int8Kernels.DequantizePerChannel(q, scales, rows, columns, back);
            for (int r = 0; r < rows; r++)
            {
                AssertWithinHalfScale(w.AsSpan(r * columns, columns), back.AsSpan(r * columns, columns), scales[r]);
                Assert.Equal(w.AsSpan(r * columns, columns).ToArray().Max(Math.Abs) / 127, scales[r]);
            }

            Assert.DoesNotContain((sbyte)-128, q);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void Q8_error_is_within_half_a_block_scale_for_random_matrices()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            (float[] w, int rows, int columns) = RandomMatrix(new Random(seed), maxMagnitude: 1e6f);
            int blocks = Int8Kernels.BlocksPerRow(columns);
            var q = new sbyte[w.Length];
            var scales = new Half[rows * blocks];
            var back = new float[w.Length];
            Int8Kernels.QuantizeBlocks(w, rows, columns, q, scales);
            Int8Kernels.DequantizeBlocks(q, scales, rows, columns, back);
            for (int r = 0; r < rows; r++)
            {
                for (int b = 0; b < blocks; b++)
                {
                    int start = (r * columns) + (b * 32);
                    int length = Math.Min(32, columns - (b * 32));
                    AssertWithinHalfScale(w.AsSpan(start, length), back.AsSpan(start, length), (float)scales[(r * blocks) + b]);
                }
            }

            Assert.DoesNotContain((sbyte)-128, q);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }

    [Fact]
    public void The_same_input_gives_the_same_bits_every_time()
    {
        (float[] w, int rows, int columns) = RandomMatrix(new Random(1234));
        var q1 = new sbyte[w.Length];
        var q2 = new sbyte[w.Length];
        var s1 = new Half[rows * Int8Kernels.BlocksPerRow(columns)];
        var s2 = new Half[s1.Length];
        Int8Kernels.QuantizeBlocks(w, rows, columns, q1, s1);
        Int8Kernels.QuantizeBlocks(w, rows, columns, q2, s2);
        Assert.Equal(q1, q2);
        Assert.Equal(s1, s2);
    }

    /// <summary>|x − deq| ≤ scale / 2, allowing the last-place rounding of the dequantizing multiply.</summary>
    internal static void AssertWithinHalfScale(ReadOnlySpan<float> original, ReadOnlySpan<float> restored, float scale)
    {
        for (int i = 0; i < original.Length; i++)
        {
            double error = Math.Abs((double)original[i] - restored[i]);
            double bound = (scale / 2.0 * (1 + 1e-6)) + (Math.Abs((double)original[i]) * 1.2e-7);
            Assert.True(error <= bound, $"element {i}: |{original[i]} - {restored[i]}| = {error} > {bound} (scale {scale})");
        }
    }

    internal static (float[] Values, int Rows, int Columns) RandomMatrix(Random rng, float maxMagnitude = 1e30f)
    {
        int rows = rng.Next(1, 12);
        int columns = rng.Next(1, 100);
        float magnitude = MathF.Min(maxMagnitude, (float)Math.Pow(10, rng.Next(-20, 31)));
        var w = new float[rows * columns];
        for (int i = 0; i < w.Length; i++)
        {
            w[i] = rng.Next(10) switch
            {
                0 => 0f,
                1 => magnitude * (rng.Next(2) == 0 ? 1 : -1),                     // the row's maximum, exactly
                2 => magnitude * 100 * (float)(rng.NextDouble() - 0.5) / 100,      // ordinary
                3 => (rng.Next(-127, 128) + 0.5f) * magnitude / 127,              // exactly between two levels
                _ => magnitude * (float)((rng.NextDouble() * 2) - 1),
            };
        }

        return (w, rows, columns);
    }
}
