using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Tests.Compute;

public class GemmTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.W128, SimdWidth.W256, SimdWidth.W512, SimdWidth.Auto];

    // (m, k, n): degenerate, odd, not multiples of any tile, k across k-blocks (256), m across row blocks (96), and a few
    // big enough (≥ 4 Mflop) that several threads really split the rows — or, with m tiny, the columns.
    public static TheoryData<int, int, int> Shapes => new()
    {
        { 1, 1, 1 }, { 1, 0, 1 }, { 3, 0, 5 }, { 0, 4, 3 }, { 4, 3, 0 }, { 2, 3, 2 }, { 7, 13, 5 }, { 6, 16, 16 }, { 12, 8, 32 },
        { 13, 300, 37 }, { 97, 257, 33 }, { 5, 513, 70 }, { 1, 64, 200 }, { 200, 64, 1 }, { 130, 260, 70 }, { 3, 700, 1100 },
    };

    [Fact]
    public void A_small_product_is_exact()
    {
        float[] a = [1, 2, 3, 4, 5, 6];    // 2 × 3
        float[] b = [7, 8, 9, 10, 11, 12]; // 3 × 2
        float[] c = new float[4];

        Gemm.Multiply(a, b, c, 2, 3, 2);

        Assert.Equal([58f, 64f, 139f, 154f], c);
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Every_width_and_thread_count_equals_the_reference_bit_for_bit(int m, int k, int n)
    {
        foreach (bool accumulate in new[] { false, true })
        {
            foreach ((bool transA, bool transB) in new[] { (false, false), (true, false), (false, true) })
            {
                var random = new Random(HashCode.Combine(m, k, n, accumulate, transA, transB) & 0x7fffffff);
                float[] a = Data(random, m * k), b = Data(random, k * n), c0 = Data(random, m * n);
                float[] expected = (float[])c0.Clone();
                Gemm.Reference(a, b, expected, m, k, n, accumulate, transA, transB);
                string want = Hash(expected);
                foreach (SimdWidth width in Widths)
                {
                    foreach (int threads in new[] { 1, 2, 3 })
                    {
                        float[] c = (float[])c0.Clone();
                        var options = new ComputeOptions { Threads = threads, Width = width };
                        Multiply(transA, transB, a, b, c, m, k, n, options, accumulate);
                        Assert.True(want == Hash(c), $"{m}×{k}×{n} transA={transA} transB={transB} accumulate={accumulate} width={width} threads={threads}: differs from the reference");
                    }
                }
            }
        }
    }

    [Fact]
    public void The_transposed_variants_equal_multiplying_explicit_transposes()
    {
        const int m = 19, k = 300, n = 23;
        var random = new Random(7);
        float[] a = Data(random, m * k), b = Data(random, k * n);
        float[] at = Transpose(a, m, k), bt = Transpose(b, k, n);
        float[] plain = new float[m * n], viaA = new float[m * n], viaB = new float[m * n];

        Gemm.Multiply(a, b, plain, m, k, n);
        Gemm.MultiplyTransposedA(at, b, viaA, m, k, n);
        Gemm.MultiplyTransposedB(a, bt, viaB, m, k, n);

        Assert.Equal(Hash(plain), Hash(viaA));
        Assert.Equal(Hash(plain), Hash(viaB));
    }

    [Fact]
    public void Special_values_follow_the_chain()
    {
        // NaN, infinities, −0 and subnormals go through the same fma chain; −0·x + 0 is +0 as in the reference.
        float[] a = [float.NaN, 1, -0f, 1e-40f, float.PositiveInfinity, -1, 0, 2, 1e-38f, -0f, 3, 1];
        float[] b = [1, -0f, 1e-40f, float.MaxValue, 2, 0.5f, 1, 1, 1e-3f, -1, 1, -0f];
        foreach (SimdWidth width in Widths)
        {
            float[] want = new float[9], got = new float[9];
            Gemm.Reference(a, b, want, 3, 4, 3, accumulate: false);
            Gemm.Multiply(a, b, got, 3, 4, 3, new ComputeOptions { Width = width, Threads = 1 });
            Assert.Equal(Hash(want), Hash(got));
        }
    }

    [Fact]
    public void Buffers_that_are_too_small_are_refused()
    {
        Assert.Throws<ArgumentException>(() => Gemm.Multiply(new float[5], new float[6], new float[4], 2, 3, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Gemm.MultiplyTransposedB(new float[5], new float[6], new float[4], -2, 3, 2));
    }

    private static void Multiply(bool transA, bool transB, float[] a, float[] b, float[] c, int m, int k, int n, ComputeOptions options, bool accumulate)
    {
        if (transA)
        {
            Gemm.MultiplyTransposedA(a, b, c, m, k, n, options, accumulate);
        }
        else if (transB)
        {
            Gemm.MultiplyTransposedB(a, b, c, m, k, n, options, accumulate);
        }
        else
        {
            Gemm.Multiply(a, b, c, m, k, n, options, accumulate);
        }
    }

    /// <summary>Values of mixed signs and magnitudes, so any change in the order of roundings shows in the bits.</summary>
    internal static float[] Data(Random random, int count)
    {
        float[] data = new float[count];
        for (int i = 0; i < count; i++)
        {
            data[i] = (float)((random.NextDouble() - 0.5) * Math.Pow(2, random.Next(-8, 8)));
        }

        return data;
    }

    internal static string Hash(float[] values) => Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));

    private static float[] Transpose(float[] x, int rows, int cols)
    {
        float[] t = new float[x.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int col = 0; col < cols; col++)
            {
                t[(col * rows) + r] = x[(r * cols) + col];
            }
        }

        return t;
    }
}
