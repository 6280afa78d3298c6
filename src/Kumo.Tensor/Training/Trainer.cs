using System.Diagnostics;
using Kumo.Tensor.Autograd;
using Kumo.Tensor.Data;
using Kumo.Tensor.Models;
using Kumo.Tensor.Numerics;
using Kumo.Tensor.Ops;
using Kumo.Tensor.Optim;

namespace Kumo.Tensor.Training;

/// <summary>
/// The training loop. Everything that decides the result is a pure function of (spec, data, options minus
/// <see cref="TrainOptions.Compute"/>): initial weights from the seed (step 0), step s's batch from the generator
/// keyed (seed, s, stream 1), forward, backward and update in fixed order. So any party re-running the same steps
/// gets the same weights bit for bit and the same checkpoint commitments, on any CPU, SIMD width or thread count.
/// <list type="bullet">
/// <item>MLP: BatchSize training samples drawn uniformly with replacement; mean cross-entropy.</item>
/// <item>Transformer: BatchSize windows of context + 1 characters at uniform random offsets of the training text;
/// mean next-character cross-entropy over every position.</item>
/// </list>
/// </summary>
public static partial class Trainer
{
    private const ulong BatchStream = 1;

    public static TrainResult Train(ModelSpec spec, TrainingData data, TrainOptions options, ITrainingObserver? observer = null,
        CancellationToken cancellationToken = default) => Train(spec, data, options, start: null, observer, cancellationToken);

    /// <summary>
    /// Trains to <see cref="TrainOptions.Steps"/>, from <paramref name="start"/> (a checkpoint of this same run) when given:
    /// the steps, commitments and final state equal those of an uninterrupted run bit for bit; the loss log and the
    /// commitments cover only the steps after the start.
    /// </summary>
    public static TrainResult Train(ModelSpec spec, TrainingData data, TrainOptions options, TrainingState? start, ITrainingObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        Validate(options);
        spec = Resolve(spec, data);
        if (start is not null && start.Step >= options.Steps)
        {
            throw new ArgumentException($"the checkpoint is at step {start.Step}, not before the run's last step {options.Steps}", nameof(start));
        }

        Session session = start is null ? Open(Model.Create(spec, options.Seed), data, options) : Resume(spec, data, options, start);
        Model model = session.Model;
        IOptimizer optimizer = session.Optimizer;

        var lossLog = new List<LossPoint>(options.Steps);
        var commitments = new List<CheckpointCommitment>();
        for (int step = (start?.Step ?? 0) + 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long started = Stopwatch.GetTimestamp();
            float lossValue = session.Step(step, null);
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            lossLog.Add(new LossPoint(step, lossValue));
            observer?.OnStep(step, lossValue, options.BatchSize / Math.Max(seconds, 1e-9));
            string? stepRoot = null;
            bool checkpoint = IsCheckpoint(options, step);
            if (observer is IStepRootObserver everyStep && step % Math.Max(1, everyStep.StepRootEvery) == 0)
            {
                stepRoot = session.RootHex();
                everyStep.OnStepRoot(step, stepRoot);
                if (everyStep.KeepsStepStates && !checkpoint)
                {
                    everyStep.OnStepState(session.State(step));
                }
            }

            if (checkpoint)
            {
                string root = stepRoot ?? session.RootHex();
                commitments.Add(new CheckpointCommitment(step, root));
                observer?.OnCheckpoint(step, root);
                if (observer is ICheckpointObserver keeper)
                {
                    keeper.OnCheckpointState(session.State(step));
                }
            }
        }

        Evaluation evaluation = (model, data) switch
        {
            (MlpClassifier mlp, ClassificationData c) => new Evaluation(Inference.Accuracy(mlp, c.TestFeatures, c.TestLabels, options.Compute), null, null),
            (CharTransformer gpt, CharCorpus corpus) => new Evaluation(null,
                Inference.EvaluationLoss(gpt, corpus.Validation, options.MaxEvaluationWindows, options.Compute), UnigramLoss(corpus)),
            _ => throw new UnreachableException(),
        };

        return new TrainResult(spec, model.ExportWeights(), optimizer.State(), lossLog, evaluation, commitments,
            (data as CharCorpus)?.Vocabulary.Characters);
    }

