using Kumo.Tensor.Data;
using Kumo.Tensor.Models;
using Kumo.Tensor.Training;
using Kumo.Verification.Learning;

namespace Kumo.Verification.Tests.Learning;

public class TrainingRunVerifierTests
{
    private sealed class Keeper : ICheckpointObserver
    {
        public Dictionary<int, TrainingState> States { get; } = [];

        public void OnStep(int step, float loss, double samplesPerSecond)
        {
        }

        public void OnCheckpoint(int step, string rootHex)
        {
        }

        public void OnCheckpointState(TrainingState state) => States[state.Step] = state;
    }

    private static (ModelSpec Spec, ClassificationData Data, TrainOptions Options, TrainResult Result, Keeper Keeper) Run()
    {
        const int n = 300, f = 64;
        float[] features = new float[n * f];
        int[] labels = new int[n];
        var random = new Kumo.Tensor.Randomness.Philox(4, 0, 0);
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 10;
            for (int j = 0; j < f; j++)
            {
                features[(i * f) + j] = (j % 10 == labels[i] ? 1f : 0f) + (0.3f * random.NextFloat());
            }
        }

        ClassificationData data = ClassificationData.Split(f, 10, features, labels);
        ModelSpec spec = ModelSpec.Mlp(hidden: 16);
        var options = new TrainOptions { Steps = 40, BatchSize = 8, LearningRate = 0.01f, Seed = 9, CheckpointEvery = 10 };
        var keeper = new Keeper();
        TrainResult result = Trainer.Train(spec, data, options, keeper);
        return (spec, data, options, result, keeper);
    }

    [Fact]
    public void An_honest_run_agrees_on_every_segment_re_executed_from_its_published_checkpoints()
    {
        var (spec, data, options, result, keeper) = Run();

        TrainingRunVerifier.Result verdict = TrainingRunVerifier.Verify(spec, data, options, result.Commitments,
            step => keeper.States.GetValueOrDefault(step), [0, 1, 2, 3]);

        Assert.True(verdict.Agrees, verdict.Reason);
        Assert.Equal([0, 1, 2, 3], verdict.Checked);
        Assert.Equal(40, verdict.StepsExecuted);
    }

    [Fact]
    public void A_forged_commitment_a_lying_checkpoint_a_missing_one_and_a_wrong_schedule_are_each_caught()
    {
        var (spec, data, options, result, keeper) = Run();
        TrainingState? At(int step) => keeper.States.GetValueOrDefault(step);

        CheckpointCommitment[] forged = [.. result.Commitments];
        forged[2] = forged[2] with { RootHex = new string('0', 64) };
        TrainingRunVerifier.Result wrongEnd = TrainingRunVerifier.Verify(spec, data, options, forged, At, [2]);

        TrainingState real = keeper.States[20];
        NamedTensor first = real.Weights[0];
        float[] bumped = [.. first.Data];
        bumped[0] += 1e-3f;
        TrainingState lie = real with { Weights = [first with { Data = bumped }, .. real.Weights.Skip(1)] };
        TrainingRunVerifier.Result badStart = TrainingRunVerifier.Verify(spec, data, options, result.Commitments, s => s == 20 ? lie : At(s), [2]);

        TrainingRunVerifier.Result missing = TrainingRunVerifier.Verify(spec, data, options, result.Commitments, _ => null, [1]);
        TrainingRunVerifier.Result schedule = TrainingRunVerifier.Verify(spec, data, options, result.Commitments.Take(3).ToList(), At, [0]);

        Assert.Equal(2, wrongEnd.FailedSegment);
        Assert.Contains("re-executed it ends at", wrongEnd.Reason, StringComparison.Ordinal);
        Assert.Equal(2, badStart.FailedSegment);
        Assert.Contains("does not hash to the committed root", badStart.Reason, StringComparison.Ordinal);
        Assert.Equal(1, missing.FailedSegment);
        Assert.Contains("no checkpoint was published for step 10", missing.Reason, StringComparison.Ordinal);
        Assert.False(schedule.Agrees);
        Assert.Contains("not the job's schedule", schedule.Reason, StringComparison.Ordinal);
    }
}
