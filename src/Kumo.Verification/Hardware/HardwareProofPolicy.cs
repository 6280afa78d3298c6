namespace Kumo.Verification.Hardware;

/// <summary>
/// The numbers of the hardware proof: how large a challenge is, how long a device has, how much the hub checks.
/// See docs/VERIFICATION.md, "Hardware proof", for why each is what it is.
/// </summary>
public sealed record HardwareProofPolicy
{
    public static HardwareProofPolicy Default { get; } = new();

    /// <summary>The matrix multiply should take about this long on the claimed device.</summary>
    public double TargetSeconds { get; init; } = 1.0;

    /// <summary>n is a multiple of this (whole GEMM tiles; the hub's vector loops need no remainder).</summary>
    public int Granule { get; init; } = 64;

    public int MinN { get; init; } = 64;

    /// <summary>
    /// Largest n. Bounds the hub's O(n²) check (≈ 2n² generated entries) and keeps every partial sum of C an integer
    /// below 2^24 (n · 8 · 8 ≤ 2^21), so fp32 arithmetic is exact. 32768 takes an H100 about a second.
    /// </summary>
    public int MaxN { get; init; } = 32768;

    /// <summary>Simulated (devnet) devices get tiny challenges: they run on a shared CPU.</summary>
    public int SimulatedMaxN { get; init; } = 256;

    /// <summary>A, B and C (three n × n fp32 matrices) must fit in this fraction of the claimed memory.</summary>
    public double MemoryFraction { get; init; } = 0.25;

    /// <summary>The deadline is the expected time times this: honest devices run below peak and share the machine.</summary>
    public double Slack { get; init; } = 3.0;

    /// <summary>Added to every deadline for the round trip and the hub's own scheduling.</summary>
    public TimeSpan NetworkAllowance { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Extra time for simulated (devnet) devices: they prove nothing about speed, and a devnet's agents answer their
    /// first challenge while starting up on a shared, busy CPU (cold JIT), where a tight deadline would pause an honest
    /// devnet provider.
    /// </summary>
    public TimeSpan SimulatedAllowance { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How fast a GPU machine hashes C's rows for the commitment (many cores with SHA extensions, or the GPU itself).</summary>
    public double GpuHashBytesPerSecond { get; init; } = 4e9;

    /// <summary>How fast one CPU core hashes (SHA-256 without SHA extensions is ≈ 0.5 GB/s).</summary>
    public double CpuHashBytesPerSecondPerCore { get; init; } = 0.5e9;

    /// <summary>Freivalds rounds: each misses a wrong C with probability at most 2^-16 (r drawn from 2^16 values).</summary>
    public int Rounds { get; init; } = 3;

    /// <summary>Rows of C opened by Merkle proof and recomputed by the hub.</summary>
    public int OpenedRows { get; init; } = 8;

    /// <summary>How long after the reveal the opening may come (no timing is measured in this phase).</summary>
    public TimeSpan OpenTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// n for a device: the largest multiple of <see cref="Granule"/> such that 2n³ FLOP take about
    /// <see cref="TargetSeconds"/> at the claimed rate, 12n² bytes fit in <see cref="MemoryFraction"/> of its memory,
    /// and n ≤ <see cref="MaxN"/> (≤ <see cref="SimulatedMaxN"/> when simulated); never below <see cref="MinN"/>.
    /// </summary>
    public int SizeFor(DeviceClaim claim)
    {
        double rate = ThroughputTable.ClaimedFlops(claim);
        double byTime = Math.Cbrt(rate * TargetSeconds / 2);
        double byMemory = Math.Sqrt(Math.Max(0, claim.MemoryBytes) * MemoryFraction / 12);
        double cap = claim.Simulated ? Math.Min(MaxN, SimulatedMaxN) : MaxN;
        double n = Math.Min(Math.Min(byTime, byMemory), cap);
        int rounded = (int)(n / Granule) * Granule;
        return Math.Max(MinN, rounded);
    }

    /// <summary>Floating-point operations of one challenge: 2n³ (a multiply and an add per term).</summary>
    public static double Work(int n) => 2.0 * n * n * n;

    /// <summary>
    /// How long the device has from the challenge to its commitment:
    /// (2n³ / claimed rate + 4n² bytes / hash rate) × <see cref="Slack"/> + <see cref="NetworkAllowance"/>.
    /// </summary>
    public TimeSpan DeadlineFor(DeviceClaim claim, int n)
    {
        double compute = Work(n) / ThroughputTable.ClaimedFlops(claim);
        double hashRate = claim.IsGpu && !claim.Simulated ? GpuHashBytesPerSecond : CpuHashBytesPerSecondPerCore * (claim.IsGpu ? 1 : Math.Max(1, claim.Cores));
        double hash = 4.0 * n * n / hashRate;
        return TimeSpan.FromSeconds((compute + hash) * Slack) + NetworkAllowance + (claim.Simulated ? SimulatedAllowance : TimeSpan.Zero);
    }
}
