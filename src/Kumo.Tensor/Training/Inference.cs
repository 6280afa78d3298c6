using Kumo.Tensor.Autograd;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Models;
using Kumo.Tensor.Ops;

namespace Kumo.Tensor.Training;

/// <summary>
/// Using trained weights: classify with an MLP, generate or score text with a character transformer. Forward
/// passes only (no tape recording); deterministic like training, so a verifier can re-run an inference job and
/// compare outputs exactly. Sampling, when asked for, draws from the generator keyed (seed, position, stream 2).
/// </summary>
public static class Inference
{
    private const ulong SamplingStream = 2;
    private const int EvaluationBatch = 16;

    /// <summary>The predicted class (argmax of the logits, lowest index on ties) of each sample (samples × inputs, row-major).</summary>
    public static int[] Classify(ModelSpec spec, IReadOnlyList<NamedTensor> weights, float[] features, ComputeOptions? compute = null) =>
        Classify(AsMlp(Model.FromWeights(spec, weights)), features, compute);

    /// <summary>Fraction of samples whose predicted class equals the label.</summary>
    public static double Accuracy(ModelSpec spec, IReadOnlyList<NamedTensor> weights, float[] features, int[] labels, ComputeOptions? compute = null) =>
        Accuracy(AsMlp(Model.FromWeights(spec, weights)), features, labels, compute);

    /// <summary>
    /// Continues <paramref name="prompt"/> (token ids) by <paramref name="count"/> tokens: greedy (argmax) when
    /// <paramref name="temperature"/> is 0, else sampled from softmax(logits / temperature) with <paramref name="seed"/>.
    /// The model sees at most its context length of the most recent tokens. Returns only the new tokens.
    /// </summary>
    public static int[] Generate(ModelSpec spec, IReadOnlyList<NamedTensor> weights, ReadOnlySpan<int> prompt, int count,
        float temperature = 0f, ulong seed = 0, ComputeOptions? compute = null)
    {
        CharTransformer model = AsTransformer(Model.FromWeights(spec, weights));
        if (prompt.IsEmpty || count < 0 || temperature < 0)
        {
            throw new ArgumentException("generation needs a non-empty prompt, a non-negative count and temperature");
        }

        var tokens = new List<int>(prompt.ToArray());
        int[] generated = new int[count];
        int v = spec.Vocabulary;
        for (int n = 0; n < count; n++)
        {
            int time = Math.Min(tokens.Count, spec.Context);
            int[] window = [.. tokens.GetRange(tokens.Count - time, time)];
            Tensor logits = model.Forward(new Tape(compute, recording: false), window, 1, time);
            ReadOnlySpan<float> last = logits.Data.AsSpan((time - 1) * v, v);
            int next = temperature == 0f ? ArgMax(last) : Sample(last, temperature, Rng.For(seed, (ulong)n, SamplingStream));
            generated[n] = next;
            tokens.Add(next);
        }

        return generated;
    }

    /// <summary><see cref="Generate(ModelSpec, IReadOnlyList{NamedTensor}, ReadOnlySpan{int}, int, float, ulong, ComputeOptions?)"/> on text, with the model's vocabulary string.</summary>
    public static string Generate(ModelSpec spec, IReadOnlyList<NamedTensor> weights, string vocabulary, string prompt, int count,
        float temperature = 0f, ulong seed = 0, ComputeOptions? compute = null)
    {
        var chars = new CharVocabulary(vocabulary);
        return chars.Decode(Generate(spec, weights, chars.Encode(prompt), count, temperature, seed, compute));
    }

    /// <summary>
    /// Mean next-token cross-entropy (nats) over <paramref name="tokens"/>, cut into consecutive windows of the
    /// context length (each window predicting its next context-length tokens), at most <paramref name="maxWindows"/>.
    /// </summary>
    public static double EvaluationLoss(ModelSpec spec, IReadOnlyList<NamedTensor> weights, int[] tokens, int maxWindows = int.MaxValue,
        ComputeOptions? compute = null) =>
        EvaluationLoss(AsTransformer(Model.FromWeights(spec, weights)), tokens, maxWindows, compute);

    internal static int[] Classify(MlpClassifier model, float[] features, ComputeOptions? compute)
    {
        int f = model.Spec.Inputs, c = model.Spec.Classes;
        if (features.Length == 0 || features.Length % f != 0)
        {
            throw new ArgumentException($"features must be whole samples of {f} values", nameof(features));
        }

        Tensor logits = model.Forward(new Tape(compute, recording: false), new Tensor([features.Length / f, f], features));
        int[] classes = new int[logits.Rows];
        for (int i = 0; i < classes.Length; i++)
        {
            classes[i] = ArgMax(logits.Data.AsSpan(i * c, c));
        }

        return classes;
    }

    internal static double Accuracy(MlpClassifier model, float[] features, int[] labels, ComputeOptions? compute)
    {
        int[] predicted = Classify(model, features, compute);
        if (predicted.Length != labels.Length)
        {
            throw new ArgumentException($"{predicted.Length} samples but {labels.Length} labels", nameof(labels));
        }

        return (double)predicted.Zip(labels).Count(p => p.First == p.Second) / labels.Length;
    }

    internal static double EvaluationLoss(CharTransformer model, int[] tokens, int maxWindows, ComputeOptions? compute)
    {
        int time = model.Spec.Context;
        int windows = Math.Min(maxWindows, (tokens.Length - 1) / time);
        if (windows < 1)
        {
            throw new ArgumentException($"{tokens.Length} tokens do not fill one window of {time} + 1", nameof(tokens));
        }

        double sum = 0; // each batch's mean, weighted by its windows, summed in order
        for (int first = 0; first < windows; first += EvaluationBatch)
        {
            int batch = Math.Min(EvaluationBatch, windows - first);
            int[] inputs = tokens.AsSpan(first * time, batch * time).ToArray();
            int[] targets = tokens.AsSpan((first * time) + 1, batch * time).ToArray();
            var tape = new Tape(compute, recording: false);
            sum += (double)TensorOps.CrossEntropy(tape, model.Forward(tape, inputs, batch, time), targets).Item * batch;
        }

        return sum / windows;
    }

    private static int ArgMax(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static int Sample(ReadOnlySpan<float> logits, float temperature, IRandomSource random)
    {
        float[] scaled = new float[logits.Length];
        for (int i = 0; i < scaled.Length; i++)
        {
            scaled[i] = logits[i] / temperature;
        }

        float[] p = new float[logits.Length];
        TensorOps.SoftmaxRow(scaled, p);
        float u = random.NextFloat(), cumulative = 0f;
        for (int i = 0; i < p.Length; i++)
        {
            cumulative += p[i];
            if (u < cumulative)
            {
                return i;
            }
        }

        return p.Length - 1;
    }

    private static MlpClassifier AsMlp(Model model) =>
        model as MlpClassifier ?? throw new ArgumentException($"a '{model.Spec.Kind}' model does not classify");

    private static CharTransformer AsTransformer(Model model) =>
        model as CharTransformer ?? throw new ArgumentException($"a '{model.Spec.Kind}' model does not generate text");
}
