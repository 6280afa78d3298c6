using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Simulation;

/// <summary>
/// A validator's check of one segment: whether the provider's commitments held for the steps it checked — steps
/// <paramref name="FromStep"/> + 1 … <paramref name="FromStep"/> + <paramref name="StepsExecuted"/> of the segment —
/// and what checking cost in training steps and seconds.
/// </summary>
public sealed record SegmentCheck(bool Reproduced, int FromStep, int StepsExecuted, double Seconds);

/// <summary>
/// Proof of learning for one segment, given the roots the provider committed inside it: the root after every c-th
/// step, c = the segment's steps ÷ the number of roots (the provider's commit interval; the last root is the segment's
/// checkpoint). The seam where the way a validator checks a segment plugs in.
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
/// The spot check: draws one of the segment's commit intervals uniformly — steps (w − 1)·c + 1 … w·c, c steps, one step
/// when the provider committed after every step — has the provider reveal the state it committed to before it (the
/// start checkpoint for the first), re-executes those c steps and compares the result with the committed root after
/// them. c steps per check instead of k. A segment that was not computed — fabricated states, a re-committed start —
/// has no honest interval in it, so any draw exposes it; a provider that skips m of a segment's k/c intervals is
/// exposed with probability m·c/k, in proportion to what it saved. A committed state the provider cannot reveal
/// fails the check: it signed a root it cannot back.
/// </summary>
public sealed class SpotCheckSegmentVerifier : ISegmentVerifier
{
    public SegmentCheck Verify(TrainingJob job, int segment, string startRoot, IReadOnlyList<string> stepRoots, Philox random)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(stepRoots);
        ArgumentNullException.ThrowIfNull(random);
        int every = stepRoots.Count == 0 ? 0 : job.StepsPerSegment / stepRoots.Count;
        if (every * stepRoots.Count != job.StepsPerSegment)
        {
            throw new ArgumentException($"{stepRoots.Count} roots do not split segments of {job.StepsPerSegment} steps into equal intervals", nameof(stepRoots));
        }

        int w = random.NextInt(stepRoots.Count);
        string before = w == 0 ? startRoot : stepRoots[w - 1];
        if (!SegmentWork.CanReveal(job, before))
        {
            return new SegmentCheck(false, w * every, 0, 0);
        }

        SegmentRun run = SegmentWork.Run(job, segment, before, steps: every);
        return new SegmentCheck(string.Equals(run.EndRoot, stepRoots[w], StringComparison.Ordinal), w * every, every, run.Seconds);
    }
}
