using System.Diagnostics;
using System.Text.Json.Serialization;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Quantization;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;

namespace Kumo.Cli.Bench;

/// <summary>
/// `kumo bench train`: training throughput of the digits MLP and the character transformer with 1 and 2 threads
/// (the same bits either way, checked), the MLP's held-out accuracy in fp32 and after int8 quantization, and the
/// transformer's validation loss against the unigram model's — the anchors are in the same run.
/// </summary>
internal static class TrainBenchmark
{
    public sealed record Mlp(
        [property: JsonPropertyName("samples_per_s_1_thread")] double SamplesPerS1t,
        [property: JsonPropertyName("samples_per_s_2_threads")] double SamplesPerS2t,
        double HeldoutAccuracy, double Int8PerChannelAccuracy,
        [property: JsonPropertyName("q8_0_accuracy")] double Q80Accuracy, double Int8AccuracyDropPoints, int Steps, int BatchSize, int HeldoutSamples);

    public sealed record Transformer(
        [property: JsonPropertyName("sequences_per_s_1_thread")] double SequencesPerS1t,
        [property: JsonPropertyName("sequences_per_s_2_threads")] double SequencesPerS2t,
        [property: JsonPropertyName("tokens_per_s_2_threads")] double TokensPerS2t, double ValidationLoss,
        double UnigramLoss, double LossRatio, int Steps, int Context, int Embed, int Layers, int Heads, int TrainChars);

    /// <summary>
    /// What publishing step roots costs a train job: train-digits (800 steps, checkpoints every 200, one thread) without
    /// them (the anchor), with a root after every step, and at the interval jobs use (<see cref="StepRoots.IntervalFor"/>);
    /// medians of five interleaved runs.
    /// </summary>
    public sealed record StepRootCost(
        [property: JsonPropertyName("seconds_without")] double SecondsWithout,
        [property: JsonPropertyName("ratio_every_step")] double RatioEveryStep,
        [property: JsonPropertyName("ratio_at_interval")] double RatioAtInterval, int Interval);

    public sealed record Result(string Scenario, Mlp Mlp, Transformer Transformer, StepRootCost StepRoots, bool Deterministic, string Width);

