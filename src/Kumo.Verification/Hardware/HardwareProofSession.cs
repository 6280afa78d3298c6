using System.Security.Cryptography;
using Kumo.Merkle;
using Kumo.Protocol;

namespace Kumo.Verification.Hardware;

/// <summary>Where a device's proof stands.</summary>
public enum ProofPhase
{
    AwaitingCommitment,
    AwaitingOpening,
    Passed,
    Failed,
}

/// <summary>
/// A message that does not belong to this proof (a stale or repeated answer): refused without judging the device,
/// because it says nothing about the device's hardware.
/// </summary>
public sealed class ProofRefusedException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}

/// <summary>
/// The hub's side of one device's challenge, pure and clocked by the caller:
/// issue → commitment within the deadline (the hub then reveals the random vectors and rows, chosen only now) →
/// opening, checked exactly (Freivalds A(Br) = Cr, opened rows recomputed, Cr consistent with them, every row proven
/// against the committed root). Time is milliseconds on the hub's clock.
/// </summary>
public sealed class HardwareProofSession
{
    private readonly HardwareProofPolicy _policy;
    private readonly ulong _seed;
    private byte[]? _root;
    private ulong _vectorSeed;

    public HardwareProofSession(string challengeId, DeviceClaim claim, ulong seed, long issuedAtMs, HardwareProofPolicy? policy = null)
    {
        _policy = policy ?? HardwareProofPolicy.Default;
        ChallengeId = challengeId;
        Claim = claim;
        _seed = seed;
        IssuedAtMs = issuedAtMs;
        N = _policy.SizeFor(claim);
        Deadline = _policy.DeadlineFor(claim, N);
    }

    public string ChallengeId { get; }

    public DeviceClaim Claim { get; }

    public int N { get; }

    public long IssuedAtMs { get; }

    public TimeSpan Deadline { get; }

    public ProofPhase Phase { get; private set; } = ProofPhase.AwaitingCommitment;

    public long? CommittedAtMs { get; private set; }

    public HardwareReveal? Reveal { get; private set; }

    public ProofOutcome? Outcome { get; private set; }

    /// <summary>What the provider is sent for this device.</summary>
    public DeviceChallenge Challenge => new(Claim.DeviceId, WireEncoding.Seed(_seed), N, (long)Deadline.TotalMilliseconds);

    /// <summary>
    /// Takes the commitment received at <paramref name="atMs"/>. In time: returns the reveal (vectors from
    /// <paramref name="vectorSeed"/>, rows <paramref name="rows"/>, both drawn by the caller after this commitment
    /// arrived). Late or wrong-sized: fails the proof and returns null. Not for this proof: throws <see cref="ProofRefusedException"/>.
    /// </summary>
    public HardwareReveal? Commit(HardwareCommitment commitment, long atMs, ulong vectorSeed, IReadOnlyList<int> rows)
    {
        if (commitment.ChallengeId != ChallengeId || commitment.DeviceId != Claim.DeviceId)
        {
            throw new ProofRefusedException("unknown_challenge", $"commitment for {commitment.ChallengeId}/{commitment.DeviceId}, not this challenge");
        }

        if (Phase != ProofPhase.AwaitingCommitment)
        {
            throw new ProofRefusedException("already_committed", $"device {Claim.DeviceId} already committed to challenge {ChallengeId}");
        }

        long elapsed = atMs - IssuedAtMs;
        CommittedAtMs = atMs;
        if (elapsed > (long)Deadline.TotalMilliseconds)
        {
            return Reject(ProofOutcome.Fail(Claim, N, ProofCodes.Deadline,
                $"committed after {elapsed} ms; a {Claim.Model} must answer n = {N} within {(long)Deadline.TotalMilliseconds} ms", elapsed));
        }

        if (commitment.N != N)
        {
            return Reject(ProofOutcome.Fail(Claim, N, ProofCodes.WrongSize, $"committed to n = {commitment.N}, challenged with n = {N}", elapsed));
        }

        if (!TryHex(commitment.RowRoot, out byte[] root) || root.Length != MerkleTree.HashSize)
        {
            return Reject(ProofOutcome.Fail(Claim, N, ProofCodes.Malformed, "the row root is not a 32-byte hex hash", elapsed));
        }

        _root = root;
        _vectorSeed = vectorSeed;
        Phase = ProofPhase.AwaitingOpening;
        Reveal = new HardwareReveal(ChallengeId, Claim.DeviceId, WireEncoding.Seed(vectorSeed), _policy.Rounds, rows);
        return Reveal;
    }

