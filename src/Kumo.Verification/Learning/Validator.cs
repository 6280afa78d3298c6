using Kumo.Tensor.Data;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Learning;

/// <summary>What a validator concluded about one segment.</summary>
public enum SegmentVerdict
{
    /// <summary>Re-execution reached the committed root bit for bit.</summary>
    Agree,

    /// <summary>Re-execution reached a different root: grounds for a dispute.</summary>
    Disagree,

    /// <summary>The provider's material failed before any re-execution (transcript not the signed one, start checkpoint missing or not proven).</summary>
    Invalid,
}

/// <summary>
/// A validator's report on one segment: the verdict, why (for Invalid), the provider's committed end, and the root
/// after each re-executed step (the validator's side of a dispute).
/// </summary>
public sealed record SegmentCheck(TrainingSegment Segment, SegmentVerdict Verdict, string? Reason, CheckpointCommitment Claimed,
    IReadOnlyList<CheckpointCommitment> Recomputed, TrainingState? End);

/// <summary>
/// Re-executes sampled segments of a provider's run. The validator trusts nothing from the provider but what the
/// signed root binds: the transcript must be the signed one, and the segment's start state must be revealed with a
/// proof of its commitment (or be the seeded initial state, which the validator builds itself).
/// </summary>
public static class Validator
{
    public static SegmentCheck CheckSegment(TrainingTranscript transcript, TranscriptStatement signed, int segment, RevealedCheckpoint? start,
        ModelSpec spec, TrainingData data, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(transcript);
        ArgumentNullException.ThrowIfNull(signed);
        TrainingSegment s = transcript.Segment(segment);
        CheckpointCommitment claimed = transcript.Commitments[segment];
        if (!transcript.Matches(signed))
        {
            return Invalid("the transcript's commitments do not hash to the signed root");
        }

        TrainingState from;
        if (s.FromStep == 0)
        {
            from = Trainer.InitialState(spec, data, options);
        }
        else if (start is null)
        {
            return Invalid($"the provider did not reveal the checkpoint at step {s.FromStep}");
        }
        else if (start.Proof.Index != segment - 1 || start.Commitment != transcript.Commitments[segment - 1])
        {
            return Invalid($"the revealed checkpoint is leaf {start.Proof.Index} (step {start.Commitment.Step}); segment {segment} starts at leaf {segment - 1}");
        }
        else if (!start.TryVerify(signed.RootHex, out string? error))
        {
            return Invalid(error);
        }
        else
        {
            from = start.State;
        }

        SegmentResult run = Trainer.TrainSegment(spec, data, options, from, s.Steps);
        SegmentVerdict verdict = run.StepHashes[^1].RootHex == claimed.RootHex ? SegmentVerdict.Agree : SegmentVerdict.Disagree;
        return new SegmentCheck(s, verdict, null, claimed, run.StepHashes, run.End);

        SegmentCheck Invalid(string reason) => new(s, SegmentVerdict.Invalid, reason, claimed, [], null);
    }
}
