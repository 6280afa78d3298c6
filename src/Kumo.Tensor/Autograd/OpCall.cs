namespace Kumo.Tensor.Autograd;

/// <summary>
/// What one recorded op computed from, as data: its <see cref="Kind"/> (the <see cref="Ops.TensorOps"/> method), its
/// tensor <see cref="Inputs"/> in argument order, where its integer inputs (token ids, class targets) came from, and its
/// structural <see cref="Attributes"/> (attention's time and heads; never the batch size, which the shapes give). A
/// referee that is handed authenticated copies of the inputs can call the op again — and only that op — through
/// <see cref="Ops.OpReplay"/>.
/// </summary>
/// <param name="Kind">The op's name, e.g. "MatMul".</param>
/// <param name="Inputs">The tensors it read, in argument order.</param>
/// <param name="IntInputs">
/// For each integer-array argument, the name of the <see cref="Tape.Leaf(string, int[])"/> it is (null when the tape is
/// not traced, or the integers are not a registered leaf).
/// </param>
/// <param name="Attributes">Integer arguments that fix the op's structure.</param>
public sealed record OpCall(string Kind, IReadOnlyList<Tensor> Inputs, IReadOnlyList<string?> IntInputs, IReadOnlyList<int> Attributes)
{
    public OpCall(string kind, params Tensor[] inputs)
        : this(kind, inputs, [], [])
    {
    }
}
