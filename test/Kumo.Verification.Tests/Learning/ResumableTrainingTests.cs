using Kumo.Tensor.Training;

namespace Kumo.Verification.Tests.Learning;

public class ResumableTrainingTests
{
    [Theory]
    [InlineData(TrainOptions.AdamWOptimizer)]
    [InlineData(TrainOptions.SgdOptimizer)]
    public void Segments_resumed_from_checkpoints_equal_the_uninterrupted_run_bit_for_bit(string optimizer)
    {
        TrainOptions options = DigitsRun.Options(30, optimizer);
        TrainResult full = Trainer.Train(DigitsRun.Spec, DigitsRun.Digits64, options);

        TrainingState state = Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options);
        var hashes = new List<CheckpointCommitment>();
        foreach (int steps in new[] { 10, 7, 13 })
        {
            SegmentResult segment = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options, state, steps);
            Assert.Equal(steps, segment.StepHashes.Count);
            Assert.Equal(state.Step + steps, segment.End.Step);
            Assert.Equal(segment.StepHashes[^1].RootHex, segment.End.RootHex());
            hashes.AddRange(segment.StepHashes);
            state = segment.End;
        }

        Assert.Equal(full.Commitments, [.. hashes.Where(h => h.Step % 10 == 0)]);
        Assert.Equal(full.Weights.SelectMany(w => w.Data), state.Weights.SelectMany(w => w.Data));
        Assert.Equal(full.OptimizerState.SelectMany(w => w.Data), state.OptimizerState.SelectMany(w => w.Data));
        Assert.Equal(full.LossLog.Select(l => l.Loss), Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options,
            Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options), 30).LossLog.Select(l => l.Loss));
    }

    [Fact]
    public void A_traced_step_is_the_same_step_and_its_operator_chain_runs_from_the_state_before_to_the_state_after()
    {
        TrainOptions options = DigitsRun.Options(5);
        TrainingState before = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options,
            Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options), 4).End;

        StepTrace trace = Trainer.TraceStep(DigitsRun.Spec, DigitsRun.Digits64, options, before);
        SegmentResult plain = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options, before, 1);

        Assert.Equal(5, trace.Step);
        Assert.Equal(plain.End.RootHex(), trace.After.RootHex());
        Assert.Equal(before.RootHex(), trace.Operators[0].InputHash);
        Assert.Equal(trace.After.RootHex(), trace.Operators[^1].OutputHash);
        for (int i = 1; i < trace.Operators.Count; i++)
        {
            Assert.Equal(trace.Operators[i - 1].OutputHash, trace.Operators[i].InputHash);
            Assert.Equal(i, trace.Operators[i].Index);
        }

        // MLP: Linear = MatMul + Add twice, ReLU, cross-entropy: 6 forward, 6 backward, then the optimizer.
        Assert.Equal(
            ["forward MatMul", "forward Add", "forward Relu", "forward MatMul", "forward Add", "forward CrossEntropy",
             "backward CrossEntropy", "backward Add", "backward MatMul", "backward Relu", "backward Add", "backward MatMul", "optimizer adamw"],
            trace.Operators.Select(o => o.Kind));
        Assert.Equal(trace.Operators.Select(o => o.OutputHash), Trainer.TraceStep(DigitsRun.Spec, DigitsRun.Digits64, options, before).Operators.Select(o => o.OutputHash));
    }
}
