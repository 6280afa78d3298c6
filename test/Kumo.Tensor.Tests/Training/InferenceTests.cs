using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Tests.Data;
using Kumo.Tensor.Training;
using Xunit.Abstractions;

namespace Kumo.Tensor.Tests.Training;

public class InferenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Stored_mlp_weights_classify_as_the_trainer_evaluated()
    {
        ClassificationData digits = Digits.Load(Datasets.Digits);
        TrainResult result = Trainer.Train(ModelSpec.Mlp(hidden: 32), digits, new TrainOptions { Steps = 50, BatchSize = 16, LearningRate = 1e-2f });

        int[] predicted = Inference.Classify(result.Spec, result.Weights, digits.TestFeatures);

        Assert.Equal(digits.TestLabels.Length, predicted.Length);
        Assert.Equal(result.Evaluation.Accuracy, Inference.Accuracy(result.Spec, result.Weights, digits.TestFeatures, digits.TestLabels));
    }

    [Fact]
    public void Generation_is_reproducible_for_a_seed_and_scoring_matches_training_evaluation()
    {
        CharCorpus corpus = CharCorpus.FromText(File.ReadAllText(Datasets.Licenses)[..20_000]);
        var options = new TrainOptions { Steps = 5, BatchSize = 4, LearningRate = 1e-2f, MaxEvaluationWindows = 8 };
        TrainResult result = Trainer.Train(ModelSpec.Transformer(context: 16, embed: 16, layers: 1, heads: 2), corpus, options);

        string a = Inference.Generate(result.Spec, result.Weights, result.Vocabulary!, "the ", 40, temperature: 1f, seed: 3);
        string b = Inference.Generate(result.Spec, result.Weights, result.Vocabulary!, "the ", 40, temperature: 1f, seed: 3,
            compute: new ComputeOptions { Threads = 1, Width = SimdWidth.Scalar });
        string greedy = Inference.Generate(result.Spec, result.Weights, result.Vocabulary!, "the ", 40);
        output.WriteLine($"sampled: {a}\ngreedy: {greedy}");

        Assert.Equal(40, a.Length);
        Assert.Equal(a, b);
        Assert.Equal(result.Evaluation.ValidationLoss, Inference.EvaluationLoss(result.Spec, result.Weights, corpus.Validation, 8));
    }
}
