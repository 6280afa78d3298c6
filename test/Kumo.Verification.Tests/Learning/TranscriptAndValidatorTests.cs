using Kumo.Crypto;
using Kumo.Signing;
using Kumo.Tensor.Training;
using Kumo.Verification.Learning;

namespace Kumo.Verification.Tests.Learning;

public class TranscriptAndValidatorTests
{
    private static readonly DateTimeOffset SignedAt = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_honest_run_passes_every_segment_from_revealed_checkpoints()
    {
        using AccountKey provider = AccountKey.Create();
        TrainOptions options = DigitsRun.Options(30);
        (TrainingTranscript transcript, List<TrainingState> states) = Run(options);
        SignedEnvelope envelope = transcript.Sign(provider, "job-1", 1, SignedAt);
        Assert.True(TranscriptStatement.TryOpen(envelope, provider.AccountId, out TranscriptStatement? statement, out string? error), error);

        for (int segment = 0; segment < transcript.SegmentCount; segment++)
        {
            RevealedCheckpoint? start = segment == 0 ? null : transcript.Reveal(segment - 1, states[segment - 1]);
            SegmentCheck check = Validator.CheckSegment(transcript, statement, segment, start, DigitsRun.Spec, DigitsRun.Digits64, options);
            Assert.Equal(SegmentVerdict.Agree, check.Verdict);
            Assert.Equal(10, check.Recomputed.Count);
        }
    }

    [Fact]
    public void Commitments_changed_after_signing_do_not_match_the_signed_root_and_their_proofs_fail()
    {
        using AccountKey provider = AccountKey.Create();
        TrainOptions options = DigitsRun.Options(30);
        (TrainingTranscript transcript, List<TrainingState> states) = Run(options);
        Assert.True(TranscriptStatement.TryOpen(transcript.Sign(provider, "job-1", 1, SignedAt), provider.AccountId, out TranscriptStatement? statement, out _));

        CheckpointCommitment[] changed = [.. transcript.Commitments];
        changed[1] = changed[1] with { RootHex = new string('0', 64) };
        var altered = new TrainingTranscript(changed);

        Assert.False(altered.Matches(statement));
        SegmentCheck check = Validator.CheckSegment(altered, statement, 2, altered.Reveal(1, states[1]), DigitsRun.Spec, DigitsRun.Digits64, options);
        Assert.Equal(SegmentVerdict.Invalid, check.Verdict);
        Assert.Contains("signed root", check.Reason, StringComparison.Ordinal);
        Assert.False(altered.Reveal(1, states[1]).TryVerify(statement.RootHex, out _));
    }

    [Fact]
    public void A_revealed_checkpoint_whose_proof_is_for_another_leaf_or_whose_state_differs_is_refused()
    {
        using AccountKey provider = AccountKey.Create();
        TrainOptions options = DigitsRun.Options(30);
        (TrainingTranscript transcript, List<TrainingState> states) = Run(options);
        Assert.True(TranscriptStatement.TryOpen(transcript.Sign(provider, "job-1", 1, SignedAt), provider.AccountId, out TranscriptStatement? statement, out _));

        RevealedCheckpoint honest = transcript.Reveal(1, states[1]);
        Assert.True(honest.TryVerify(statement.RootHex, out string? error), error);

        RevealedCheckpoint wrongLeaf = honest with { Proof = transcript.Prove(0) };
        Assert.False(wrongLeaf.TryVerify(statement.RootHex, out error));
        Assert.Contains("leaf 0", error, StringComparison.Ordinal);
        Assert.Equal(SegmentVerdict.Invalid, Validator.CheckSegment(transcript, statement, 2, wrongLeaf, DigitsRun.Spec, DigitsRun.Digits64, options).Verdict);

        // A proof that verifies, but for the checkpoint before the segment's start.
        RevealedCheckpoint earlier = transcript.Reveal(0, states[0]);
        Assert.True(earlier.TryVerify(statement.RootHex, out _));
        Assert.Equal(SegmentVerdict.Invalid, Validator.CheckSegment(transcript, statement, 2, earlier, DigitsRun.Spec, DigitsRun.Digits64, options).Verdict);

        RevealedCheckpoint otherState = honest with { State = states[1] with { Weights = [.. states[0].Weights] } };
        Assert.False(otherState.TryVerify(statement.RootHex, out _));
        Assert.Equal(SegmentVerdict.Invalid, Validator.CheckSegment(transcript, statement, 1, null, DigitsRun.Spec, DigitsRun.Digits64, options).Verdict);
    }

    [Fact]
    public void A_committed_root_that_training_does_not_reach_is_a_disagreement_and_a_statement_by_another_key_is_refused()
    {
        using AccountKey provider = AccountKey.Create(), other = AccountKey.Create();
        TrainOptions options = DigitsRun.Options(30);
        (TrainingTranscript honest, List<TrainingState> states) = Run(options);
        CheckpointCommitment[] forged = [.. honest.Commitments];
        forged[2] = forged[2] with { RootHex = states[1].RootHex() };
        var transcript = new TrainingTranscript(forged);
        SignedEnvelope envelope = transcript.Sign(provider, "job-1", 1, SignedAt);

        Assert.False(TranscriptStatement.TryOpen(envelope, other.AccountId, out _, out string? error));
        Assert.Contains("not the provider", error, StringComparison.Ordinal);
        Assert.True(TranscriptStatement.TryOpen(envelope, provider.AccountId, out TranscriptStatement? statement, out _));

        SegmentCheck check = Validator.CheckSegment(transcript, statement, 2, transcript.Reveal(1, states[1]), DigitsRun.Spec, DigitsRun.Digits64, options);
        Assert.Equal(SegmentVerdict.Disagree, check.Verdict);
        Assert.Equal(honest.Commitments[2].RootHex, check.Recomputed[^1].RootHex);
    }

    internal static (TrainingTranscript Transcript, List<TrainingState> States) Run(TrainOptions options)
    {
        TrainResult result = Trainer.Train(DigitsRun.Spec, DigitsRun.Digits64, options);
        var states = new List<TrainingState>();
        TrainingState state = Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options);
        foreach (CheckpointCommitment c in result.Commitments)
        {
            state = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options, state, c.Step - state.Step).End;
            states.Add(state);
        }

        return (new TrainingTranscript(result.Commitments), states);
    }
}
