using Kumo.Tensor.Compute;
using Kumo.Tensor.Models;

namespace Kumo.Tensor.Training;

/// <summary>
/// How to train. Everything that affects the resulting weights is here or in the <see cref="ModelSpec"/> and the
/// data set — except <see cref="Compute"/>, which by design affects only speed.
/// </summary>
public sealed record TrainOptions
{
    public const string AdamWOptimizer = "adamw";
    public const string SgdOptimizer = "sgd";

    public int Steps { get; init; } = 100;

    /// <summary>Samples per step (sequences of the model's context length, for the transformer).</summary>
    public int BatchSize { get; init; } = 32;

    public float LearningRate { get; init; } = 1e-3f;

    /// <summary>"adamw" or "sgd".</summary>
    public string Optimizer { get; init; } = AdamWOptimizer;

    /// <summary>SGD momentum (ignored by AdamW).</summary>
    public float Momentum { get; init; } = 0.9f;

    /// <summary>Weight decay on matrices: decoupled for AdamW, L2 for SGD.</summary>
    public float WeightDecay { get; init; } = 0.01f;

    /// <summary>Keys initialization (step 0) and each step's data order (step s).</summary>
    public ulong Seed { get; init; }

    /// <summary>Commit to weights and optimizer state every this many steps (and after the last step); 0 = after the last step only.</summary>
    public int CheckpointEvery { get; init; } = 10;

    /// <summary>Transformer evaluation: at most this many validation windows (of the context length).</summary>
    public int MaxEvaluationWindows { get; init; } = 64;

    public ComputeOptions Compute { get; init; } = ComputeOptions.Default;
}

/// <summary>Progress of a training run, for logs and job status.</summary>
public interface ITrainingObserver
{
    /// <summary>After each step: its (1-based) number, its batch loss and the step's throughput.</summary>
    void OnStep(int step, float loss, double samplesPerSecond);

    /// <summary>After each checkpoint commitment.</summary>
    void OnCheckpoint(int step, string rootHex);
}

/// <summary>
/// An observer that also keeps the full state at each checkpoint (weights and optimizer state), e.g. to publish it so
/// validators can re-run any segment from it.
/// </summary>
public interface ICheckpointObserver : ITrainingObserver
{
    /// <summary>After each checkpoint commitment: the state it commits to.</summary>
    void OnCheckpointState(TrainingState state);
}

/// <summary>
/// A training observer that also wants the commitment root after every <see cref="StepRootEvery"/>-th step (the trainer
/// then hashes the state at those steps): what a provider publishes so that a segment can be checked up to any of them.
/// </summary>
public interface IStepRootObserver : ITrainingObserver
{
    /// <summary>Steps between roots: a root after each step whose number is a multiple of it (1: every step).</summary>
    int StepRootEvery => 1;

    /// <summary>After each such step: the <see cref="WeightCommitment"/> root of the weights and optimizer state.</summary>
    void OnStepRoot(int step, string rootHex);

    /// <summary>
    /// Whether it also wants the state behind each such root that is not a checkpoint's (<see cref="OnStepState"/>): a
    /// provider keeps them, to reveal the one a spot check of a single commit interval starts from.
    /// </summary>
    bool KeepsStepStates => false;

    /// <summary>When <see cref="KeepsStepStates"/>: a copy of the state after a rooted step that is not a checkpoint.</summary>
    void OnStepState(TrainingState state)
    {
    }
}

/// <summary>One step's mean batch loss.</summary>
public sealed record LossPoint(int Step, float Loss);

/// <summary>A checkpoint commitment: the <see cref="WeightCommitment"/> root after <paramref name="Step"/> steps.</summary>
public sealed record CheckpointCommitment(int Step, string RootHex);

/// <summary>
/// Held-out quality: <see cref="Accuracy"/> for a classifier; <see cref="ValidationLoss"/> (mean cross-entropy,
/// nats per character) and, as the bar to beat, <see cref="UnigramLoss"/> (the loss of predicting the training
/// text's character frequencies, add-one smoothed) for a character model.
/// </summary>
public sealed record Evaluation(double? Accuracy, double? ValidationLoss, double? UnigramLoss);

/// <summary>
/// What a training run produces: the spec actually trained (vocabulary filled in), final weights and optimizer
/// state, the loss per step, held-out evaluation, checkpoint commitments, and — for a character model — the
/// vocabulary string inference needs.
/// </summary>
public sealed record TrainResult(
    ModelSpec Spec,
    IReadOnlyList<NamedTensor> Weights,
    IReadOnlyList<NamedTensor> OptimizerState,
    IReadOnlyList<LossPoint> LossLog,
    Evaluation Evaluation,
    IReadOnlyList<CheckpointCommitment> Commitments,
    string? Vocabulary);
