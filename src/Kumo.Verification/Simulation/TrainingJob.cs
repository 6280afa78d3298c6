using System.Collections.Concurrent;
using System.Diagnostics;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Simulation;

/// <summary>
/// A training job cut into segments of <see cref="StepsPerSegment"/> steps, each ending in a checkpoint commitment
/// (the root of the weights and optimizer state after it). <see cref="GenesisRoot"/> is the commitment every party starts segment 0 from.
/// </summary>
public sealed record TrainingJob(string Id, ModelSpec Spec, ClassificationData Data, int Segments, int StepsPerSegment,
    int BatchSize, float LearningRate, ulong Seed)
{
    public int TotalSteps => Segments * StepsPerSegment;

    /// <summary>The root of the freshly initialized state (weights from the seed, empty optimizer state).</summary>
    public string GenesisRoot => SegmentWork.Genesis(this);
}

/// <summary>The commitments after each step of a (prefix of a) segment: <c>StepRoots[i]</c> is the root after step i + 1.</summary>
public sealed record SegmentRun(IReadOnlyList<string> StepRoots, double Seconds)
{
    public string EndRoot => StepRoots[^1];
}

/// <summary>
/// The work of one segment, really done: <see cref="Trainer.TrainSegment"/> on the job's MLP and data, resumed from the
/// state the start commitment names (weights and optimizer state; one thread), with per-step commitments. Every state a
/// party commits to is kept by its root, as a provider keeps its checkpoints to reveal them: a validator re-executes a
/// segment from the revealed start state, and the model really improves from segment to segment.
/// </summary>
public static class SegmentWork
{
    private static readonly ComputeOptions OneThread = new() { Threads = 1 };
    private static readonly ConcurrentDictionary<string, ConcurrentDictionary<string, TrainingState>> States = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string> GenesisRoots = new(StringComparer.Ordinal);

    /// <summary>The root of the job's initial state (registered on first use).</summary>
    public static string Genesis(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return GenesisRoots.GetOrAdd(Key(job), _ =>
        {
            TrainingState initial = Trainer.InitialState(job.Spec, job.Data, Options(job));
            string root = initial.RootHex();
            States.GetOrAdd(Key(job), _ => new(StringComparer.Ordinal)).TryAdd(root, initial);
            return root;
        });
    }

    /// <summary>
    /// A segment of states of random weights after <paramref name="startRoot"/>, one per step, each committed and kept
    /// like any other: what a provider that "returns random weights" publishes (and could reveal). The roots in step order.
    /// </summary>
    public static IReadOnlyList<string> RandomSteps(TrainingJob job, string startRoot, Kumo.Tensor.Randomness.Philox random)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(random);
        TrainingState start = StateOf(job, startRoot) ?? StateOf(job, Genesis(job))!;
        var roots = new string[job.StepsPerSegment];
        for (int s = 0; s < roots.Length; s++)
        {
            var weights = start.Weights.Select(w =>
            {
                float[] data = new float[w.Data.Length];
                for (int i = 0; i < data.Length; i++)
                {
                    data[i] = random.NextFloat() - 0.5f;
                }

                return w with { Data = data };
            }).ToList();
            var state = new TrainingState(start.Step + s + 1, weights, start.OptimizerState);
            roots[s] = state.RootHex();
            States[Key(job)].TryAdd(roots[s], state);
        }

        return roots;
    }

    /// <summary>
    /// Runs the first <paramref name="steps"/> steps (all of them by default) of the segment from <paramref name="startRoot"/>.
    /// With <paramref name="perStep"/> the run reports the root after every step; with <paramref name="keepStates"/> it
    /// also keeps the state after every step (a provider keeps them until its segment's spot check has been drawn).
    /// </summary>
    /// <exception cref="InvalidOperationException">No party ever committed to <paramref name="startRoot"/> (nothing to reveal).</exception>
    public static SegmentRun Run(TrainingJob job, int segment, string startRoot, int? steps = null, bool perStep = false, bool keepStates = false)
    {
        ArgumentNullException.ThrowIfNull(job);
        int n = steps ?? job.StepsPerSegment;
        if (n < 1 || n > job.StepsPerSegment || (uint)segment >= (uint)job.Segments)
        {
            throw new ArgumentOutOfRangeException(nameof(steps), $"segment {segment} step {n} is outside job {job.Id}");
        }

        TrainingState start = StateOf(job, startRoot) ?? throw new InvalidOperationException($"no state was committed under {startRoot} in job {job.Id}");
        ConcurrentDictionary<string, TrainingState> kept = States[Key(job)];
        long started = Stopwatch.GetTimestamp();
        SegmentResult result = Trainer.TrainSegment(job.Spec, job.Data, Options(job), start, n, keepStates ? new Keeper(kept) : null);
        kept.TryAdd(result.End.RootHex(), result.End);
        string[] roots = perStep || keepStates ? [.. result.StepHashes.Select(h => h.RootHex)] : [.. Enumerable.Repeat("", n - 1), result.End.RootHex()];
        return new SegmentRun(roots, Stopwatch.GetElapsedTime(started).TotalSeconds);
    }

    /// <summary>
    /// Seconds to hash the kept state under <paramref name="root"/> once: what committing to one step costs the provider
    /// (the trainer hashes its state after every step so that any step can be checked).
    /// </summary>
    public static double CommitSeconds(TrainingJob job, string root)
    {
        TrainingState state = StateOf(job, root) ?? throw new InvalidOperationException($"no state was committed under {root} in job {job.Id}");
        long started = Stopwatch.GetTimestamp();
        _ = state.RootHex();
        return Stopwatch.GetElapsedTime(started).TotalSeconds;
    }

    /// <summary>Whether some party committed to <paramref name="root"/> and kept the state (so it can be revealed).</summary>
    public static bool CanReveal(TrainingJob job, string root) => StateOf(job, root) is not null;

    /// <summary>Drops every state kept for the job (the end of a trial).</summary>
    public static void Forget(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        States.TryRemove(Key(job), out _);
        GenesisRoots.TryRemove(Key(job), out _);
    }

    private static TrainingState? StateOf(TrainingJob job, string root) =>
        States.GetOrAdd(Key(job), _ => new(StringComparer.Ordinal)).GetValueOrDefault(root);

    private static TrainOptions Options(TrainingJob job) => new()
    {
        Steps = job.TotalSteps,
        BatchSize = job.BatchSize,
        LearningRate = job.LearningRate,
        Seed = job.Seed,
        CheckpointEvery = job.StepsPerSegment,
        Compute = OneThread,
    };

    /// <summary>Keeps each step's state under the root the trainer just committed (no second hash).</summary>
    private sealed class Keeper(ConcurrentDictionary<string, TrainingState> kept) : ICheckpointObserver
    {
        private string _root = "";

        public void OnStep(int step, float loss, double samplesPerSecond)
        {
        }

        public void OnCheckpoint(int step, string rootHex) => _root = rootHex;

        public void OnCheckpointState(TrainingState state) => kept.TryAdd(_root, state);
    }

    private static string Key(TrainingJob job) => $"{job.Id}/{job.Seed}/{job.Segments}x{job.StepsPerSegment}";
}
