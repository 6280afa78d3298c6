using Kumo.Tensor.Data;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Tests.Learning;

/// <summary>A small real MLP job on the digits data (scripts/datasets.sh fetches it), shared by the learning and dispute tests.</summary>
internal static class DigitsRun
{
    private static readonly Lazy<ClassificationData> Data = new(() => Digits.Load(Find()));

    public static ClassificationData Digits64 => Data.Value;

    public static ModelSpec Spec { get; } = new() { Kind = ModelSpec.MlpKind, Inputs = 64, Hidden = 32, Classes = 10 };

    public static TrainOptions Options(int steps, string optimizer = TrainOptions.AdamWOptimizer) =>
        new() { Steps = steps, BatchSize = 16, LearningRate = 0.003f, Seed = 11, CheckpointEvery = 10, Optimizer = optimizer };

    private static string Find()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, ".kumo", "datasets", "digits.csv.gz");
            if (File.Exists(path))
            {
                return path;
            }

            if (File.Exists(Path.Combine(dir.FullName, "Kumo.slnx")))
            {
                throw new InvalidOperationException($"{path} is missing: run scripts/datasets.sh");
            }
        }

        throw new InvalidOperationException("repository root not found");
    }
}
