using System.Numerics;
using Kumo.Merkle;
using Kumo.Protocol;
using Kumo.Tensor.Compute;

namespace Kumo.Verification.Hardware;

/// <summary>C = A·B for n × n row-major fp32 matrices, on some device (the tensor engine's GEMM, or a GPU's).</summary>
public delegate void SquareMultiply(float[] a, float[] b, float[] c, int n);

/// <summary>
/// The provider's side of one device's challenge: computes C = A·B (the tensor engine's GEMM unless the caller passes a
/// device's own multiply), commits to its rows
/// (Merkle root over each row's little-endian bytes), and keeps C until the hub reveals what to open.
/// </summary>
public sealed class HardwareProver
{
    private readonly float[] _c;
    private readonly MerkleTree _tree;

    private HardwareProver(string challengeId, string deviceId, int n, float[] c, MerkleTree tree)
    {
        ChallengeId = challengeId;
        DeviceId = deviceId;
        N = n;
        _c = c;
        _tree = tree;
    }

    public string ChallengeId { get; }

    public string DeviceId { get; }

    public int N { get; }

    public byte[] Root => _tree.Root;

    /// <summary>The commitment to sign and send.</summary>
    public HardwareCommitment Commitment => new(ChallengeId, DeviceId, N, Convert.ToHexStringLower(Root));

    /// <summary>Does the work of <paramref name="challenge"/> on the CPU engine. Throws <see cref="ArgumentException"/> for a malformed challenge.</summary>
    public static HardwareProver Compute(string challengeId, DeviceChallenge challenge, ComputeOptions? options = null) =>
        Compute(challengeId, challenge, (a, b, c, n) => Gemm.Multiply(a, b, c, n, n, n, options));

    /// <summary>Does the work of <paramref name="challenge"/> with <paramref name="multiply"/>. Throws <see cref="ArgumentException"/> for a malformed challenge.</summary>
    public static HardwareProver Compute(string challengeId, DeviceChallenge challenge, SquareMultiply multiply)
    {
        if (!WireEncoding.TryParseSeed(challenge.Seed, out ulong seed))
        {
            throw new ArgumentException("the challenge seed is not 16 hex digits", nameof(challenge));
        }

        int n = challenge.N;
        if (n is < 1 or > 65536)
        {
            throw new ArgumentException($"challenge size {n} is out of range", nameof(challenge));
        }

        float[] a = ChallengeMatrices.Matrix(seed, n, b: false);
        float[] b = ChallengeMatrices.Matrix(seed, n, b: true);
        float[] c = new float[(long)n * n];
        multiply(a, b, c, n);
        return new HardwareProver(challengeId, challenge.DeviceId, n, c, CommitRows(c, n));
    }

    /// <summary>The Merkle tree over the rows of an n × n row-major matrix.</summary>
    public static MerkleTree CommitRows(float[] c, int n)
    {
        byte[][] leaves = new byte[n][];
        Parallel.For(0, n, i => leaves[i] = MerkleTree.HashLeaf(WireEncoding.RowBytes(c.AsSpan(i * n, n))));
        return new MerkleTree(leaves);
    }

    /// <summary>C·r for each revealed vector and the revealed rows with their proofs.</summary>
    public HardwareOpening Open(HardwareReveal reveal)
    {
        if (!WireEncoding.TryParseSeed(reveal.VectorSeed, out ulong vectorSeed))
        {
            throw new ArgumentException("the reveal's vector seed is not 16 hex digits", nameof(reveal));
        }

        if (reveal.Rounds is < 1 or > 64 || reveal.Rows.Any(i => i < 0 || i >= N))
        {
            throw new ArgumentException("the reveal asks for rounds or rows out of range", nameof(reveal));
        }

        var products = new List<string>(reveal.Rounds);
        for (int t = 0; t < reveal.Rounds; t++)
        {
            double[] r = ChallengeMatrices.Vector(vectorSeed, t, N);
            double[] cr = new double[N];
            Parallel.For(0, N, i => cr[i] = Dot(_c.AsSpan(i * N, N), r));
            products.Add(WireEncoding.Doubles(cr));
        }

        var rows = reveal.Rows.Select(i => new OpenedRow(
            i,
            Convert.ToBase64String(WireEncoding.RowBytes(_c.AsSpan(i * N, N))),
            [.. _tree.GetProof(i).Path.Select(Convert.ToHexStringLower)])).ToList();
        return new HardwareOpening(ChallengeId, DeviceId, Convert.ToHexStringLower(Root), products, rows);
    }

    /// <summary>
    /// Σ row[j]·r[j] in double. Exact in any order: every term and every partial sum is an integer below 2^53 (entries of
    /// C are below 2^21 and those of r below 2^16; for the hub's Br, entries of A are at most 8 and Br's below 2^34).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static double Dot(ReadOnlySpan<float> row, ReadOnlySpan<double> r)
    {
        int j = 0;
        double sum = 0;
        int width = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated && row.Length >= width)
        {
            Vector<double> acc = Vector<double>.Zero;
            int half = Vector<double>.Count;
            for (; j <= row.Length - width; j += width)
            {
                Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
                acc += (low * new Vector<double>(r[j..])) + (high * new Vector<double>(r[(j + half)..]));
            }

            sum = Vector.Sum(acc);
        }

        for (; j < row.Length; j++)
        {
            sum += row[j] * r[j];
        }

        return sum;
    }

    /// <summary><see cref="Dot"/> of one row with several vectors in one pass over the row.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    internal static void Dots(ReadOnlySpan<float> row, double[][] vectors, Span<double> results)
    {
        int count = vectors.Length;
        int j = 0;
        int width = Vector<float>.Count;
        results.Clear();
        if (Vector.IsHardwareAccelerated && row.Length >= width && count <= 8)
        {
            Span<Vector<double>> acc = stackalloc Vector<double>[count];
            int half = Vector<double>.Count;
            for (; j <= row.Length - width; j += width)
            {
                Vector.Widen(new Vector<float>(row[j..]), out Vector<double> low, out Vector<double> high);
                for (int t = 0; t < count; t++)
                {
                    double[] v = vectors[t];
                    acc[t] += (low * new Vector<double>(v.AsSpan(j))) + (high * new Vector<double>(v.AsSpan(j + half)));
                }
            }

            for (int t = 0; t < count; t++)
            {
                results[t] = Vector.Sum(acc[t]);
            }
        }

        for (; j < row.Length; j++)
        {
            for (int t = 0; t < count; t++)
            {
                results[t] += row[j] * vectors[t][j];
            }
        }
    }
}