    /// <summary>The steps a run commits at (and writes checkpoints at): every CheckpointEvery steps, and the last.</summary>
    public static IReadOnlyList<int> Schedule(TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return [.. Enumerable.Range(1, Math.Max(0, options.Steps)).Where(step => IsCheckpoint(options, step))];
    }

    private static bool IsCheckpoint(TrainOptions options, int step) =>
        (options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0) || step == options.Steps;

    /// <summary>The state before step 1: weights initialized from the seed and a fresh optimizer's state.</summary>
    public static TrainingState InitialState(ModelSpec spec, TrainingData data, TrainOptions options)
    {
        Validate(options);
        Session session = Open(Model.Create(Resolve(spec, data), options.Seed), data, options);
        return session.State(0);
    }

    /// <summary>
    /// Runs steps start.Step + 1 … start.Step + <paramref name="steps"/> from a checkpoint state. Equals the same steps
    /// of an uninterrupted <see cref="Train(ModelSpec, TrainingData, TrainOptions, ITrainingObserver?, CancellationToken)"/> bit for bit (the batch of step s depends only on the seed and s), and
    /// returns the commitment root after every <paramref name="commitEvery"/>-th step of the run and after its last one
    /// (after every step by default, so a dispute can bisect over them); an <see cref="ICheckpointObserver"/> also gets
    /// the state behind each of those roots (what a provider keeps to reveal it). Committing costs a hash of the whole
    /// state, so a party that needs only the end root (a validator) passes <c>commitEvery: steps</c>.
    /// <see cref="TrainOptions.Steps"/> and <see cref="TrainOptions.CheckpointEvery"/> are not used.
    /// </summary>
    public static SegmentResult TrainSegment(ModelSpec spec, TrainingData data, TrainOptions options, TrainingState start, int steps,
        ITrainingObserver? observer = null, int commitEvery = 1, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentOutOfRangeException.ThrowIfNegative(steps);
        ArgumentOutOfRangeException.ThrowIfLessThan(commitEvery, 1);
        Session session = Resume(spec, data, options, start);
        var hashes = new List<CheckpointCommitment>((steps / commitEvery) + 1);
        var lossLog = new List<LossPoint>(steps);
        long commitTicks = 0;
        TrainingState? keptLast = null;
        for (int step = start.Step + 1; step <= start.Step + steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long started = Stopwatch.GetTimestamp();
            float loss = session.Step(step, null);
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            lossLog.Add(new LossPoint(step, loss));
            observer?.OnStep(step, loss, options.BatchSize / Math.Max(seconds, 1e-9));

            if ((step - start.Step) % commitEvery != 0 && step != start.Step + steps)
            {
                continue;
            }

            // A state that is kept is copied once, and that copy is hashed.
            long committing = Stopwatch.GetTimestamp();
            TrainingState? kept = observer is ICheckpointObserver ? session.State(step) : null;
            string root = kept?.RootHex() ?? session.RootHex();
            commitTicks += Stopwatch.GetTimestamp() - committing;
            hashes.Add(new CheckpointCommitment(step, root));
            observer?.OnCheckpoint(step, root);
            if (observer is ICheckpointObserver keeper)
            {
                keeper.OnCheckpointState(kept!);
                keptLast = kept;
            }
        }

        // The state after the last step was just copied if it is kept; it is not changed after, so it is the end state.
        TrainingState end = keptLast is { } last && last.Step == start.Step + steps ? last : session.State(start.Step + steps);
        return new SegmentResult(end, hashes, lossLog)
        {
            CommitSeconds = (double)commitTicks / Stopwatch.Frequency,
        };
    }

