using Kumo.Tensor.Models;

namespace Kumo.Tensor.Optim;

/// <summary>
/// Stochastic gradient descent with (heavy-ball) momentum and L2 weight decay, as PyTorch defines it:
/// g' = g + wd·p; buf = μ·buf + g'; p −= lr·buf. Weight decay applies to matrices (rank ≥ 2: weights and
/// embeddings), not to biases and layer-norm parameters. State: "sgd.momentum.{name}".
/// </summary>
public sealed class Sgd : IOptimizer
{
    private readonly SortedDictionary<string, (int[] Shape, float[] Buffer)> _momentum = new(StringComparer.Ordinal);

    public Sgd(float learningRate, float momentum = 0.9f, float weightDecay = 0f)
    {
        LearningRate = learningRate;
        Momentum = momentum;
        WeightDecay = weightDecay;
    }

    public float LearningRate { get; }

    public float Momentum { get; }

    public float WeightDecay { get; }

    public void Step(IReadOnlyList<Parameter> parameters)
    {
        foreach (Parameter p in parameters)
        {
            float[]? g = p.Value.Grad;
            if (g is null)
            {
                continue;
            }

            if (!_momentum.TryGetValue(p.Name, out (int[] Shape, float[] Buffer) entry))
            {
                _momentum[p.Name] = entry = ([.. p.Value.Shape], new float[g.Length]);
            }

            float[] buf = entry.Buffer;

            float wd = p.Value.Shape.Length >= 2 ? WeightDecay : 0f;
            float[] w = p.Value.Data;
            for (int i = 0; i < w.Length; i++)
            {
                float gi = MathF.FusedMultiplyAdd(wd, w[i], g[i]);
                buf[i] = MathF.FusedMultiplyAdd(Momentum, buf[i], gi);
                w[i] = MathF.FusedMultiplyAdd(-LearningRate, buf[i], w[i]);
            }
        }
    }

    /// <summary>Replaces the momentum buffers with a checkpoint's (<see cref="State"/>), so training resumes exactly.</summary>
    public void LoadState(IReadOnlyList<NamedTensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var buffers = new SortedDictionary<string, (int[] Shape, float[] Buffer)>(StringComparer.Ordinal);
        foreach (NamedTensor t in state)
        {
            if (!t.Name.StartsWith("sgd.momentum.", StringComparison.Ordinal) || !buffers.TryAdd(t.Name["sgd.momentum.".Length..], ([.. t.Shape], [.. t.Data])))
            {
                throw new ArgumentException($"'{t.Name}' is not SGD state, or appears twice", nameof(state));
            }
        }

        _momentum.Clear();
        foreach (KeyValuePair<string, (int[] Shape, float[] Buffer)> kv in buffers)
        {
            _momentum[kv.Key] = kv.Value;
        }
    }

    public IReadOnlyList<NamedTensor> State() =>
        [.. _momentum.Select(kv => new NamedTensor("sgd.momentum." + kv.Key, [.. kv.Value.Shape], [.. kv.Value.Buffer]))];

    public IReadOnlyList<NamedTensor> StateView() =>
        [.. _momentum.Select(kv => new NamedTensor("sgd.momentum." + kv.Key, kv.Value.Shape, kv.Value.Buffer))];
}
