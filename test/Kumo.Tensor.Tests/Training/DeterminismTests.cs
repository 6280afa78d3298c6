using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Tests.Data;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Tests.Training;

/// <summary>
/// The property validators rely on: the same job gives the same weights and optimizer state — hence the same
/// commitment — after every step, whatever the thread count and SIMD width.
/// </summary>
public class DeterminismTests
{
    public static TheoryData<string> Kinds => [ModelSpec.MlpKind, ModelSpec.TransformerKind];

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Every_step_commits_to_the_same_bits_for_every_thread_count_and_simd_width(string kind)
    {
        (ModelSpec spec, TrainingData data) = Job(kind);
        string[]? expected = null;
        foreach (int threads in new[] { 1, 2 })
        {
            foreach (SimdWidth width in new[] { SimdWidth.Scalar, SimdWidth.W128, SimdWidth.W256, SimdWidth.W512, SimdWidth.Auto })
            {
                TrainResult result = Trainer.Train(spec, data, Options(threads, width, TrainOptions.AdamWOptimizer));
                string[] roots = [.. result.Commitments.Select(c => $"{c.Step}:{c.RootHex}")];
                Assert.Equal(4, roots.Length); // one per step
                expected ??= roots;
                Assert.True(expected.SequenceEqual(roots), $"{kind}: threads {threads}, width {width} diverged: {string.Join(" ", roots)} vs {string.Join(" ", expected)}");
            }
        }
    }

    [Fact]
    public void Sgd_training_is_reproducible_and_the_seed_matters()
    {
        (ModelSpec spec, TrainingData data) = Job(ModelSpec.MlpKind);
        TrainResult a = Trainer.Train(spec, data, Options(1, SimdWidth.Scalar, TrainOptions.SgdOptimizer));
        TrainResult b = Trainer.Train(spec, data, Options(2, SimdWidth.Auto, TrainOptions.SgdOptimizer));
        TrainResult c = Trainer.Train(spec, data, Options(2, SimdWidth.Auto, TrainOptions.SgdOptimizer) with { Seed = 8 });

        Assert.Equal(a.Commitments, b.Commitments);
        Assert.NotEqual(a.Commitments[^1], c.Commitments[^1]);
        Assert.Equal(WeightCommitment.RootHex(a.Weights), WeightCommitment.RootHex(b.Weights));
    }

    [Fact]
    public void Commitment_covers_weights_and_optimizer_state()
    {
        (ModelSpec spec, TrainingData data) = Job(ModelSpec.MlpKind);
        TrainResult result = Trainer.Train(spec, data, Options(1, SimdWidth.Auto, TrainOptions.AdamWOptimizer));

        Assert.Equal(result.Commitments[^1].RootHex, WeightCommitment.RootHex([.. result.Weights, .. result.OptimizerState]));
        Assert.NotEqual(result.Commitments[^1].RootHex, WeightCommitment.RootHex(result.Weights));
    }

    private static TrainOptions Options(int threads, SimdWidth width, string optimizer) => new()
    {
        Steps = 4, BatchSize = 8, LearningRate = 1e-2f, Optimizer = optimizer, Seed = 7, CheckpointEvery = 1,
        Compute = new ComputeOptions { Threads = threads, Width = width },
    };

    private static (ModelSpec, TrainingData) Job(string kind)
    {
        if (kind == ModelSpec.MlpKind)
        {
            return (ModelSpec.Mlp(hidden: 32, activation: "gelu"), Digits.Load(Datasets.Digits));
        }

        string text = File.ReadAllText(Datasets.Licenses)[..20_000];
        return (ModelSpec.Transformer(context: 16, embed: 16, layers: 2, heads: 2), CharCorpus.FromText(text));
    }
}
