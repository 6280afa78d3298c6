using Kumo.Protocol;
using Kumo.Tensor.Compute;
using Kumo.Verification.Hardware;

namespace Kumo.Verification.Tests.Hardware;

/// <summary>The hardware proof between an honest or cheating prover and the hub's session, on a clock the test drives.</summary>
public class HardwareProofTests
{
    private static readonly DeviceClaim Cpu2 = new(DeviceClaim.CpuDeviceId, false, "Test CPU", 8L << 30, 2, false);
    private static readonly DeviceClaim SimulatedH100 = new("GPU-sim-0", true, "NVIDIA H100 80GB HBM3", 80L << 30, 0, true);
    private static readonly DeviceClaim H100 = new("GPU-real-0", true, "NVIDIA H100 80GB HBM3", 80L << 30, 0, false);

    /// <summary>A policy that sizes challenges small, so tests run the real arithmetic in milliseconds.</summary>
    private static HardwareProofPolicy Small(int maxN) => HardwareProofPolicy.Default with { MaxN = maxN, SimulatedMaxN = maxN };

    private static (HardwareProofSession Session, HardwareProver Prover) Start(DeviceClaim claim, HardwareProofPolicy policy, ulong seed = 42,
        ComputeOptions? options = null)
    {
        var session = new HardwareProofSession("hwc-1", claim, seed, issuedAtMs: 1_000, policy);
        HardwareProver prover = HardwareProver.Compute("hwc-1", session.Challenge, options);
        return (session, prover);
    }

    private static HardwareReveal CommitInTime(HardwareProofSession session, HardwareProver prover, long elapsedMs = 5) =>
        session.Commit(prover.Commitment, 1_000 + elapsedMs, 0xC0FFEE, session.DrawRows(new Random(7).Next))
        ?? throw new Xunit.Sdk.XunitException($"commitment refused: {session.Outcome}");

    [Theory]
    [InlineData(64, 1, SimdWidth.Scalar)]
    [InlineData(128, 2, SimdWidth.Auto)]
    [InlineData(192, 1, SimdWidth.W256)]
    [InlineData(256, 2, SimdWidth.Auto)]
    public void An_honest_device_passes_with_every_kernel_of_the_engine(int n, int threads, SimdWidth width)
    {
        var (session, prover) = Start(Cpu2, Small(n), options: new ComputeOptions { Threads = threads, Width = width });
        Assert.Equal(n, session.N);

        ProofOutcome outcome = session.Verify(prover.Open(CommitInTime(session, prover)));

        Assert.True(outcome.Passed, outcome.Reason);
        Assert.Equal(ProofPhase.Passed, session.Phase);
        Assert.True(outcome.Tier > 0);
    }

    [Fact]
    public void The_product_is_exact_so_every_summation_order_commits_to_the_same_root()
    {
        var (session, prover) = Start(Cpu2, Small(128));
        ulong seed = ulong.Parse(session.Challenge.Seed, System.Globalization.NumberStyles.HexNumber);
        float[] a = ChallengeMatrices.Matrix(seed, 128, b: false);
        float[] b = ChallengeMatrices.Matrix(seed, 128, b: true);
        float[] c = new float[128 * 128];
        for (int i = 0; i < 128; i++)
        {
            for (int j = 0; j < 128; j++)
            {
                float sum = 0;
                for (int k = 127; k >= 0; k--) // descending k: another order than the engine's chain
                {
                    sum += a[(i * 128) + k] * b[(k * 128) + j];
                }

                c[(i * 128) + j] = sum;
            }
        }

        Assert.Equal(prover.Root, HardwareProver.CommitRows(c, 128).Root);
    }

    [Fact]
    public void One_wrong_element_fails()
    {
        var (session, prover) = Start(Cpu2, Small(128));
        HardwareReveal reveal = CommitInTime(session, prover);
        HardwareOpening honest = prover.Open(reveal);
        int unopened = Enumerable.Range(0, 128).First(i => !reveal.Rows.Contains(i));

        // The cheater reports C·r as if one entry of an unopened row were off by one.
        double[] cr = WireEncoding.ReadDoubles(Convert.FromBase64String(honest.Products[0]));
        cr[unopened] += ChallengeMatrices.Vector(0xC0FFEE, 0, 128)[5] is var r && r != 0 ? r : 1;
        HardwareOpening forged = honest with { Products = [WireEncoding.Doubles(cr), .. honest.Products.Skip(1)] };

        ProofOutcome outcome = session.Verify(forged);
        Assert.False(outcome.Passed);
        Assert.Equal(ProofCodes.Freivalds, outcome.Code);
    }

