namespace Kumo.Verification.Simulation;

/// <summary>A validator's re-execution of one segment: did the claimed end come out, and what did checking cost.</summary>
public sealed record SegmentCheck(bool Reproduced, int StepsExecuted, double Seconds);

/// <summary>
/// Proof of learning for one segment: re-execute it from the claimed start commitment and compare with the claimed
/// end. The seam where the real proof-of-learning verifier (resuming from the provider's checkpoint) plugs in.
/// </summary>
public interface ISegmentVerifier
{
    SegmentCheck Verify(TrainingJob job, int segment, string claimedStartRoot, string claimedEndRoot);
}

/// <summary>Re-executes the segment with <see cref="SegmentWork"/> and compares roots bit for bit.</summary>
public sealed class ReexecutingSegmentVerifier : ISegmentVerifier
{
    public SegmentCheck Verify(TrainingJob job, int segment, string claimedStartRoot, string claimedEndRoot)
    {
        ArgumentNullException.ThrowIfNull(job);
        SegmentRun run = SegmentWork.Run(job, segment, claimedStartRoot);
        return new SegmentCheck(string.Equals(run.EndRoot, claimedEndRoot, StringComparison.Ordinal), job.StepsPerSegment, run.Seconds);
    }
}
