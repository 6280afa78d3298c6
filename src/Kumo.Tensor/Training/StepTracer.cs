using Kumo.Tensor.Autograd;
using Kumo.Tensor.Models;

namespace Kumo.Tensor.Training;

/// <summary>
/// Builds the operator hash chain of one step (<see cref="OperatorRecord"/>, chained by <see cref="OperatorChain"/>) and
/// the step's <see cref="OperatorWiring"/>. A forward op's result is its output tensor, named "forward.I"; a backward
/// step's result is the root over every gradient that exists after it (those of forward outputs, "grad.forward.I", and
/// of parameters, "grad.param.NAME"). Read-only, except that it can keep a copy of the gradients as they are before
/// one operator (<see cref="GradientsBefore"/>), for that operator's opening.
/// </summary>
internal sealed class StepTracer : ITapeTracer
{
    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly Dictionary<Tensor, string> _parameterNames = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, int> _outputIndex = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Tensor, string> _leaves = new(ReferenceEqualityComparer.Instance);
    private readonly List<Tensor> _outputs = [];
    private readonly List<ForwardOperator> _forward = [];
    private readonly List<OperatorRecord> _operators = [];
    private readonly List<string> _results = [];
    private readonly int _keepGradientsBefore;
    private byte[] _chain;

    /// <param name="keepGradientsBefore">Operator whose incoming gradients to keep (a backward operator after the first,
    /// or the optimizer); -1 for none.</param>
    public StepTracer(IReadOnlyList<Parameter> parameters, string stateRootHex, int keepGradientsBefore = -1)
    {
        _parameters = parameters;
        foreach (Parameter p in parameters)
        {
            _parameterNames[p.Value] = p.Name;
        }

        _chain = Convert.FromHexString(stateRootHex);
        _keepGradientsBefore = keepGradientsBefore;
    }

    public IReadOnlyList<OperatorRecord> Operators => _operators;

    /// <summary>Each operator's result hash (hex), in order: what an opening reveals.</summary>
    public IReadOnlyList<string> Results => _results;

    /// <summary>The forward outputs, by index (never changed after they are computed).</summary>
    public IReadOnlyList<Tensor> Outputs => _outputs;

    /// <summary>Why the step's wiring is incomplete (an input that is neither a parameter, an output nor a leaf), or null.</summary>
    public string? WiringProblem { get; private set; }

    /// <summary>The gradients before operator keepGradientsBefore, copied, or null if not asked or not reached.</summary>
    public IReadOnlyList<NamedTensor>? GradientsBefore { get; private set; }

    public OperatorWiring Wiring(string optimizer) => new([.. _forward], [.. _parameters.Select(p => p.Name)], optimizer);

    public void OnLeaf(string name, Tensor value) => _leaves[value] = name;

    public void OnForward(int index, Tensor output, OpCall call)
    {
        var inputs = new List<Operand>(call.Inputs.Count);
        foreach (Tensor input in call.Inputs)
        {
            inputs.Add(Identify(input) ?? Unwired(index, call.Kind, "a tensor input"));
        }

        var ints = new List<string>(call.IntInputs.Count);
        foreach (string? leaf in call.IntInputs)
        {
            ints.Add(leaf ?? Unwired(index, call.Kind, "integers").Name!);
        }

        _forward.Add(new ForwardOperator(index, call.Kind, inputs, ints, [.. call.Attributes]));
        _outputIndex[output] = index;
        _outputs.Add(output);
        Append("forward " + call.Kind, WeightCommitment.Hash(new NamedTensor("forward." + index, output.Shape, output.Data)));
    }

    public void OnBackward(int index)
    {
        List<NamedTensor> grads = Gradients();
        Append("backward " + _forward[index].Kind, WeightCommitment.Root(grads));
        if (_operators.Count == _keepGradientsBefore)
        {
            GradientsBefore = [.. grads.Select(g => g with { Shape = [.. g.Shape], Data = [.. g.Data] })];
        }
    }

    /// <summary>The last operator: the optimizer update, whose output hash is the new state's root.</summary>
    public void OnOptimizer(string name, string stateRootHex)
    {
        _operators.Add(new OperatorRecord(_operators.Count, "optimizer " + name, Convert.ToHexStringLower(_chain), stateRootHex));
        _results.Add(stateRootHex);
    }

    /// <summary>Every gradient that exists now, as the trace names them (views of the live buffers).</summary>
    private List<NamedTensor> Gradients()
    {
        var grads = new List<NamedTensor>();
        for (int i = 0; i < _outputs.Count; i++)
        {
            if (_outputs[i].Grad is float[] g)
            {
                grads.Add(new NamedTensor("grad.forward." + i, _outputs[i].Shape, g));
            }
        }

        foreach (Parameter p in _parameters)
        {
            if (p.Value.Grad is float[] g)
            {
                grads.Add(new NamedTensor("grad.param." + p.Name, p.Value.Shape, g));
            }
        }

        return grads;
    }

    private Operand? Identify(Tensor input) =>
        _parameterNames.TryGetValue(input, out string? name) ? Operand.Parameter(name)
        : _outputIndex.TryGetValue(input, out int output) ? Operand.Output(output)
        : _leaves.TryGetValue(input, out string? leaf) ? Operand.Leaf(leaf)
        : null;

    private Operand Unwired(int index, string kind, string what)
    {
        WiringProblem ??= $"operator {index} ({kind}) reads {what} that is neither a parameter, an earlier output nor a named batch leaf";
        return Operand.Leaf("?");
    }

    private void Append(string kind, byte[] resultHash)
    {
        byte[] input = _chain;
        _chain = OperatorChain.Next(input, _operators.Count, resultHash);
        _operators.Add(new OperatorRecord(_operators.Count, kind, Convert.ToHexStringLower(input), Convert.ToHexStringLower(_chain)));
        _results.Add(Convert.ToHexStringLower(resultHash));
    }
}
