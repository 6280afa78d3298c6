using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Tests.Data;
using Kumo.Tensor.Training;
using Xunit.Abstractions;

namespace Kumo.Tensor.Tests.Training;

/// <summary>
/// Training throughput with 1 and 2 threads, printed (not asserted: a shared 2-core machine makes absolute
/// figures noise). Run: dotnet test … --filter ThroughputReport --logger "console;verbosity=detailed".
/// </summary>
public class ThroughputReport(ITestOutputHelper output)
{
    [Fact]
    public void Training_throughput_is_reported()
    {
        ClassificationData digits = Digits.Load(Datasets.Digits);
        CharCorpus corpus = CharCorpus.Load(Datasets.Licenses);
        foreach (int threads in new[] { 1, 2 })
        {
            var compute = new ComputeOptions { Threads = threads };
            double mlp = Measure(ModelSpec.Mlp(), digits, new TrainOptions { Steps = 100, BatchSize = 32, Compute = compute, CheckpointEvery = 0 });
            double gpt = Measure(ModelSpec.Transformer(), corpus, new TrainOptions { Steps = 4, BatchSize = 8, Compute = compute, CheckpointEvery = 0 });
            output.WriteLine($"threads {threads}: MLP 64-128-10 {mlp:F0} samples/s; transformer ctx 64 embed 64 2 layers 4 heads {gpt:F1} sequences/s ({gpt * 64:F0} tokens/s)");
        }
    }

    private static double Measure(ModelSpec spec, TrainingData data, TrainOptions options)
    {
        var observer = new Rate();
        Trainer.Train(spec, data, options, observer);
        return observer.Median;
    }

    private sealed class Rate : ITrainingObserver
    {
        private readonly List<double> _rates = [];

        public double Median => _rates.Skip(1).Order().ElementAt((_rates.Count - 1) / 2); // first step warms the JIT

        public void OnStep(int step, float loss, double samplesPerSecond) => _rates.Add(samplesPerSecond);

        public void OnCheckpoint(int step, string rootHex)
        {
        }
    }
}