    /// <summary>Random rows to open: <see cref="HardwareProofPolicy.OpenedRows"/> distinct indices (all of them for tiny n).</summary>
    public IReadOnlyList<int> DrawRows(Func<int, int> nextBelow)
    {
        int count = Math.Min(_policy.OpenedRows, N);
        var rows = new SortedSet<int>();
        while (rows.Count < count)
        {
            rows.Add(nextBelow(N));
        }

        return [.. rows];
    }

    /// <summary>Fails the proof if its current phase has run out of time at <paramref name="nowMs"/>; returns the outcome if it did.</summary>
    public ProofOutcome? Expire(long nowMs)
    {
        if (Phase == ProofPhase.AwaitingCommitment && nowMs - IssuedAtMs > (long)Deadline.TotalMilliseconds)
        {
            return Finish(ProofOutcome.Fail(Claim, N, ProofCodes.Deadline,
                $"no commitment within {(long)Deadline.TotalMilliseconds} ms (n = {N}, {Claim.Model})", nowMs - IssuedAtMs));
        }

        if (Phase == ProofPhase.AwaitingOpening && nowMs - CommittedAtMs!.Value > (long)_policy.OpenTimeout.TotalMilliseconds)
        {
            return Finish(ProofOutcome.Fail(Claim, N, ProofCodes.NoOpening,
                $"no opening within {_policy.OpenTimeout.TotalSeconds} s of the reveal", CommittedAtMs.Value - IssuedAtMs));
        }

        return null;
    }

    /// <summary>Checks the opening (O(n²) work: streams A and B once). Throws <see cref="ProofRefusedException"/> when it is not for this proof's open phase.</summary>
    public ProofOutcome Verify(HardwareOpening opening)
    {
        if (opening.ChallengeId != ChallengeId || opening.DeviceId != Claim.DeviceId)
        {
            throw new ProofRefusedException("unknown_challenge", $"opening for {opening.ChallengeId}/{opening.DeviceId}, not this challenge");
        }

        if (Phase != ProofPhase.AwaitingOpening)
        {
            throw new ProofRefusedException("not_awaiting_opening", $"device {Claim.DeviceId} of challenge {ChallengeId} is {Phase}, not awaiting an opening");
        }

        return Finish(Check(opening));
    }

    /// <summary>Records that the commitment was sent but the caller could not deliver the reveal, or any other external failure.</summary>
    public ProofOutcome Fail(string code, string reason) =>
        Finish(ProofOutcome.Fail(Claim, N, code, reason, CommittedAtMs is { } at ? at - IssuedAtMs : 0));

