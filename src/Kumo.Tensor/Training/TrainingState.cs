using Kumo.Tensor.Models;

namespace Kumo.Tensor.Training;

/// <summary>
/// Everything training carries from one step to the next: the weights and the optimizer's state after
/// <paramref name="Step"/> steps (0 = freshly initialized). The batch of any step comes from the job's seed and the
/// step number alone, so this plus (spec, data, options) determines every later step — which is what lets a validator
/// re-run a segment from a revealed checkpoint and a referee re-run one step of a disputed one.
/// </summary>
public sealed record TrainingState(int Step, IReadOnlyList<NamedTensor> Weights, IReadOnlyList<NamedTensor> OptimizerState)
{
    /// <summary>The checkpoint commitment of this state: <see cref="WeightCommitment.RootHex"/> over weights and optimizer state.</summary>
    public string RootHex() => WeightCommitment.RootHex([.. Weights, .. OptimizerState]);
}

/// <summary>
/// The result of <see cref="Trainer.TrainSegment"/>: the state after the segment, the commitment roots it made (after
/// every step by default: what a dispute bisects over), and each step's loss.
/// </summary>
public sealed record SegmentResult(TrainingState End, IReadOnlyList<CheckpointCommitment> StepHashes, IReadOnlyList<LossPoint> LossLog)
{
    /// <summary>The root of <see cref="End"/> (already committed after the last step, so not hashed again).</summary>
    public string EndRoot => StepHashes.Count > 0 ? StepHashes[^1].RootHex : End.RootHex();

    /// <summary>
    /// Seconds of the run spent committing: hashing the state (and, for an <see cref="ICheckpointObserver"/>, copying it
    /// to keep). Verification's cost, not the training's.
    /// </summary>
    public double CommitSeconds { get; init; }
}

/// <summary>
/// One operator of a traced training step: its position in execution order, what it is ("forward MatMul",
/// "backward Relu", "optimizer adamw"), and the hash chain around it. <paramref name="InputHash"/> is the previous
/// operator's output hash (for the first operator, the root of the state before the step); <paramref name="OutputHash"/>
/// binds the input hash to this operator's result; the last operator's output hash is the root of the state after
/// the step. Two parties that agree on an operator's input hash agree on everything the step computed before it.
/// </summary>
public sealed record OperatorRecord(int Index, string Kind, string InputHash, string OutputHash);

/// <summary>A training step executed with its operator trace (<see cref="Trainer.TraceStep"/>).</summary>
public sealed record StepTrace(int Step, IReadOnlyList<OperatorRecord> Operators, TrainingState After);
