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
public static class Trainer
{
    private const ulong BatchStream = 1;

    public static TrainResult Train(ModelSpec spec, TrainingData data, TrainOptions options, ITrainingObserver? observer = null,
        CancellationToken cancellationToken = default)
    {
        Validate(options);
        spec = Resolve(spec, data);
        Model model = Model.Create(spec, options.Seed);
        Func<Tape, IRandomSource, Tensor> batchLoss = (model, data) switch
        {
            (MlpClassifier mlp, ClassificationData c) => (tape, random) => MlpLoss(tape, mlp, c, options.BatchSize, random),
            (CharTransformer gpt, CharCorpus corpus) => (tape, random) => TransformerLoss(tape, gpt, corpus.Train, options.BatchSize, random),
            _ => throw new ArgumentException($"a '{spec.Kind}' model cannot train on {data.GetType().Name}", nameof(data)),
        };
        IOptimizer optimizer = options.Optimizer switch
        {
            TrainOptions.AdamWOptimizer => new AdamW(options.LearningRate, options.WeightDecay),
            TrainOptions.SgdOptimizer => new Sgd(options.LearningRate, options.Momentum, options.WeightDecay),
            _ => throw new ArgumentException($"unknown optimizer '{options.Optimizer}' (adamw or sgd)", nameof(options)),
        };

        var lossLog = new List<LossPoint>(options.Steps);
        var commitments = new List<CheckpointCommitment>();
        for (int step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long started = Stopwatch.GetTimestamp();
            var tape = new Tape(options.Compute);
            model.ZeroGrad();
            Tensor loss = batchLoss(tape, Rng.For(options.Seed, (ulong)step, BatchStream));
            tape.Backward(loss);
            optimizer.Step(model.Parameters);
            double seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;

            lossLog.Add(new LossPoint(step, loss.Item));
            observer?.OnStep(step, loss.Item, options.BatchSize / Math.Max(seconds, 1e-9));
            if ((options.CheckpointEvery > 0 && step % options.CheckpointEvery == 0) || step == options.Steps)
            {
                string root = WeightCommitment.RootHex([.. model.ExportWeights(), .. optimizer.State()]);
                commitments.Add(new CheckpointCommitment(step, root));
                observer?.OnCheckpoint(step, root);
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
        int f = data.FeatureCount, samples = data.TrainLabels.Length;
        var inputs = new Tensor([batch, f]);
        int[] labels = new int[batch];
        for (int b = 0; b < batch; b++)
        {
            int i = random.NextInt(samples);
            data.TrainFeatures.AsSpan(i * f, f).CopyTo(inputs.Data.AsSpan(b * f, f));
            labels[b] = data.TrainLabels[i];
        }

        return TensorOps.CrossEntropy(tape, model.Forward(tape, inputs), labels);
    }

    private static Tensor TransformerLoss(Tape tape, CharTransformer model, int[] text, int batch, IRandomSource random)
    {
        int time = model.Spec.Context;
        int[] inputs = new int[batch * time], targets = new int[batch * time];
        for (int b = 0; b < batch; b++)
        {
            int offset = random.NextInt(text.Length - time);
            text.AsSpan(offset, time).CopyTo(inputs.AsSpan(b * time));
            text.AsSpan(offset + 1, time).CopyTo(targets.AsSpan(b * time));
        }

        return TensorOps.CrossEntropy(tape, model.Forward(tape, inputs, batch, time), targets);
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

    private static void Validate(TrainOptions options)
    {
        if (options.Steps < 1 || options.BatchSize < 1 || options.CheckpointEvery < 0 || options.MaxEvaluationWindows < 1
            || !(options.LearningRate > 0) || options.WeightDecay < 0 || options.Momentum < 0 || options.Compute.Threads < 1)
        {
            throw new ArgumentException($"invalid training options: {options}", nameof(options));
        }
    }
}
