using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Verification.Inference;

namespace Kumo.Verification.Tests.Inference;

public class InferenceSpotCheckTests
{
    private static (ModelSpec Spec, TrainResult Trained, ClassificationData Data) TrainSmallMlp()
    {
        // Synthetic, separable data: enough to exercise classification without the digits file.
        const int n = 400, f = 64;
        float[] features = new float[n * f];
        int[] labels = new int[n];
        var random = new Kumo.Tensor.Randomness.Philox(3, 0, 0);
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 10;
            for (int j = 0; j < f; j++)
            {
                features[(i * f) + j] = (j % 10 == labels[i] ? 1f : 0f) + (0.3f * random.NextFloat());
            }
        }

        ClassificationData data = ClassificationData.Split(f, 10, features, labels);
        ModelSpec spec = ModelSpec.Mlp(hidden: 32);
        TrainResult trained = Trainer.Train(spec, data, new TrainOptions { Steps = 60, BatchSize = 16, LearningRate = 0.01f, Seed = 5 });
        return (spec, trained, data);
    }

    [Fact]
    public void Honest_predictions_pass_and_one_changed_row_is_caught_when_sampled()
    {
        (ModelSpec spec, TrainResult trained, ClassificationData data) = TrainSmallMlp();
        int[] honest = Kumo.Tensor.Training.Inference.Classify(spec, trained.Weights, data.TestFeatures);
        IReadOnlyList<int> all = [.. Enumerable.Range(0, honest.Length)];

        InferenceSpotCheck.Outcome ok = InferenceSpotCheck.CheckClassification(spec, trained.Weights, data.TestFeatures, honest,
            InferenceSpotCheck.Sample(honest.Length, 0.1, 99), new ComputeOptions { Threads = 1, Width = SimdWidth.Scalar });
        int[] forged = [.. honest];
        forged[17] = (forged[17] + 1) % 10;
        InferenceSpotCheck.Outcome caught = InferenceSpotCheck.CheckClassification(spec, trained.Weights, data.TestFeatures, forged, all);

        Assert.True(ok.Agrees, ok.Detail);
        Assert.False(caught.Agrees);
        Assert.Equal(17, caught.FirstMismatch);
        Assert.Contains("row 17", caught.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Sampling_is_reproducible_from_the_seed_and_never_empty()
    {
        Assert.Equal(InferenceSpotCheck.Sample(1000, 0.05, 7), InferenceSpotCheck.Sample(1000, 0.05, 7));
        Assert.NotEqual(InferenceSpotCheck.Sample(1000, 0.05, 7), InferenceSpotCheck.Sample(1000, 0.05, 8));
        Assert.Single(InferenceSpotCheck.Sample(10, 0, 1));
        Assert.InRange(InferenceSpotCheck.Sample(10_000, 0.05, 3).Count, 400, 600);
        Assert.Throws<ArgumentOutOfRangeException>(() => InferenceSpotCheck.Sample(10, 1.5, 1));
    }

    [Fact]
    public void A_generation_is_checked_token_by_token_from_the_providers_own_prefix()
    {
        var corpus = CharCorpus.FromText(string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 60)));
        ModelSpec spec = ModelSpec.Transformer(context: 16, embed: 16, layers: 1, heads: 2);
        TrainResult trained = Trainer.Train(spec, corpus, new TrainOptions { Steps = 30, BatchSize = 4, LearningRate = 0.01f, Seed = 2, MaxEvaluationWindows = 1 });
        var vocabulary = new CharVocabulary(trained.Vocabulary!);
        int[] prompt = vocabulary.Encode("the ");
        int[] generated = Kumo.Tensor.Training.Inference.Generate(trained.Spec, trained.Weights, prompt, 24);
        IReadOnlyList<int> all = [.. Enumerable.Range(0, generated.Length)];

        InferenceSpotCheck.Outcome ok = InferenceSpotCheck.CheckGeneration(trained.Spec, trained.Weights, prompt, generated, all);
        int[] forged = [.. generated];
        forged[9] = (forged[9] + 1) % vocabulary.Count;
        InferenceSpotCheck.Outcome caught = InferenceSpotCheck.CheckGeneration(trained.Spec, trained.Weights, prompt, forged, all);

        Assert.True(ok.Agrees, ok.Detail);
        Assert.Equal(9, caught.FirstMismatch);
    }
}
