namespace Kumo.Verification.Hardware;

/// <summary>
/// How one device's proof ended. <see cref="MeasuredFlops"/> is 2n³ over the time from challenge to commitment
/// (a lower bound on the device's rate: it includes hashing and the round trip), capped at the claimed rate;
/// <see cref="Tier"/> is <see cref="PerformanceTiers.FromFlops"/> of it, 0 on failure.
/// </summary>
public sealed record ProofOutcome(
    string DeviceId,
    bool Passed,
    string Code,
    string Reason,
    int N,
    long ElapsedMs,
    double MeasuredFlops,
    int Tier,
    bool Simulated)
{
    public static ProofOutcome Fail(DeviceClaim claim, int n, string code, string reason, long elapsedMs = 0) =>
        new(claim.DeviceId, false, code, reason, n, elapsedMs, 0, 0, claim.Simulated);
}

/// <summary>The codes a proof ends with; stable, for logs and tests.</summary>
public static class ProofCodes
{
    public const string Passed = "passed";
    public const string Deadline = "deadline";
    public const string NoOpening = "no_opening";
    public const string WrongSize = "wrong_size";
    public const string RootChanged = "root_changed";
    public const string WrongRows = "wrong_rows";
    public const string BadProof = "bad_proof";
    public const string Malformed = "malformed";
    public const string Freivalds = "freivalds";
    public const string RowMismatch = "row_mismatch";
    public const string ProductMismatch = "product_mismatch";
}

/// <summary>The performance tier the market prices by: measured TFLOP/s × 100 (an H100 at full fp32 rate ≈ 6690).</summary>
public static class PerformanceTiers
{
    public static int FromFlops(double flops) => flops <= 0 ? 0 : (int)Math.Clamp(Math.Floor(flops / 1e10), 1, 1_000_000);
}
