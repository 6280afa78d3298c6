using Kumo.Tensor.Autograd;

namespace Kumo.Tensor.Ops;

/// <summary>
/// Calls one op again from its <see cref="OpCall.Kind"/> and fresh inputs: how a dispute's referee recomputes the single
/// operator a bisection pinned, without running the rest of the step. Every op a model records is here; a kind that is
/// not, or inputs of the wrong number or shape, throw <see cref="ArgumentException"/> naming what is wrong.
/// </summary>
public static class OpReplay
{
    // What each op takes: tensors, integer arrays, attributes.
    private static readonly Dictionary<string, (int Tensors, int IntArrays, int Attributes)> Signatures = new(StringComparer.Ordinal)
    {
        [nameof(TensorOps.MatMul)] = (2, 0, 0),
        [nameof(TensorOps.Add)] = (2, 0, 0),
        [nameof(TensorOps.Mul)] = (2, 0, 0),
        [nameof(TensorOps.Relu)] = (1, 0, 0),
        [nameof(TensorOps.Gelu)] = (1, 0, 0),
        [nameof(TensorOps.Softmax)] = (1, 0, 0),
        [nameof(TensorOps.LayerNorm)] = (3, 0, 0),
        [nameof(TensorOps.Embedding)] = (1, 1, 0),
        [nameof(TensorOps.CrossEntropy)] = (1, 1, 0),
        [nameof(TensorOps.CausalSelfAttention)] = (1, 0, 2),
    };

    /// <summary>The op kinds that can be replayed.</summary>
    public static IEnumerable<string> Kinds => Signatures.Keys;

    /// <summary>
    /// Op <paramref name="kind"/> on <paramref name="inputs"/> (tensors in argument order), <paramref name="ints"/>
    /// (integer arrays in argument order) and <paramref name="attributes"/>, recorded on <paramref name="tape"/>.
    /// </summary>
    public static Tensor Call(Tape tape, string kind, IReadOnlyList<Tensor> inputs, IReadOnlyList<int[]> ints, IReadOnlyList<int> attributes)
    {
        ArgumentNullException.ThrowIfNull(tape);
        ArgumentNullException.ThrowIfNull(inputs);
        ArgumentNullException.ThrowIfNull(ints);
        ArgumentNullException.ThrowIfNull(attributes);
        if (!Signatures.TryGetValue(kind, out var takes))
        {
            throw new ArgumentException($"no op '{kind}' can be replayed (known: {string.Join(", ", Kinds)})", nameof(kind));
        }

        if (inputs.Count != takes.Tensors || ints.Count != takes.IntArrays || attributes.Count != takes.Attributes)
        {
            throw new ArgumentException($"{kind} takes {takes.Tensors} tensor(s), {takes.IntArrays} integer array(s) and {takes.Attributes} attribute(s), "
                + $"got {inputs.Count}, {ints.Count} and {attributes.Count}");
        }

        return kind switch
        {
            nameof(TensorOps.MatMul) => TensorOps.MatMul(tape, inputs[0], inputs[1]),
            nameof(TensorOps.Add) => TensorOps.Add(tape, inputs[0], inputs[1]),
            nameof(TensorOps.Mul) => TensorOps.Mul(tape, inputs[0], inputs[1]),
            nameof(TensorOps.Relu) => TensorOps.Relu(tape, inputs[0]),
            nameof(TensorOps.Gelu) => TensorOps.Gelu(tape, inputs[0]),
            nameof(TensorOps.Softmax) => TensorOps.Softmax(tape, inputs[0]),
            nameof(TensorOps.LayerNorm) => TensorOps.LayerNorm(tape, inputs[0], inputs[1], inputs[2]),
            nameof(TensorOps.Embedding) => TensorOps.Embedding(tape, inputs[0], ints[0]),
            nameof(TensorOps.CrossEntropy) => TensorOps.CrossEntropy(tape, inputs[0], ints[0]),
            _ => Attention(tape, inputs[0], time: attributes[0], heads: attributes[1]),
        };
    }

    private static Tensor Attention(Tape tape, Tensor qkv, int time, int heads) =>
        time > 0 && qkv.Rows % time == 0
            ? TensorOps.CausalSelfAttention(tape, qkv, qkv.Rows / time, time, heads)
            : throw new ArgumentException($"attention over a time of {time} cannot take {qkv}");
}