    [Fact]
    public void A_wrong_element_in_an_opened_row_fails_even_with_a_consistent_proof()
    {
        var (session, _) = Start(Cpu2, Small(128));
        ulong seed = ulong.Parse(session.Challenge.Seed, System.Globalization.NumberStyles.HexNumber);
        float[] c = new float[128 * 128];
        Gemm.Multiply(ChallengeMatrices.Matrix(seed, 128, false), ChallengeMatrices.Matrix(seed, 128, true), c, 128, 128, 128);
        var rows = session.DrawRows(new Random(7).Next);
        c[(rows[0] * 128) + 3] += 1; // committed wrong, so the Merkle proof is fine
        var tree = HardwareProver.CommitRows(c, 128);
        var commitment = new HardwareCommitment("hwc-1", Cpu2.DeviceId, 128, Convert.ToHexStringLower(tree.Root));
        HardwareReveal reveal = session.Commit(commitment, 1_005, 0xC0FFEE, rows)!;

        HardwareOpening opening = OpenFrom(c, 128, tree, reveal);
        ProofOutcome outcome = session.Verify(opening);
        Assert.False(outcome.Passed);
        Assert.Equal(ProofCodes.RowMismatch, outcome.Code);
    }

    [Fact]
    public void A_proof_for_the_wrong_leaf_fails()
    {
        var (session, prover) = Start(Cpu2, Small(128));
        HardwareOpening honest = prover.Open(CommitInTime(session, prover));
        OpenedRow first = honest.Rows[0], second = honest.Rows[1];
        // Row data of one index presented with the index and path of another.
        HardwareOpening forged = honest with { Rows = [first with { Data = second.Data }, .. honest.Rows.Skip(1)] };

        ProofOutcome outcome = session.Verify(forged);
        Assert.Equal(ProofCodes.BadProof, outcome.Code);
    }

    [Fact]
    public void A_root_that_changed_between_commitment_and_opening_fails()
    {
        var (session, prover) = Start(Cpu2, Small(128));
        HardwareReveal reveal = CommitInTime(session, prover);
        var (_, other) = Start(Cpu2, Small(128), seed: 43); // a different C, consistently proven against its own root
        HardwareOpening swapped = other.Open(reveal with { ChallengeId = "hwc-1" }) with { DeviceId = Cpu2.DeviceId };

        ProofOutcome outcome = session.Verify(swapped);
        Assert.Equal(ProofCodes.RootChanged, outcome.Code);
    }

    [Fact]
    public void A_commitment_after_the_deadline_fails()
    {
        var (session, prover) = Start(Cpu2, Small(128));
        long late = (long)session.Deadline.TotalMilliseconds + 1;

        Assert.Null(session.Commit(prover.Commitment, 1_000 + late, 1, [0]));
        Assert.Equal(ProofCodes.Deadline, session.Outcome!.Code);
    }

    [Fact]
    public void A_device_that_never_answers_fails_once_the_deadline_passes()
    {
        var session = new HardwareProofSession("hwc-1", Cpu2, 42, 1_000, Small(128));
        Assert.Null(session.Expire(1_000 + (long)session.Deadline.TotalMilliseconds));
        Assert.Equal(ProofCodes.Deadline, session.Expire(1_001 + (long)session.Deadline.TotalMilliseconds)!.Code);
        Assert.Equal(ProofPhase.Failed, session.Phase);
    }

    [Fact]
    public void A_device_that_commits_but_never_opens_fails_after_the_open_timeout()
    {
        var (session, prover) = Start(Cpu2, Small(64));
        CommitInTime(session, prover);
        Assert.Equal(ProofCodes.NoOpening, session.Expire(1_005 + (long)HardwareProofPolicy.Default.OpenTimeout.TotalMilliseconds + 1)!.Code);
    }

    [Fact]
    public void Stale_and_repeated_answers_are_refused_without_judging_the_device()
    {
        var (session, prover) = Start(Cpu2, Small(64));
        var stale = prover.Commitment with { ChallengeId = "hwc-0" };
        Assert.Equal("unknown_challenge", Assert.Throws<ProofRefusedException>(() => session.Commit(stale, 1_001, 1, [0])).Code);
        Assert.Equal(ProofPhase.AwaitingCommitment, session.Phase);

        HardwareReveal reveal = CommitInTime(session, prover);
        Assert.Equal("already_committed", Assert.Throws<ProofRefusedException>(() => session.Commit(prover.Commitment, 1_006, 1, [0])).Code);
        Assert.True(session.Verify(prover.Open(reveal)).Passed);
        Assert.Equal("not_awaiting_opening", Assert.Throws<ProofRefusedException>(() => session.Verify(prover.Open(reveal))).Code);
    }