    /// <summary>
    /// Runs the one step after <paramref name="before"/> recording its operator trace: every forward op, every
    /// backward step and the optimizer update, each with the hash chain a dispute bisects over. The state after is
    /// the same as <see cref="TrainSegment"/> gives for one step (tracing only reads).
    /// </summary>
    public static StepTrace TraceStep(ModelSpec spec, TrainingData data, TrainOptions options, TrainingState before)
    {
        Session session = Resume(spec, data, options, before);
        var tracer = new StepTracer(session.Model.Parameters, before.RootHex());
        session.Step(before.Step + 1, tracer);
        TrainingState after = session.State(before.Step + 1);
        tracer.OnOptimizer(options.Optimizer, after.RootHex());
        return new StepTrace(before.Step + 1, tracer.Operators, after);
    }

    /// <summary>
    /// Mean cross-entropy on the validation text of a model that predicts each character with the training text's
    /// character frequencies (add-one smoothed): the baseline a character model must beat.
    /// </summary>
    public static double UnigramLoss(CharCorpus corpus)
    {
        int v = corpus.Vocabulary.Count;
        long[] counts = new long[v];
        foreach (int t in corpus.Train)
        {
            counts[t]++;
        }

        float total = corpus.Train.Length + v;
        double sum = 0;
        foreach (int t in corpus.Validation)
        {
            sum -= DetMath.Log((counts[t] + 1) / total);
        }

        return sum / corpus.Validation.Length;
    }

    private static Tensor MlpLoss(Tape tape, MlpClassifier model, ClassificationData data, int batch, IRandomSource random)
    {
        (Tensor inputs, int[] labels) = MlpBatch(data, batch, random);
        tape.Leaf(InputsLeaf, inputs);
        tape.Leaf(LabelsLeaf, labels);
        return TensorOps.CrossEntropy(tape, model.Forward(tape, inputs), labels);
    }

    /// <summary>A step's batch of examples: features (batch × f) and their labels.</summary>
    private static (Tensor Inputs, int[] Labels) MlpBatch(ClassificationData data, int batch, IRandomSource random)
    {
        int f = data.FeatureCount, samples = data.TrainLabels.Length;
        var inputs = new Tensor([batch, f]);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int i = random.NextInt(samples);
            data.TrainFeatures.AsSpan(i * f, f).CopyTo(inputs.Data.AsSpan(b * f, f));
            labels[b] = data.TrainLabels[i];
        }

