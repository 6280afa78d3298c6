using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Tests.Data;
using Kumo.Tensor.Training;
using Xunit.Abstractions;

namespace Kumo.Tensor.Tests.Training;

public class QualityTests(ITestOutputHelper output)
{
    [Fact]
    public void Mlp_learns_digits_to_at_least_95_percent_held_out_accuracy()
    {
        ClassificationData digits = Digits.Load(Datasets.Digits);
        var options = new TrainOptions
        {
            Steps = 800, BatchSize = 32, LearningRate = 3e-3f, Seed = 1, CheckpointEvery = 200,
            Compute = new ComputeOptions { Threads = 2 },
        };

        TrainResult result = Trainer.Train(ModelSpec.Mlp(), digits, options);

        output.WriteLine($"digits MLP: held-out accuracy {result.Evaluation.Accuracy:P2}, final batch loss {result.LossLog[^1].Loss:F4}");
        Assert.True(result.Evaluation.Accuracy >= 0.95, $"accuracy {result.Evaluation.Accuracy:P2}");
        Assert.Equal(4, result.Commitments.Count);
    }

    [Fact]
    public void Transformer_beats_the_unigram_model_on_held_out_licence_text()
    {
        CharCorpus corpus = CharCorpus.Load(Datasets.Licenses);
        var options = new TrainOptions
        {
            Steps = 400, BatchSize = 8, LearningRate = 5e-3f, Seed = 1, CheckpointEvery = 100, MaxEvaluationWindows = 32,
            Compute = new ComputeOptions { Threads = 2 },
        };

        TrainResult result = Trainer.Train(ModelSpec.Transformer(context: 32, embed: 32, layers: 1, heads: 2), corpus, options);

        double validation = result.Evaluation.ValidationLoss!.Value, unigram = result.Evaluation.UnigramLoss!.Value;
        string sample = Inference.Generate(result.Spec, result.Weights, result.Vocabulary!, "This License", 60);
        output.WriteLine($"transformer: validation loss {validation:F4} nats/char, unigram {unigram:F4}, ratio {validation / unigram:F3}; sample: {sample}");
        Assert.True(validation < 0.8 * unigram, $"validation loss {validation:F4} vs unigram {unigram:F4}");
    }
}
