using System.Diagnostics;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;

namespace Kumo.Cli.Bench;

/// <summary>
/// `kumo bench referee`: what a dispute's last move costs the referee. The anchor is one traced training step (what a
/// referee that re-runs the disputed step spends); against it, the referee's recomputation of each operator of that
/// step alone from an honest opening (<see cref="Trainer.ReplayOperator"/>: authenticating the inputs, deriving the
/// batch, running the one operator, hashing its result). Each replay is also checked to give the traced hash. Medians of
/// interleaved runs, one thread; the digits MLP of train-digits and the character transformer of `kumo bench train`.
/// </summary>
internal static class RefereeBenchmark
{
    public sealed record Operator(int Index, string Kind, double Ratio, long OpeningBytes);

    public sealed record Model(
        string Name, int Operators, double StepSeconds, double MeanRatio, double MaxRatio, string MaxKind, double ForwardBackwardMaxRatio,
        long StateBytes, long LargestOpeningBytes, IReadOnlyList<Operator> Each);

    public sealed record Result(string Scenario, Model Mlp, Model Transformer, bool Exact);

    public static Result Run(string datasets, int repeats, Action<string>? progress)
    {
        ClassificationData digits = Digits.Load(Path.Combine(datasets, "digits.csv.gz"));
        var mlpOptions = new TrainOptions { Steps = 800, BatchSize = 32, LearningRate = 3e-3f, Seed = 7, CheckpointEvery = 100, Compute = new ComputeOptions { Threads = 1 } };
        progress?.Invoke("MLP 64-128-10, batch 32…");
        (Model mlp, bool mlpExact) = Measure("mlp 64-128-10, batch 32", ModelSpec.Mlp(), digits, mlpOptions, repeats);

        CharCorpus corpus = CharCorpus.Load(Path.Combine(datasets, "licenses.txt"));
        var gptOptions = new TrainOptions { Steps = 20, BatchSize = 8, LearningRate = 3e-3f, Seed = 1, CheckpointEvery = 0, Compute = new ComputeOptions { Threads = 1 } };
        progress?.Invoke("transformer 2×64, context 64, batch 8…");
        (Model gpt, bool gptExact) = Measure("transformer 2x64 ctx 64, batch 8", ModelSpec.Transformer(context: 64, embed: 64, layers: 2, heads: 4), corpus, gptOptions,
            Math.Max(3, repeats / 4));
        return new Result("referee", mlp, gpt, mlpExact && gptExact);
    }

    private static (Model, bool Exact) Measure(string name, ModelSpec spec, TrainingData data, TrainOptions options, int repeats)
    {
        TrainingState before = Trainer.TrainSegment(spec, data, options, Trainer.InitialState(spec, data, options), 3).End;
        string root = before.RootHex();
        StepTrace trace = Trainer.TraceStep(spec, data, options, before);
        OperatorWiring wiring = Trainer.Wiring(spec, data, options);
        OperatorOpening[] openings = [.. Enumerable.Range(0, wiring.Count).Select(i => Trainer.OpenOperator(spec, data, options, before, i))];
        bool exact = true;

        var stepTimes = new List<double>();
        var opTimes = new List<double>[wiring.Count];
        for (int i = 0; i < wiring.Count; i++)
        {
            opTimes[i] = [];
        }

        for (int r = 0; r < repeats; r++)
        {
            stepTimes.Add(Seconds(() => Trainer.TraceStep(spec, data, options, before)));
            for (int i = 0; i < wiring.Count; i++)
            {
                OperatorReplay? replay = null;
                opTimes[i].Add(Seconds(() => replay = Trainer.ReplayOperator(spec, data, options, wiring, root, trace.Operators[i].InputHash, openings[i])));
                exact &= replay!.OutputHash == trace.Operators[i].OutputHash;
            }
        }

        double step = Median(stepTimes);
        Operator[] each = [.. Enumerable.Range(0, wiring.Count).Select(i =>
            new Operator(i, wiring.KindOf(i), Math.Round(Median(opTimes[i]) / step, 4), OpeningFile.Write(openings[i]).LongLength))];
        Operator max = each.MaxBy(o => o.Ratio)!;
        long stateBytes = before.Weights.Concat(before.OptimizerState).Sum(t => 4L * t.Data.Length);
        return (new Model(name, wiring.Count, Math.Round(step, 6), Math.Round(each.Average(o => o.Ratio), 4), max.Ratio, max.Kind,
            each.Where(o => o.Index < wiring.OptimizerIndex).Max(o => o.Ratio), stateBytes, each.Max(o => o.OpeningBytes), each), exact);
    }

    private static double Seconds(Action run)
    {
        long start = Stopwatch.GetTimestamp();
        run();
        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    private static double Median(List<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
