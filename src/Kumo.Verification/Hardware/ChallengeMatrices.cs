using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Hardware;

/// <summary>
/// The matrices of a challenge, derived from its seed so the hub never sends them: row i of A is Philox(seed, i,
/// stream 0), row i of B is Philox(seed, i, stream 1), each 32-bit word giving eight entries (its nibbles, low first,
/// minus 8: integers in [-8, 7]). Small integers make fp32 GEMM exact: every product is at most 64 and every partial
/// sum at most 64n ≤ 2^21 &lt; 2^24, so any honest kernel, in any summation order, gives the same C bit for bit and the
/// hub can demand exact equality. Rows are independent, so the hub streams them in O(n) memory.
/// <para>The Freivalds vectors: vector t is Philox(vectorSeed, t, stream 2), entries the top 16 bits of each word.</para>
/// </summary>
public static class ChallengeMatrices
{
    private const uint StreamA = 0, StreamB = 1, StreamR = 2;

    public static void RowOfA(ulong seed, int row, Span<float> destination) => FillRow(new Philox(seed, (ulong)row, StreamA), destination);

    public static void RowOfB(ulong seed, int row, Span<float> destination) => FillRow(new Philox(seed, (ulong)row, StreamB), destination);

    /// <summary>All of A (or B), n × n row-major, for the prover.</summary>
    public static float[] Matrix(ulong seed, int n, bool b)
    {
        float[] m = new float[(long)n * n];
        Parallel.For(0, n, i =>
        {
            Span<float> row = m.AsSpan(i * n, n);
            if (b)
            {
                RowOfB(seed, i, row);
            }
            else
            {
                RowOfA(seed, i, row);
            }
        });
        return m;
    }

    /// <summary>Freivalds vector <paramref name="round"/>: n integers in [0, 2^16), as doubles (all sums stay exact below 2^53).</summary>
    public static double[] Vector(ulong vectorSeed, int round, int n)
    {
        var philox = new Philox(vectorSeed, (ulong)round, StreamR);
        double[] r = new double[n];
        for (int j = 0; j < n; j++)
        {
            r[j] = philox.NextUInt32() >> 16;
        }

        return r;
    }

    /// <summary>Byte b → the two entries it makes ((b &amp; 15) − 8, then (b &gt;&gt; 4) − 8) as the bits of two floats, low first.</summary>
    private static readonly ulong[] PairOfEntries = [.. Enumerable.Range(0, 256).Select(b =>
        (uint)BitConverter.SingleToInt32Bits((b & 0xF) - 8) | ((ulong)(uint)BitConverter.SingleToInt32Bits((b >> 4) - 8) << 32))];

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void FillRow(Philox philox, Span<float> row)
    {
        int words = (row.Length + 7) / 8;
        uint[]? rented = words > 1024 ? System.Buffers.ArrayPool<uint>.Shared.Rent(words) : null;
        Span<uint> bits = rented is null ? stackalloc uint[words] : rented.AsSpan(0, words);
        philox.FillUInt32(bits);
        int whole = row.Length / 8;
        Span<ulong> pairs = System.Runtime.InteropServices.MemoryMarshal.Cast<float, ulong>(row[..(whole * 8)]);
        ulong[] table = PairOfEntries;
        for (int w = 0; w < whole; w++)
        {
            uint word = bits[w];
            pairs[4 * w] = table[word & 0xFF];
            pairs[(4 * w) + 1] = table[(word >> 8) & 0xFF];
            pairs[(4 * w) + 2] = table[(word >> 16) & 0xFF];
            pairs[(4 * w) + 3] = table[word >> 24];
        }

        for (int j = whole * 8, t = 0; j < row.Length; j++, t++)
        {
            row[j] = (int)((bits[whole] >> (4 * t)) & 0xF) - 8;
        }

        if (rented is not null)
        {
            System.Buffers.ArrayPool<uint>.Shared.Return(rented);
        }
    }
}
