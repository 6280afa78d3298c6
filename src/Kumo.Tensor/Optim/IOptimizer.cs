using Kumo.Tensor.Models;

namespace Kumo.Tensor.Optim;

/// <summary>
/// Updates parameters from their gradients. Each element is updated independently by a fixed sequence of fp32
/// operations, so updates are reproducible bit for bit; the optimizer's state is exposed as named tensors so that
/// checkpoint commitments cover it (a resumed run must continue exactly).
/// </summary>
public interface IOptimizer
{
    /// <summary>Applies one update from the parameters' current gradients (a parameter without a gradient is left alone).</summary>
    void Step(IReadOnlyList<Parameter> parameters);

    /// <summary>The optimizer's state as named tensors, sorted by name (ordinal).</summary>
    IReadOnlyList<NamedTensor> State();

    /// <summary>
    /// <see cref="State"/> without copying: tensors that alias the optimizer's own buffers, valid until the next
    /// <see cref="Step"/>. For hashing the state (a commitment after every step), never for keeping it.
    /// </summary>
    IReadOnlyList<NamedTensor> StateView() => State();
}