    [Fact]
    public void A_cpu_claiming_an_h100_misses_the_deadline()
    {
        // A real H100 claim is sized n = 32192: 6.7e13 FLOP. A CPU at 10 TFLOP/s (a large server) needs 6.7 s for the GEMM alone.
        var session = new HardwareProofSession("hwc-1", H100, 42, 0);
        Assert.Equal(32192, session.N); // cbrt(66.9e12 × 1 s / 2), in 64s
        double cpuSeconds = HardwareProofPolicy.Work(session.N) / 10e12;
        var commitment = new HardwareCommitment("hwc-1", H100.DeviceId, session.N, new string('0', 64));

        Assert.Null(session.Commit(commitment, (long)(cpuSeconds * 1000), 1, [0]));
        Assert.Equal(ProofCodes.Deadline, session.Outcome!.Code);
    }

    [Fact]
    public void One_gpu_claiming_eight_misses_the_deadline_on_all_but_the_first()
    {
        // All eight are challenged at once; one real H100 (at its full rate, hashing included) finishes them one after another.
        var claims = Enumerable.Range(0, 8).Select(i => H100 with { DeviceId = $"GPU-{i}" }).ToList();
        var sessions = claims.Select(c => new HardwareProofSession("hwc-1", c, (ulong)c.GetHashCode(), 0)).ToList();
        double perDevice = (HardwareProofPolicy.Work(sessions[0].N) / 66.9e12) + (4.0 * sessions[0].N * sessions[0].N / 4e9);

        int passed = 0;
        for (int d = 0; d < 8; d++)
        {
            var commitment = new HardwareCommitment("hwc-1", claims[d].DeviceId, sessions[d].N, new string('0', 64));
            if (sessions[d].Commit(commitment, (long)((d + 1) * perDevice * 1000), 1, [0]) is not null)
            {
                passed++;
            }
        }

        Assert.InRange(passed, 1, 3); // the slack lets a device be slower than peak, never eight times slower
        Assert.Equal(ProofCodes.Deadline, sessions[7].Outcome!.Code);
    }

    [Fact]
    public void An_honest_h100_at_two_thirds_of_peak_is_in_time_and_gets_a_tier_from_what_it_measured()
    {
        var session = new HardwareProofSession("hwc-1", H100, 42, 0);
        double seconds = (HardwareProofPolicy.Work(session.N) / (66.9e12 * 2 / 3)) + (4.0 * session.N * session.N / 4e9) + 0.1;
        Assert.True(seconds * 1000 < session.Deadline.TotalMilliseconds);
    }

    [Fact]
    public void Sizing_follows_the_claim_and_simulated_devices_stay_small()
    {
        var policy = HardwareProofPolicy.Default;
        Assert.Equal(256, policy.SizeFor(SimulatedH100));
        Assert.Equal(32192, policy.SizeFor(H100));
        Assert.Equal(1664, policy.SizeFor(Cpu2)); // 2 cores × 5 GFLOP/s for 1 s: n = cbrt(10e9 / 2) ≈ 1710, rounded down to 64s
        var rtx = new DeviceClaim("GPU-4090", true, "NVIDIA GeForce RTX 4090", 24L << 30, 0, false);
        Assert.True(policy.SizeFor(rtx) < 32768); // 12n² bytes must fit in a quarter of 24 GiB
        Assert.Equal(0, policy.SizeFor(rtx) % 64);
    }

    [Theory]
    [InlineData("NVIDIA H100 80GB HBM3", 66.9)]
    [InlineData("NVIDIA H100 PCIe", 51.2)]
    [InlineData("NVIDIA A100-SXM4-40GB", 19.5)]
    [InlineData("NVIDIA L40S", 91.6)]
    [InlineData("NVIDIA L4", 30.3)]
    [InlineData("NVIDIA GeForce RTX 4090", 82.6)]
    [InlineData("NVIDIA A10G", 31.2)]
    public void The_throughput_table_matches_model_names(string model, double tflops) =>
        Assert.Equal(tflops, ThroughputTable.GpuTflops(model));

    [Fact]
    public void Tiers_are_tflops_times_a_hundred() =>
        Assert.Equal(6690, PerformanceTiers.FromFlops(66.9e12));

    private static HardwareOpening OpenFrom(float[] c, int n, Kumo.Merkle.MerkleTree tree, HardwareReveal reveal)
    {
        ulong vectorSeed = ulong.Parse(reveal.VectorSeed, System.Globalization.NumberStyles.HexNumber);
        var products = Enumerable.Range(0, reveal.Rounds).Select(t =>
        {
            double[] r = ChallengeMatrices.Vector(vectorSeed, t, n);
            return WireEncoding.Doubles([.. Enumerable.Range(0, n).Select(i => HardwareProver.Dot(c.AsSpan(i * n, n), r))]);
        }).ToList();
        var rows = reveal.Rows.Select(i => new OpenedRow(i, Convert.ToBase64String(WireEncoding.RowBytes(c.AsSpan(i * n, n))),
            [.. tree.GetProof(i).Path.Select(Convert.ToHexStringLower)])).ToList();
        return new HardwareOpening(reveal.ChallengeId, reveal.DeviceId, Convert.ToHexStringLower(tree.Root), products, rows);
    }
}