    private ProofOutcome Check(HardwareOpening opening)
    {
        long elapsed = CommittedAtMs!.Value - IssuedAtMs;
        ProofOutcome Failed(string code, string reason) => ProofOutcome.Fail(Claim, N, code, reason, elapsed);

        if (!TryHex(opening.RowRoot, out byte[] root) || !CryptographicOperations.FixedTimeEquals(root, _root))
        {
            return Failed(ProofCodes.RootChanged, "the opening names another row root than the one committed");
        }

        HardwareReveal reveal = Reveal!;
        if (opening.Rows.Count != reveal.Rows.Count || !opening.Rows.Select(r => r.Index).SequenceEqual(reveal.Rows))
        {
            return Failed(ProofCodes.WrongRows, $"opened rows [{string.Join(", ", opening.Rows.Select(r => r.Index))}], asked for [{string.Join(", ", reveal.Rows)}]");
        }

        if (opening.Products.Count != reveal.Rounds)
        {
            return Failed(ProofCodes.Malformed, $"{opening.Products.Count} products for {reveal.Rounds} vectors");
        }

        // Every opened row must be the committed leaf at its index.
        var rows = new float[opening.Rows.Count][];
        for (int s = 0; s < opening.Rows.Count; s++)
        {
            OpenedRow row = opening.Rows[s];
            if (!TryBase64(row.Data, out byte[] data) || data.Length != N * 4)
            {
                return Failed(ProofCodes.Malformed, $"row {row.Index} is not {N} base64 float32 values");
            }

            var path = new List<byte[]>(row.Path.Count);
            foreach (string hex in row.Path)
            {
                if (!TryHex(hex, out byte[] node))
                {
                    return Failed(ProofCodes.Malformed, $"row {row.Index}'s proof holds a non-hex hash");
                }

                path.Add(node);
            }

            if (!MerkleTree.Verify(MerkleTree.HashLeaf(data), new MerkleProof(row.Index, N, path), _root))
            {
                return Failed(ProofCodes.BadProof, $"row {row.Index} does not prove against the committed root (wrong leaf or wrong path)");
            }

            rows[s] = WireEncoding.ReadFloats(data);
        }

        var products = new double[reveal.Rounds][];
        for (int t = 0; t < reveal.Rounds; t++)
        {
            if (!TryBase64(opening.Products[t], out byte[] bytes) || bytes.Length != N * 8)
            {
                return Failed(ProofCodes.Malformed, $"product {t} is not {N} base64 float64 values");
            }

            products[t] = WireEncoding.ReadDoubles(bytes);
        }

        var vectors = new double[reveal.Rounds][];
        for (int t = 0; t < reveal.Rounds; t++)
        {
            vectors[t] = ChallengeMatrices.Vector(_vectorSeed, t, N);
        }

        // Cr must agree with the committed rows where the hub can see them: this binds the reported products to C.
        for (int s = 0; s < rows.Length; s++)
        {
            for (int t = 0; t < reveal.Rounds; t++)
            {
                double expected = HardwareProver.Dot(rows[s], vectors[t]);
                if (products[t][reveal.Rows[s]] != expected)
                {
                    return Failed(ProofCodes.ProductMismatch, $"(Cr)[{reveal.Rows[s]}] for vector {t} is {products[t][reveal.Rows[s]]}, the opened row gives {expected}");
                }
            }
        }

        // One pass over B: Br for every vector, and the opened rows of A·B. B's rows are split among the cores; each
        // part sums its own share of the opened rows, and the parts are added at the end (exact: all integers < 2^24).
        float[][] aRows = [.. reveal.Rows.Select(i =>
        {
            float[] a = new float[N];
            ChallengeMatrices.RowOfA(_seed, i, a);
            return a;
        })];
        var br = new double[reveal.Rounds][];
        for (int t = 0; t < reveal.Rounds; t++)
        {
            br[t] = new double[N];
        }

        int parts = Math.Clamp(Environment.ProcessorCount, 1, Math.Max(1, N / 64));
        var partial = new float[parts][][];
        Parallel.For(0, parts, part =>
        {
            float[][] sums = [.. aRows.Select(_ => new float[N])];
            float[] bRow = new float[N];
            Span<double> dots = stackalloc double[reveal.Rounds];
            for (int k = Slice(part, parts, N); k < Slice(part + 1, parts, N); k++)
            {
                ChallengeMatrices.RowOfB(_seed, k, bRow);
                HardwareProver.Dots(bRow, vectors, dots);
                for (int t = 0; t < reveal.Rounds; t++)
                {
                    br[t][k] = dots[t];
                }

                for (int s = 0; s < aRows.Length; s++)
                {
                    Axpy(aRows[s][k], bRow, sums[s]);
                }
            }

            partial[part] = sums;
        });

        for (int s = 0; s < rows.Length; s++)
        {
            float[] c = partial[0][s];
            for (int part = 1; part < parts; part++)
            {
                Axpy(1, partial[part][s], c);
            }

            for (int j = 0; j < N; j++)
            {
                if (rows[s][j] != c[j])
                {
                    return Failed(ProofCodes.RowMismatch, $"C[{reveal.Rows[s]}, {j}] is {rows[s][j]}, A·B gives {c[j]}");
                }
            }
        }

        // Freivalds: A(Br) = Cr, exactly, for every vector; A's rows split among the cores, the first wrong row reported.
        int firstWrong = int.MaxValue;
        Parallel.For(0, parts, part =>
        {
            float[] aRow = new float[N];
            Span<double> y = stackalloc double[reveal.Rounds];
            for (int i = Slice(part, parts, N); i < Slice(part + 1, parts, N) && i < Volatile.Read(ref firstWrong); i++)
            {
                ChallengeMatrices.RowOfA(_seed, i, aRow);
                HardwareProver.Dots(aRow, br, y);
                for (int t = 0; t < reveal.Rounds; t++)
                {
                    if (y[t] != products[t][i])
                    {
                        InterlockedMin(ref firstWrong, i);
                        return;
                    }
                }
            }
        });

        if (firstWrong != int.MaxValue)
        {
            float[] aRow = new float[N];
            ChallengeMatrices.RowOfA(_seed, firstWrong, aRow);
            for (int t = 0; t < reveal.Rounds; t++)
            {
                double y = HardwareProver.Dot(aRow, br[t]);
                if (y != products[t][firstWrong])
                {
                    return Failed(ProofCodes.Freivalds, $"(Cr)[{firstWrong}] for vector {t} is {products[t][firstWrong]}, A(Br) gives {y}: C is not A·B");
                }
            }
        }

        double seconds = Math.Max(elapsed, 1) / 1000.0;
        double measured = Math.Min(HardwareProofPolicy.Work(N) / seconds, ThroughputTable.ClaimedFlops(Claim));
        return new ProofOutcome(Claim.DeviceId, true, ProofCodes.Passed,
            $"n = {N} committed in {elapsed} ms (deadline {(long)Deadline.TotalMilliseconds} ms); C = A·B on {rows.Length} rows and {reveal.Rounds} vectors",
            N, elapsed, measured, PerformanceTiers.FromFlops(measured), Claim.Simulated);
    }

