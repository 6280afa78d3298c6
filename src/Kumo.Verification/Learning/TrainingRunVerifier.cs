using Kumo.Tensor.Data;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Learning;

/// <summary>
/// Checks a finished training run from what its provider published: the list of checkpoint commitments and the
/// checkpoint states. Each sampled segment is re-executed from the state at its start — which must itself hash to the
/// committed root — and its end root compared bit for bit with the commitment. The first failure is the verdict:
/// a missing or mismatching checkpoint, a schedule that is not the job's, or a segment whose recomputation differs.
/// </summary>
public static class TrainingRunVerifier
{
    /// <summary>What was re-executed, and the first segment that failed (null: every sampled segment agrees).</summary>
    public sealed record Result(IReadOnlyList<int> Checked, int Segments, int? FailedSegment, string? Reason, int StepsExecuted)
    {
        public bool Agrees => FailedSegment is null;
    }

    /// <summary>Re-executes <paramref name="sample"/> (segment indices) of the run.</summary>
    /// <param name="checkpointAt">The provider's published state after a step, or null when it did not publish one.</param>
    public static Result Verify(ModelSpec spec, TrainingData data, TrainOptions options, IReadOnlyList<CheckpointCommitment> commitments,
        Func<int, TrainingState?> checkpointAt, IReadOnlyList<int> sample, CancellationToken cancellationToken = default)
    {
        if (Schedule(options) is var expected && !expected.SequenceEqual(commitments.Select(c => c.Step)))
        {
            return new Result([], commitments.Count, 0,
                $"the commitments are for steps {string.Join(", ", commitments.Select(c => c.Step).Take(8))}…, not the job's schedule {string.Join(", ", expected.Take(8))}…", 0);
        }

        var checkedSegments = new List<int>();
        int executed = 0;
        foreach (int segment in sample.Where(i => i >= 0 && i < commitments.Count).Distinct().Order())
        {
            cancellationToken.ThrowIfCancellationRequested();
            checkedSegments.Add(segment);
            int from = segment == 0 ? 0 : commitments[segment - 1].Step;
            TrainingState? start = segment == 0 ? Trainer.InitialState(spec, data, options) : checkpointAt(from);
            if (start is null)
            {
                return new Result(checkedSegments, commitments.Count, segment, $"segment {segment}: no checkpoint was published for step {from}", executed);
            }

            if (segment > 0 && (start.Step != from || start.RootHex() != commitments[segment - 1].RootHex))
            {
                return new Result(checkedSegments, commitments.Count, segment,
                    $"segment {segment}: the checkpoint published for step {from} does not hash to the committed root {commitments[segment - 1].RootHex}", executed);
            }

            int steps = commitments[segment].Step - from;
            string end = Trainer.TrainSegment(spec, data, options, start, steps, commitEvery: Math.Max(1, steps), cancellationToken: cancellationToken).EndRoot;
            executed += steps;
            if (end != commitments[segment].RootHex)
            {
                return new Result(checkedSegments, commitments.Count, segment,
                    $"segment {segment} (steps {from + 1}–{commitments[segment].Step}): re-executed it ends at {end}, the provider committed {commitments[segment].RootHex}", executed);
            }
        }

        return new Result(checkedSegments, commitments.Count, null, null, executed);
    }

    /// <summary>The steps a run commits at: every CheckpointEvery steps, and the last (<see cref="Trainer.Schedule"/>).</summary>
    public static IReadOnlyList<int> Schedule(TrainOptions options) => Trainer.Schedule(options);
}
