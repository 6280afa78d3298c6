using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Simulation;

/// <summary>
/// A validator's check of one segment: whether the provider's commitments held for the steps it checked — steps
/// <paramref name="FromStep"/> + 1 … <paramref name="FromStep"/> + <paramref name="StepsExecuted"/> of the segment —
/// and what checking cost in training steps and seconds.
/// </summary>
public sealed record SegmentCheck(bool Reproduced, int FromStep, int StepsExecuted, double Seconds);

/// <summary>
/// Proof of learning for one segment, given the provider's committed root after each of its steps (the last one is
/// the segment's checkpoint). The seam where the way a validator checks a segment plugs in.
/// </summary>
public interface ISegmentVerifier
{
    SegmentCheck Verify(TrainingJob job, int segment, string startRoot, IReadOnlyList<string> stepRoots, Philox random);
}

/// <summary>
/// Re-executes the whole segment from its start checkpoint and compares the end root bit for bit: k steps per check.
/// </summary>
public sealed class ReexecutingSegmentVerifier : ISegmentVerifier
{
    public SegmentCheck Verify(TrainingJob job, int segment, string startRoot, IReadOnlyList<string> stepRoots, Philox random)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(stepRoots);
        SegmentRun run = SegmentWork.Run(job, segment, startRoot);
        return new SegmentCheck(string.Equals(run.EndRoot, stepRoots[^1], StringComparison.Ordinal), 0, job.StepsPerSegment, run.Seconds);
    }
}

/// <summary>
/// The one-step spot check: draws a step j of the segment uniformly, has the provider reveal the state it committed
/// to before it (the start checkpoint for j = 1), re-executes that one step and compares the result with the committed
/// root after step j. One step per check instead of k. A segment that was not computed — fabricated states, a
/// re-committed start — has no honest step in it, so any j exposes it; a provider that skips m of a segment's k steps
/// is exposed with probability m/k, in proportion to what it saved. A committed state the provider cannot reveal
/// fails the check: it signed a root it cannot back.
/// </summary>
public sealed class SpotCheckSegmentVerifier : ISegmentVerifier
{
    public SegmentCheck Verify(TrainingJob job, int segment, string startRoot, IReadOnlyList<string> stepRoots, Philox random)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(stepRoots);
        ArgumentNullException.ThrowIfNull(random);
        int j = 1 + random.NextInt(stepRoots.Count);
        string before = j == 1 ? startRoot : stepRoots[j - 2];
        if (!SegmentWork.CanReveal(job, before))
        {
            return new SegmentCheck(false, j - 1, 0, 0);
        }

        SegmentRun run = SegmentWork.Run(job, segment, before, steps: 1);
        return new SegmentCheck(string.Equals(run.EndRoot, stepRoots[j - 1], StringComparison.Ordinal), j - 1, 1, run.Seconds);
    }
}
