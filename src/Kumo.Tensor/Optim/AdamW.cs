using Kumo.Tensor.Models;

namespace Kumo.Tensor.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter): per element
/// p ← p·(1 − lr·wd); m ← β1·m + (1−β1)·g; v ← β2·v + (1−β2)·g²; p ← p − lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + ε).
/// β1ᵗ and β2ᵗ are running products (one multiply per step, never a pow, whose result is the platform's), kept as
/// state so a resumed run continues exactly. Weight decay applies to matrices (rank ≥ 2), not to biases and
/// layer-norm parameters. State: "adamw.beta1_power", "adamw.beta2_power", "adamw.m.{name}", "adamw.v.{name}".
/// </summary>
public sealed class AdamW : IOptimizer
{
    private readonly SortedDictionary<string, (int[] Shape, float[] M, float[] V)> _moments = new(StringComparer.Ordinal);
    private float _beta1Power = 1f;
    private float _beta2Power = 1f;

    public AdamW(float learningRate, float weightDecay = 0.01f, float beta1 = 0.9f, float beta2 = 0.999f, float epsilon = 1e-8f)
    {
        LearningRate = learningRate;
        WeightDecay = weightDecay;
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
    }

    public float LearningRate { get; }

    public float WeightDecay { get; }

    public float Beta1 { get; }

    public float Beta2 { get; }

    public float Epsilon { get; }

    public void Step(IReadOnlyList<Parameter> parameters)
    {
        _beta1Power *= Beta1;
        _beta2Power *= Beta2;
        float c1 = 1f / (1f - _beta1Power), c2 = 1f / (1f - _beta2Power);
        float a1 = 1f - Beta1, a2 = 1f - Beta2;
        foreach (Parameter p in parameters)
        {
            float[]? g = p.Value.Grad;
            if (g is null)
            {
                continue;
            }

            if (!_moments.TryGetValue(p.Name, out (int[] Shape, float[] M, float[] V) s))
            {
                _moments[p.Name] = s = ([.. p.Value.Shape], new float[g.Length], new float[g.Length]);
            }

            float decay = 1f - (LearningRate * (p.Value.Shape.Length >= 2 ? WeightDecay : 0f));
            float[] w = p.Value.Data, m = s.M, v = s.V;
            for (int i = 0; i < w.Length; i++)
            {
                float gi = g[i];
                m[i] = MathF.FusedMultiplyAdd(Beta1, m[i], a1 * gi);
                v[i] = MathF.FusedMultiplyAdd(Beta2, v[i], a2 * gi * gi);
                float update = m[i] * c1 / (MathF.Sqrt(v[i] * c2) + Epsilon);
                w[i] = MathF.FusedMultiplyAdd(-LearningRate, update, w[i] * decay);
            }
        }
    }

    /// <summary>
    /// Replaces this optimizer's state with one <see cref="State"/> produced (a checkpoint), so training resumes from it
    /// exactly as if it had never stopped.
    /// </summary>
    public void LoadState(IReadOnlyList<NamedTensor> state)
    {
        ArgumentNullException.ThrowIfNull(state);
        float? beta1Power = null, beta2Power = null;
        var m = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        var v = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (NamedTensor t in state)
        {
            bool fresh;
            if (t.Name == "adamw.beta1_power" && t.Data.Length == 1 && beta1Power is null)
            {
                (beta1Power, fresh) = (t.Data[0], true);
            }
            else if (t.Name == "adamw.beta2_power" && t.Data.Length == 1 && beta2Power is null)
            {
                (beta2Power, fresh) = (t.Data[0], true);
            }
            else if (t.Name.StartsWith("adamw.m.", StringComparison.Ordinal))
            {
                fresh = m.TryAdd(t.Name["adamw.m.".Length..], t);
            }
            else
            {
                fresh = t.Name.StartsWith("adamw.v.", StringComparison.Ordinal) && v.TryAdd(t.Name["adamw.v.".Length..], t);
            }

            if (!fresh)
            {
                throw new ArgumentException($"'{t.Name}' is not AdamW state, or appears twice", nameof(state));
            }
        }

        if (beta1Power is null || beta2Power is null || m.Count != v.Count
            || m.Any(kv => !v.TryGetValue(kv.Key, out NamedTensor? w) || !w.Shape.AsSpan().SequenceEqual(kv.Value.Shape) || w.Data.Length != kv.Value.Data.Length))
        {
            throw new ArgumentException("AdamW state needs both beta powers and matching first and second moments", nameof(state));
        }

        _moments.Clear();
        foreach (KeyValuePair<string, NamedTensor> kv in m)
        {
            _moments[kv.Key] = ([.. kv.Value.Shape], [.. kv.Value.Data], [.. v[kv.Key].Data]);
        }

        _beta1Power = beta1Power.Value;
        _beta2Power = beta2Power.Value;
    }

    public IReadOnlyList<NamedTensor> State() => Export(copy: true);

    public IReadOnlyList<NamedTensor> StateView() => Export(copy: false);

    private List<NamedTensor> Export(bool copy)
    {
        var state = new List<NamedTensor>((2 * _moments.Count) + 2)
        {
            new("adamw.beta1_power", [1], [_beta1Power]),
            new("adamw.beta2_power", [1], [_beta2Power]),
        };
        foreach (KeyValuePair<string, (int[] Shape, float[] M, float[] V)> kv in _moments)
        {
            state.Add(new("adamw.m." + kv.Key, copy ? [.. kv.Value.Shape] : kv.Value.Shape, copy ? [.. kv.Value.M] : kv.Value.M));
            state.Add(new("adamw.v." + kv.Key, copy ? [.. kv.Value.Shape] : kv.Value.Shape, copy ? [.. kv.Value.V] : kv.Value.V));
        }

        state.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return state;
    }
}
