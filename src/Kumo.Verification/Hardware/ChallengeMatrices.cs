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

    private static void FillRow(Philox philox, Span<float> row)
    {
        for (int j = 0; j < row.Length; j += 8)
        {
            uint word = philox.NextUInt32();
            int count = Math.Min(8, row.Length - j);
            for (int t = 0; t < count; t++)
            {
                row[j + t] = (int)((word >> (4 * t)) & 0xF) - 8;
            }
        }
    }
}
