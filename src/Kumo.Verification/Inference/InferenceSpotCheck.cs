using Kumo.Tensor.Compute;
using Kumo.Tensor.Models;
using Kumo.Tensor.Randomness;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Inference;

/// <summary>
/// Checking an <c>infer</c> job without redoing it: a validator recomputes a random sample of its outputs bit for
/// bit. A classification row depends only on its own features (each logit is one FMA chain), and a generated
/// token depends only on the text before it (greedy decoding), so any sampled output can be recomputed alone — from
/// the provider's own earlier output — at the cost of that one output. The sample is drawn from randomness the
/// provider could not know when it answered (the seed is revealed after its outputs are committed).
/// </summary>
public static class InferenceSpotCheck
{
    /// <summary>What a check found: how many outputs were recomputed, and the first that differs (null: all agree).</summary>
    public sealed record Outcome(int Checked, int Total, int? FirstMismatch, string? Detail)
    {
        public bool Agrees => FirstMismatch is null;
    }

    /// <summary>The indices to recompute: each of <paramref name="total"/> outputs with probability <paramref name="q"/>, at least one.</summary>
    public static IReadOnlyList<int> Sample(int total, double q, ulong seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(total);
        if (q is < 0 or > 1 || double.IsNaN(q))
        {
            throw new ArgumentOutOfRangeException(nameof(q), "a sampling probability is from 0 to 1");
        }

        var random = new Philox(seed, 0, 7);
        var chosen = new List<int>();
        uint threshold = (uint)Math.Min(uint.MaxValue, Math.Round(q * 4294967296.0));
        for (int i = 0; i < total; i++)
        {
            if (random.NextUInt32() < threshold)
            {
                chosen.Add(i);
            }
        }

        if (chosen.Count == 0 && total > 0)
        {
            chosen.Add((int)(random.NextUInt32() % (uint)total));
        }

        return chosen;
    }

    /// <summary>Recomputes the sampled rows of a classification job and compares them with the provider's predictions.</summary>
    public static Outcome CheckClassification(ModelSpec spec, IReadOnlyList<NamedTensor> weights, float[] features, IReadOnlyList<int> claimed,
        IReadOnlyList<int> sample, ComputeOptions? compute = null)
    {
        int width = spec.Inputs;
        if (features.Length != claimed.Count * width)
        {
            return new Outcome(0, claimed.Count, 0, $"the job has {features.Length / Math.Max(1, width)} rows but {claimed.Count} predictions were claimed");
        }

        float[] rows = new float[sample.Count * width];
        for (int s = 0; s < sample.Count; s++)
        {
            features.AsSpan(sample[s] * width, width).CopyTo(rows.AsSpan(s * width));
        }

        int[] recomputed = sample.Count == 0 ? [] : Kumo.Tensor.Training.Inference.Classify(spec, weights, rows, compute);
        for (int s = 0; s < sample.Count; s++)
        {
            if (recomputed[s] != claimed[sample[s]])
            {
                return new Outcome(s + 1, claimed.Count, sample[s], $"row {sample[s]}: the provider said class {claimed[sample[s]]}, recomputation gives {recomputed[s]}");
            }
        }

        return new Outcome(sample.Count, claimed.Count, null, null);
    }

    /// <summary>
    /// Recomputes sampled positions of a greedy generation: the token at position i must be the model's argmax after the
    /// prompt and the provider's own tokens before i.
    /// </summary>
    public static Outcome CheckGeneration(ModelSpec spec, IReadOnlyList<NamedTensor> weights, IReadOnlyList<int> prompt, IReadOnlyList<int> generated,
        IReadOnlyList<int> sample, ComputeOptions? compute = null)
    {
        for (int s = 0; s < sample.Count; s++)
        {
            int i = sample[s];
            int[] prefix = [.. prompt, .. generated.Take(i)];
            int next = Kumo.Tensor.Training.Inference.Generate(spec, weights, prefix, 1, compute: compute)[0];
            if (next != generated[i])
            {
                return new Outcome(s + 1, generated.Count, i, $"token {i}: the provider generated {generated[i]}, recomputation gives {next}");
            }
        }

        return new Outcome(sample.Count, generated.Count, null, null);
    }
}
