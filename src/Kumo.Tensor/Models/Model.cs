using Kumo.Tensor.Training;

namespace Kumo.Tensor.Models;

/// <summary>
/// A model: its spec and its named parameters. Initial weights come only from (spec, seed) — parameter i is drawn
/// from the generator keyed (seed, step 0, stream i), step 0 being reserved for initialization — so anyone holding
/// the job's spec and seed rebuilds the exact starting point. Weights are uniform: U(−a, a), with the bound each
/// model documents (uniform rather than normal keeps initialization free of sin/cos).
/// </summary>
public abstract class Model
{
    /// <summary>Bound meaning "initialize to ones" (layer-norm gains).</summary>
    protected const float Ones = -1f;

    /// <summary>Bound meaning "initialize to zeros" (biases).</summary>
    protected const float Zeros = 0f;

    private readonly List<Parameter> _parameters = [];
    private readonly List<float> _bounds = [];

    protected Model(ModelSpec spec)
    {
        Spec = spec;
    }

    public ModelSpec Spec { get; }

    /// <summary>The parameters in declaration order (which is also their initialization stream order).</summary>
    public IReadOnlyList<Parameter> Parameters => _parameters;

    /// <summary>A freshly initialized model of <paramref name="spec"/>.</summary>
    public static Model Create(ModelSpec spec, ulong seed)
    {
        Model model = spec.Kind switch
        {
            ModelSpec.MlpKind => new MlpClassifier(spec),
            ModelSpec.TransformerKind => new CharTransformer(spec),
            _ => throw new ArgumentException($"unknown model kind '{spec.Kind}' (expected '{ModelSpec.MlpKind}' or '{ModelSpec.TransformerKind}')", nameof(spec)),
        };
        model.Initialize(seed);
        return model;
    }

    /// <summary>A model of <paramref name="spec"/> holding <paramref name="weights"/> (every parameter exactly once, shapes matching).</summary>
    public static Model FromWeights(ModelSpec spec, IReadOnlyList<NamedTensor> weights)
    {
        Model model = Create(spec, 0);
        var byName = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (NamedTensor w in weights)
        {
            if (!byName.TryAdd(w.Name, w))
            {
                throw new ArgumentException($"weight '{w.Name}' appears twice", nameof(weights));
            }
        }

        foreach (Parameter p in model.Parameters)
        {
            if (!byName.Remove(p.Name, out NamedTensor? w))
            {
                throw new ArgumentException($"weight '{p.Name}' is missing for a {spec.Kind} model", nameof(weights));
            }

            if (!w.Shape.AsSpan().SequenceEqual(p.Value.Shape) || w.Data.Length != p.Value.Length)
            {
                throw new ArgumentException($"weight '{p.Name}' has shape [{string.Join(", ", w.Shape)}], the model needs [{string.Join(", ", p.Value.Shape)}]", nameof(weights));
            }

            w.Data.CopyTo(p.Value.Data, 0);
        }

        if (byName.Count > 0)
        {
            throw new ArgumentException($"weights the model does not have: {string.Join(", ", byName.Keys.Order(StringComparer.Ordinal))}", nameof(weights));
        }

        return model;
    }

    /// <summary>Copies of the weights, in declaration order.</summary>
    public IReadOnlyList<NamedTensor> ExportWeights() =>
        [.. _parameters.Select(p => new NamedTensor(p.Name, [.. p.Value.Shape], [.. p.Value.Data]))];

    /// <summary>
    /// The weights without copying: tensors that alias the parameters' own buffers, valid until they next change. For
    /// hashing the weights (a commitment after every step), never for keeping them.
    /// </summary>
    public IReadOnlyList<NamedTensor> WeightViews() =>
        [.. _parameters.Select(p => new NamedTensor(p.Name, p.Value.Shape, p.Value.Data))];

    /// <summary>Clears every parameter's gradient.</summary>
    public void ZeroGrad()
    {
        foreach (Parameter p in _parameters)
        {
            p.Value.ZeroGrad();
        }
    }

    /// <summary>Declares a parameter: U(−bound, bound) for a positive bound, else <see cref="Zeros"/> or <see cref="Ones"/>.</summary>
    protected Tensor Declare(string name, int[] shape, float uniformBound)
    {
        var t = new Tensor(shape, null, requiresGrad: true);
        _parameters.Add(new Parameter(name, t));
        _bounds.Add(uniformBound);
        return t;
    }

    private void Initialize(ulong seed)
    {
        for (int i = 0; i < _parameters.Count; i++)
        {
            float[] data = _parameters[i].Value.Data;
            float bound = _bounds[i];
            if (bound > 0f)
            {
                IRandomSource random = Rng.For(seed, 0, (ulong)i);
                for (int j = 0; j < data.Length; j++)
                {
                    data[j] = random.NextUniform(bound);
                }
            }
            else
            {
                Array.Fill(data, bound < 0f ? 1f : 0f);
            }
        }
    }
}