        return (inputs, labels);
    }

    private static Tensor TransformerLoss(Tape tape, CharTransformer model, int[] text, int batch, IRandomSource random)
    {
        int time = model.Spec.Context;
        (int[] inputs, int[] targets) = TransformerBatch(text, time, batch, random);
        tape.Leaf(TokensLeaf, inputs);
        tape.Leaf(TargetsLeaf, targets);
        return TensorOps.CrossEntropy(tape, model.Forward(tape, inputs, batch, time), targets);
    }

    /// <summary>A step's batch of text: <paramref name="batch"/> windows of <paramref name="time"/> tokens and the tokens that follow each.</summary>
    private static (int[] Tokens, int[] Targets) TransformerBatch(int[] text, int time, int batch, IRandomSource random)
    {
        int[] inputs = new int[batch * time], targets = new int[batch * time];
        for (int b = 0; b < batch; b++)
        {
            int offset = random.NextInt(text.Length - time);
            text.AsSpan(offset, time).CopyTo(inputs.AsSpan(b * time));
            text.AsSpan(offset + 1, time).CopyTo(targets.AsSpan(b * time));
        }

        return (inputs, targets);
    }

    private static ModelSpec Resolve(ModelSpec spec, TrainingData data)
    {
        switch (data)
        {
            case ClassificationData c when spec.Kind == ModelSpec.MlpKind:
                return spec.Inputs == c.FeatureCount && spec.Classes == c.ClassCount
                    ? spec
                    : throw new ArgumentException($"the MLP takes {spec.Inputs} inputs to {spec.Classes} classes, the data has {c.FeatureCount} features and {c.ClassCount} classes", nameof(spec));
            case CharCorpus corpus when spec.Kind == ModelSpec.TransformerKind:
                if (spec.Vocabulary != 0 && spec.Vocabulary != corpus.Vocabulary.Count)
                {
                    throw new ArgumentException($"the model's vocabulary is {spec.Vocabulary} characters, the corpus has {corpus.Vocabulary.Count}", nameof(spec));
                }

                if (corpus.Train.Length <= spec.Context || corpus.Validation.Length <= spec.Context)
                {
                    throw new ArgumentException($"the corpus is too short for a context of {spec.Context}", nameof(data));
                }

                return spec with { Vocabulary = corpus.Vocabulary.Count };
            default:
                throw new ArgumentException($"a '{spec.Kind}' model cannot train on {data.GetType().Name}", nameof(data));
        }
    }

    private static Session Resume(ModelSpec spec, TrainingData data, TrainOptions options, TrainingState start)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentOutOfRangeException.ThrowIfNegative(start.Step);
        Validate(options);
        Session session = Open(Model.FromWeights(Resolve(spec, data), start.Weights), data, options);
        switch (session.Optimizer)
        {
            case AdamW adamW:
                adamW.LoadState(start.OptimizerState);
                break;
            case Sgd sgd:
                sgd.LoadState(start.OptimizerState);
                break;
            default:
                throw new UnreachableException();
        }

        return session;
    }

    private static Session Open(Model model, TrainingData data, TrainOptions options)
    {
        Func<Tape, IRandomSource, Tensor> batchLoss = (model, data) switch
        {
            (MlpClassifier mlp, ClassificationData c) => (tape, random) => MlpLoss(tape, mlp, c, options.BatchSize, random),
            (CharTransformer gpt, CharCorpus corpus) => (tape, random) => TransformerLoss(tape, gpt, corpus.Train, options.BatchSize, random),
            _ => throw new ArgumentException($"a '{model.Spec.Kind}' model cannot train on {data.GetType().Name}", nameof(data)),
        };
        IOptimizer optimizer = options.Optimizer switch
        {
            TrainOptions.AdamWOptimizer => new AdamW(options.LearningRate, options.WeightDecay),
            TrainOptions.SgdOptimizer => new Sgd(options.LearningRate, options.Momentum, options.WeightDecay),
            _ => throw new ArgumentException($"unknown optimizer '{options.Optimizer}' (adamw or sgd)", nameof(options)),
        };
        return new Session(model, optimizer, batchLoss, options);
    }

    /// <summary>A model, its optimizer and its batch loss: one step is forward, backward, update in fixed order.</summary>
    private sealed record Session(Model Model, IOptimizer Optimizer, Func<Tape, IRandomSource, Tensor> BatchLoss, TrainOptions Options)
    {
        public float Step(int step, ITapeTracer? tracer)
        {
            var tape = new Tape(Options.Compute) { Tracer = tracer };
            Model.ZeroGrad();
            Tensor loss = BatchLoss(tape, Rng.For(Options.Seed, (ulong)step, BatchStream));
            tape.Backward(loss);
            Optimizer.Step(Model.Parameters);
            return loss.Item;
        }

        /// <summary>The root of the live state, hashed where it lies (no copy).</summary>
        public string RootHex() => WeightCommitment.RootHex([.. Model.WeightViews(), .. Optimizer.StateView()]);

        public TrainingState State(int step) => new(step, Model.ExportWeights(), Optimizer.State());
    }

    private static void Validate(TrainOptions options)
    {
        if (options.Steps < 1 || options.BatchSize < 1 || options.CheckpointEvery < 0 || options.MaxEvaluationWindows < 1
            || !(options.LearningRate > 0) || options.WeightDecay < 0 || options.Momentum < 0 || options.Compute.Threads < 1)
        {
            throw new ArgumentException($"invalid training options: {options}", nameof(options));
        }
    }
}