    public static Result Run(string datasets, Action<string>? progress)
    {
        // MLP on the digits: the train-digits example's settings.
        ClassificationData digits = Digits.Load(Path.Combine(datasets, "digits.csv.gz"));
        ModelSpec mlp = ModelSpec.Mlp();
        var mlpOptions = new TrainOptions { Steps = 800, BatchSize = 32, LearningRate = 3e-3f, Seed = 7, CheckpointEvery = 100 };
        progress?.Invoke("MLP, 1 thread…");
        (TrainResult mlp1, double mlpSeconds1) = Timed(() => Trainer.Train(mlp, digits, mlpOptions with { Compute = new ComputeOptions { Threads = 1 } }));
        progress?.Invoke("MLP, 2 threads…");
        (TrainResult mlp2, double mlpSeconds2) = Timed(() => Trainer.Train(mlp, digits, mlpOptions with { Compute = new ComputeOptions { Threads = 2 } }));
        double accuracy = mlp2.Evaluation.Accuracy!.Value;
        double perChannel = Inference.Accuracy(mlp2.Spec, WorkloadRunner.QuantizeRoundTrip(mlp2.Weights, QuantizationScheme.Int8PerChannel), digits.TestFeatures, digits.TestLabels);
        double q80 = Inference.Accuracy(mlp2.Spec, WorkloadRunner.QuantizeRoundTrip(mlp2.Weights, QuantizationScheme.Q8Blocks), digits.TestFeatures, digits.TestLabels);
        double samples = mlpOptions.Steps * (double)mlpOptions.BatchSize;
        progress?.Invoke("MLP with step roots…");
        StepRootCost stepRoots = MeasureStepRoots(mlp, digits, mlpOptions with { CheckpointEvery = 200, Compute = new ComputeOptions { Threads = 1 } });

        // Character transformer on the licence corpus: throughput at the default size, quality at a size that learns in seconds.
        CharCorpus corpus = CharCorpus.Load(Path.Combine(datasets, "licenses.txt"));
        ModelSpec big = ModelSpec.Transformer(context: 64, embed: 64, layers: 2, heads: 4);
        var speedOptions = new TrainOptions { Steps = 20, BatchSize = 8, LearningRate = 3e-3f, Seed = 1, CheckpointEvery = 0, MaxEvaluationWindows = 1 };
        progress?.Invoke("transformer throughput, 1 thread…");
        (TrainResult gpt1, double gptSeconds1) = Timed(() => Trainer.Train(big, corpus, speedOptions with { Compute = new ComputeOptions { Threads = 1 } }));
        progress?.Invoke("transformer throughput, 2 threads…");
        (TrainResult gpt2, double gptSeconds2) = Timed(() => Trainer.Train(big, corpus, speedOptions with { Compute = new ComputeOptions { Threads = 2 } }));
        ModelSpec small = ModelSpec.Transformer(context: 32, embed: 32, layers: 1, heads: 2);
        var qualityOptions = new TrainOptions { Steps = 400, BatchSize = 8, LearningRate = 5e-3f, Seed = 1, CheckpointEvery = 0 };
        progress?.Invoke("transformer quality (400 steps)…");
        TrainResult quality = Trainer.Train(small, corpus, qualityOptions with { Compute = new ComputeOptions { Threads = 2 } });
        double sequences = speedOptions.Steps * (double)speedOptions.BatchSize;

        bool deterministic = mlp1.Commitments.SequenceEqual(mlp2.Commitments) && gpt1.Commitments.SequenceEqual(gpt2.Commitments);
        return new Result(
            "train",
            new Mlp(Round(samples / mlpSeconds1), Round(samples / mlpSeconds2), accuracy, perChannel, q80, Math.Round((accuracy - perChannel) * 100, 2),
                mlpOptions.Steps, mlpOptions.BatchSize, digits.TestLabels.Length),
            new Transformer(Round(sequences / gptSeconds1, 2), Round(sequences / gptSeconds2, 2), Round(sequences * big.Context / gptSeconds2),
                Math.Round(quality.Evaluation.ValidationLoss!.Value, 4), Math.Round(quality.Evaluation.UnigramLoss!.Value, 4),
                Math.Round(quality.Evaluation.ValidationLoss!.Value / quality.Evaluation.UnigramLoss!.Value, 3),
                qualityOptions.Steps, small.Context, small.Embed, small.Layers, small.Heads, corpus.Train.Length),
            stepRoots,
            deterministic,
            SimdWidths.Best.ToString());
    }

    private static StepRootCost MeasureStepRoots(ModelSpec spec, ClassificationData digits, TrainOptions options)
    {
        int interval = StepRoots.IntervalFor(options.Steps, options.CheckpointEvery);
        var seconds = new List<double>[3];
        for (int i = 0; i < seconds.Length; i++)
        {
            seconds[i] = [];
        }

        for (int run = 0; run < 5; run++)
        {
            seconds[0].Add(Timed(() => Trainer.Train(spec, digits, options)).Seconds);
            seconds[1].Add(Timed(() => Trainer.Train(spec, digits, options, new RootCounter(1))).Seconds);
            seconds[2].Add(Timed(() => Trainer.Train(spec, digits, options, new RootCounter(interval))).Seconds);
        }

        double[] medians = [.. seconds.Select(s => s.Order().ElementAt(s.Count / 2))];
        return new StepRootCost(Math.Round(medians[0], 3), Math.Round(medians[1] / medians[0], 3), Math.Round(medians[2] / medians[0], 3), interval);
    }

    private sealed class RootCounter(int every) : IStepRootObserver
    {
        public int StepRootEvery => every;

        public int Roots { get; private set; }

        public void OnStepRoot(int step, string rootHex) => Roots++;

        public void OnStep(int step, float loss, double samplesPerSecond)
        {
        }

        public void OnCheckpoint(int step, string rootHex)
        {
        }
    }

    private static (T Value, double Seconds) Timed<T>(Func<T> run)
    {
        long start = Stopwatch.GetTimestamp();
        T value = run();
        return (value, Stopwatch.GetElapsedTime(start).TotalSeconds);
    }

    private static double Round(double value, int digits = 1) => Math.Round(value, digits);
}
