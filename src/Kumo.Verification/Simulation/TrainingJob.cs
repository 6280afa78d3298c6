using System.Collections.Concurrent;
using System.Diagnostics;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Verification.Disputes;

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

/// <summary>
/// The commitments a run of (a prefix of) a segment made: <c>StepRoots[i]</c> is the root after step (i + 1) · c of
/// the run, c its commit interval, and the last one the root after its last step. <paramref name="Seconds"/> is the
/// whole run; <paramref name="CommitSeconds"/> the part of it spent committing (and keeping) those states.
/// </summary>
public sealed record SegmentRun(IReadOnlyList<string> StepRoots, double Seconds, double CommitSeconds)
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
    private static readonly ConcurrentDictionary<string, TrainingReplayer> Replayers = new(StringComparer.Ordinal);

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
    /// A segment of states of random weights after <paramref name="startRoot"/>, one per commit interval of
    /// <paramref name="commitEvery"/> steps, each committed and kept like any other: what a provider that "returns random
    /// weights" publishes (and could reveal). The roots in step order.
    /// </summary>
    public static IReadOnlyList<string> RandomSteps(TrainingJob job, string startRoot, Kumo.Tensor.Randomness.Philox random, int commitEvery = 1)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(random);
        CheckInterval(job, commitEvery);
        TrainingState start = StateOf(job, startRoot) ?? StateOf(job, Genesis(job))!;
        var roots = new string[job.StepsPerSegment / commitEvery];
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
            var state = new TrainingState(start.Step + ((s + 1) * commitEvery), weights, start.OptimizerState);
            roots[s] = state.RootHex();
            States[Key(job)].TryAdd(roots[s], state);
        }

        return roots;
    }

    /// <summary>
    /// Runs the first <paramref name="steps"/> steps (all of them by default) of the segment from <paramref name="startRoot"/>,
    /// committing to the state after every <paramref name="commitEvery"/>-th step and after the last (by default after
    /// the last only). With <paramref name="keepStates"/> it also keeps the states it committed to (a provider keeps
    /// them until its segment's spot check has been drawn).
    /// </summary>
    /// <exception cref="InvalidOperationException">No party ever committed to <paramref name="startRoot"/> (nothing to reveal).</exception>
    public static SegmentRun Run(TrainingJob job, int segment, string startRoot, int? steps = null, int? commitEvery = null, bool keepStates = false)
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
        SegmentResult result = Trainer.TrainSegment(job.Spec, job.Data, Options(job), start, n, keepStates ? new Keeper(kept) : null,
            commitEvery: Math.Min(commitEvery ?? n, n));
        kept.TryAdd(result.EndRoot, result.End);
        return new SegmentRun([.. result.StepHashes.Select(h => h.RootHex)], Stopwatch.GetElapsedTime(started).TotalSeconds, result.CommitSeconds);
    }

    /// <summary>
    /// What committing to the state after a step costs, as a fraction of the step itself, measured on this machine: one
    /// segment of <paramref name="job"/> from its start, committing to and keeping the state after every step as a
    /// provider does, in the median of five runs. Pass a job of its own: its states are forgotten afterwards.
    /// </summary>
    public static double CommitCost(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        var costs = new List<double>();
        for (int i = 0; i < 5; i++)
        {
            SegmentRun run = Run(job, 0, Genesis(job), commitEvery: 1, keepStates: true);
            costs.Add(run.CommitSeconds / Math.Max(1e-9, run.Seconds - run.CommitSeconds));
        }

        Forget(job);
        costs.Sort();
        return costs[costs.Count / 2];
    }

    /// <summary>
    /// The commit interval c (a divisor of the segment's k steps) that costs a provider's segment the least
    /// verification: committing after every c-th step costs <paramref name="commitCost"/> ÷ c of the training, and a
    /// spot check, drawn with probability <paramref name="q"/>, re-executes c of the k steps — so c minimizes
    /// <paramref name="commitCost"/>/c + q·c/k. Where a step is large next to the state (real models), that is c = 1, one
    /// step per check; where hashing the state costs about as much as a step (a tiny MLP), it is the whole segment.
    /// </summary>
    public static int ChooseCommitInterval(double commitCost, double q, int stepsPerSegment)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(commitCost);
        ArgumentOutOfRangeException.ThrowIfLessThan(stepsPerSegment, 1);
        int best = stepsPerSegment;
        double bestCost = double.MaxValue;
        for (int c = 1; c <= stepsPerSegment; c++)
        {
            double cost = (commitCost / c) + (q * c / stepsPerSegment);
            if (stepsPerSegment % c == 0 && cost < bestCost)
            {
                (best, bestCost) = (c, cost);
            }
        }

        return best;
    }

    /// <exception cref="ArgumentOutOfRangeException"><paramref name="commitEvery"/> does not divide the job's segments.</exception>
    public static void CheckInterval(TrainingJob job, int commitEvery)
    {
        ArgumentNullException.ThrowIfNull(job);
        if (commitEvery < 1 || job.StepsPerSegment % commitEvery != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(commitEvery), $"a commit interval of {commitEvery} steps does not divide segments of {job.StepsPerSegment}");
        }
    }

    /// <summary>Whether some party committed to <paramref name="root"/> and kept the state (so it can be revealed).</summary>
    public static bool CanReveal(TrainingJob job, string root) => StateOf(job, root) is not null;

    /// <summary>The state some party committed to under <paramref name="root"/> and kept, or null (it cannot be revealed).</summary>
    public static TrainingState? State(TrainingJob job, string root)
    {
        ArgumentNullException.ThrowIfNull(job);
        return StateOf(job, root);
    }

    /// <summary>
    /// The job's training step as the dispute game sees it (<see cref="TrainingReplayer"/>): traced operator by operator,
    /// opened one operator at a time, and replayed one operator at a time by the referee. One per job, so the step's
    /// wiring is derived once.
    /// </summary>
    public static TrainingReplayer Replayer(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        return Replayers.GetOrAdd(Key(job), _ => new TrainingReplayer(job.Spec, job.Data, Options(job)));
    }

    /// <summary>Drops every state kept for the job (the end of a trial).</summary>
    public static void Forget(TrainingJob job)
    {
        ArgumentNullException.ThrowIfNull(job);
        States.TryRemove(Key(job), out _);
        GenesisRoots.TryRemove(Key(job), out _);
        Replayers.TryRemove(Key(job), out _);
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