    /// <summary>The first index of part <paramref name="part"/> of <paramref name="parts"/> contiguous parts of [0, n).</summary>
    private static int Slice(int part, int parts, int n) => (int)((long)n * part / parts);

    private static void InterlockedMin(ref int target, int value)
    {
        int current = Volatile.Read(ref target);
        while (value < current)
        {
            int seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current)
            {
                return;
            }

            current = seen;
        }
    }

    /// <summary>y += a·x. Exact: every value is an integer below 2^24.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private static void Axpy(float a, ReadOnlySpan<float> x, Span<float> y)
    {
        if (a == 0)
        {
            return;
        }

        int j = 0;
        if (System.Numerics.Vector.IsHardwareAccelerated)
        {
            var va = new System.Numerics.Vector<float>(a);
            int width = System.Numerics.Vector<float>.Count;
            for (; j <= x.Length - width; j += width)
            {
                var vy = new System.Numerics.Vector<float>(y[j..]) + (va * new System.Numerics.Vector<float>(x[j..]));
                vy.CopyTo(y[j..]);
            }
        }

        for (; j < x.Length; j++)
        {
            y[j] += a * x[j];
        }
    }

    private HardwareReveal? Reject(ProofOutcome outcome)
    {
        Finish(outcome);
        return null;
    }

    private ProofOutcome Finish(ProofOutcome outcome)
    {
        Outcome = outcome;
        Phase = outcome.Passed ? ProofPhase.Passed : ProofPhase.Failed;
        return outcome;
    }

    private static bool TryHex(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null || text.Length % 2 != 0)
        {
            return false;
        }

        try
        {
            bytes = Convert.FromHexString(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    private static bool TryBase64(string? text, out byte[] bytes)
    {
        bytes = [];
        if (text is null)
        {
            return false;
        }

        bytes = new byte[text.Length * 3 / 4];
        if (Convert.TryFromBase64String(text, bytes, out int written))
        {
            bytes = bytes[..written];
            return true;
        }

        return false;
    }
}
