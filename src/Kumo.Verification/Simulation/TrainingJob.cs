using System.Buffers.Binary;
using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Simulation;

/// <summary>
/// A training job cut into segments of <see cref="StepsPerSegment"/> steps, each ending in a checkpoint commitment
/// that chains to the one before it. <see cref="GenesisRoot"/> is the commitment every party starts segment 0 from.
/// </summary>
public sealed record TrainingJob(string Id, ModelSpec Spec, ClassificationData Data, int Segments, int StepsPerSegment,
    int BatchSize, float LearningRate, ulong Seed)
{
    public int TotalSteps => Segments * StepsPerSegment;

    public string GenesisRoot => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"kumo-sim/genesis/{Id}/{Seed}")));
}

/// <summary>The commitments after each step of a (prefix of a) segment: <c>StepRoots[i]</c> is the root after step i + 1.</summary>
public sealed record SegmentRun(IReadOnlyList<string> StepRoots, double Seconds)
{
    public string EndRoot => StepRoots[^1];
}

/// <summary>
/// The work of one segment, really done: <see cref="Trainer.Train"/> on the job's MLP and data for the segment's
/// steps, one thread, with per-step commitments when asked.
/// <para>
/// This branch's trainer cannot resume from a checkpoint, so a segment does not continue the previous segment's
/// weights: its run is seeded by (job seed, segment, start commitment), and each step's commitment is
/// SHA-256(start commitment ‖ the trainer's weight-and-optimizer root). That keeps what verification depends on —
/// a segment costs its steps, is a pure function of its start commitment, and anyone can re-execute exactly it and
/// nothing else — and drops what it does not (the model improving across segments). With resumable training the
/// seed becomes the job's and the start becomes the checkpoint the start commitment names.
/// </para>
/// </summary>
public static class SegmentWork
{
    private static readonly ComputeOptions OneThread = new() { Threads = 1 };

    /// <summary>Runs the first <paramref name="steps"/> steps (all of them by default) of the segment from <paramref name="startRoot"/>.</summary>
    public static SegmentRun Run(TrainingJob job, int segment, string startRoot, int? steps = null, bool perStep = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        int n = steps ?? job.StepsPerSegment;
        if (n < 1 || n > job.StepsPerSegment || (uint)segment >= (uint)job.Segments)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), $"segment {segment} step {n} is outside job {job.Id}");
        }

        long started = Stopwatch.GetTimestamp();
        var options = new TrainOptions
        {
            Steps = n,
            BatchSize = job.BatchSize,
            LearningRate = job.LearningRate,
            Seed = SegmentSeed(job, segment, startRoot),
            CheckpointEvery = perStep ? 1 : 0,
            Compute = OneThread,
        };
        TrainResult result = Trainer.Train(job.Spec, job.Data, options);
        string[] roots = [.. result.Commitments.Select(c => Chain(startRoot, c.RootHex))];
        return new SegmentRun(roots, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    private static ulong SegmentSeed(TrainingJob job, int segment, string startRoot)
    {
        byte[] bytes = Encoding.UTF8.GetBytes($"{job.Seed}/{segment}/{startRoot}");
        return BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(bytes));
    }

    private static string Chain(string startRoot, string trainedRoot) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(startRoot + trainedRoot)));
}
