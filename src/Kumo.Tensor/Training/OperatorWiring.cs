namespace Kumo.Tensor.Training;

/// <summary>Where an operator's input tensor comes from.</summary>
public enum OperandSource
{
    /// <summary>A model parameter as it was before the step (in the state the step starts from), by name.</summary>
    Parameter,

    /// <summary>The output of an earlier forward operator of the same step, by index.</summary>
    Output,

    /// <summary>A tensor of the step's batch, by name, which anyone derives from the job's data, seed and step.</summary>
    Leaf,
}

/// <summary>One input of a forward operator: its <see cref="Source"/> and the parameter or leaf name, or the output index.</summary>
public sealed record Operand(OperandSource Source, string? Name, int Index)
{
    public static Operand Parameter(string name) => new(OperandSource.Parameter, name, -1);

    public static Operand Output(int index) => new(OperandSource.Output, null, index);

    public static Operand Leaf(string name) => new(OperandSource.Leaf, name, -1);

    /// <summary>Whether the tensor carries a gradient in the step (parameters and everything computed from them do).</summary>
    public bool RequiresGrad => Source != OperandSource.Leaf;

    /// <summary>The name of this operand's gradient in a backward operator's result, or null for a leaf.</summary>
    public string? GradientName => Source switch
    {
        OperandSource.Parameter => "grad.param." + Name,
        OperandSource.Output => "grad.forward." + Index,
        _ => null,
    };

    public override string ToString() => Source switch
    {
        OperandSource.Parameter => "parameter " + Name,
        OperandSource.Output => "output of operator " + Index,
        _ => "batch " + Name,
    };
}

/// <summary>A forward operator as the model's code calls it: op kind, where each input comes from, integer leaves, attributes.</summary>
public sealed record ForwardOperator(int Index, string Kind, IReadOnlyList<Operand> Inputs, IReadOnlyList<string> IntLeaves, IReadOnlyList<int> Attributes);

/// <summary>
/// The operators of one training step and how they connect: F forward operators in program order, then their F
/// backward steps in reverse order, then the optimizer update — 2F + 1 in all, the same for every step of a job. It
/// depends only on the model spec, so a referee derives it itself (<see cref="Trainer.Wiring"/>, from a step at batch
/// size 1) and never takes either party's word for what an operator computes from.
/// </summary>
public sealed record OperatorWiring(IReadOnlyList<ForwardOperator> Forward, IReadOnlyList<string> Parameters, string Optimizer)
{
    /// <summary>Operators per step.</summary>
    public int Count => (2 * Forward.Count) + 1;

    /// <summary>Index of the optimizer update, the last operator.</summary>
    public int OptimizerIndex => 2 * Forward.Count;

    /// <summary>The forward operator that operator <paramref name="index"/> is or is the backward step of; null for the optimizer.</summary>
    public ForwardOperator? ForwardOf(int index) =>
        index < Forward.Count ? Forward[index]
        : index < OptimizerIndex ? Forward[OptimizerIndex - 1 - index]
        : null;

    /// <summary>What operator <paramref name="index"/> is, as a trace names it ("forward MatMul", "backward Relu", "optimizer adamw").</summary>
    public string KindOf(int index) =>
        index < Forward.Count ? "forward " + Forward[index].Kind
        : index < OptimizerIndex ? "backward " + ForwardOf(index)!.Kind
        : "optimizer " + Optimizer;
}

/// <summary>One tensor of a set, by name and RFC 6962 leaf hash (hex): enough to recompute the set's root.</summary>
public sealed record LeafDigest(string Name, string Leaf);

/// <summary>
/// What a party reveals so that a referee can recompute operator <paramref name="Operator"/> of step
/// <paramref name="Step"/> alone:
/// <list type="bullet">
/// <item><paramref name="Results"/>: the result hash of every earlier operator of the step, which the referee chains from
/// the agreed state root to the agreed input hash of the operator — authenticating each;</item>
/// <item><paramref name="StateLeaves"/>: the leaf hash of every tensor of the state before the step (when the operator
/// reads parameters or is the optimizer), whose root must be the agreed state root;</item>
/// <item><paramref name="GradientLeaves"/>: the leaf hash of every gradient before a backward operator or the optimizer,
/// whose root must be the previous operator's result;</item>
/// <item><paramref name="Tensors"/>: the inputs themselves — "state.NAME", "forward.I", "grad.forward.I",
/// "grad.param.NAME" — each checked against one of those hashes.</item>
/// </list>
/// </summary>
public sealed record OperatorOpening(
    int Step,
    int Operator,
    IReadOnlyList<string> Results,
    IReadOnlyList<LeafDigest> StateLeaves,
    IReadOnlyList<LeafDigest> GradientLeaves,
    IReadOnlyList<Models.NamedTensor> Tensors);

/// <summary>
/// The referee's recomputation of one operator: its <see cref="Kind"/>, and either the output hash it should have
/// (<see cref="OutputHash"/>) or why the opening could not be used (<see cref="Problem"/>).
/// </summary>
public sealed record OperatorReplay(string Kind, string? OutputHash, string? Problem)
{
    public static OperatorReplay Refused(string kind, string problem) => new(kind, null, problem);
}
