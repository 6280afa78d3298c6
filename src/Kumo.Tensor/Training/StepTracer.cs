using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Kumo.Tensor.Autograd;
using Kumo.Tensor.Models;

namespace Kumo.Tensor.Training;

/// <summary>
/// Builds the operator hash chain of one step (<see cref="OperatorRecord"/>). A forward op's result is its output
/// tensor; a backward step's result is every gradient it could have written (those of all forward outputs so far and
/// of all parameters), since the tape does not say which inputs an op has. Each output hash is
/// SHA-256("kumo-op/1" ‖ input hash ‖ index as int32 LE ‖ SHA-256 of the result's canonical bytes). Read-only.
/// </summary>
internal sealed class StepTracer : ITapeTracer
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("kumo-op/1");

    private readonly IReadOnlyList<Parameter> _parameters;
    private readonly List<Tensor> _outputs = [];
    private readonly List<OperatorRecord> _operators = [];
    private byte[] _chain;

    public StepTracer(IReadOnlyList<Parameter> parameters, string stateRootHex)
    {
        _parameters = parameters;
        _chain = Convert.FromHexString(stateRootHex);
    }

    public IReadOnlyList<OperatorRecord> Operators => _operators;

    public void OnForward(int index, Tensor output, string origin)
    {
        _outputs.Add(output);
        Append("forward " + OpName(origin), WeightCommitment.Hash(new NamedTensor("forward." + index, output.Shape, output.Data)));
    }

    public void OnBackward(int index)
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

        Append("backward " + _operators[index].Kind["forward ".Length..], WeightCommitment.Root(grads));
    }

    /// <summary>The last operator: the optimizer update, whose output hash is the new state's root.</summary>
    public void OnOptimizer(string name, string stateRootHex) =>
        _operators.Add(new OperatorRecord(_operators.Count, "optimizer " + name, Convert.ToHexStringLower(_chain), stateRootHex));

    private void Append(string kind, byte[] resultHash)
    {
        byte[] input = _chain;
        byte[] buffer = new byte[Domain.Length + input.Length + 4 + resultHash.Length];
        Domain.CopyTo(buffer, 0);
        input.CopyTo(buffer, Domain.Length);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Domain.Length + input.Length), _operators.Count);
        resultHash.CopyTo(buffer, Domain.Length + input.Length + 4);
        _chain = SHA256.HashData(buffer);
        _operators.Add(new OperatorRecord(_operators.Count, kind, Convert.ToHexStringLower(input), Convert.ToHexStringLower(_chain)));
    }

    // Ops record a lambda; the compiler names it "<MatMul>b__0", which names the op.
    private static string OpName(string origin)
    {
        int open = origin.IndexOf('<', StringComparison.Ordinal), close = origin.IndexOf('>', StringComparison.Ordinal);
        return open >= 0 && close > open + 1 ? origin[(open + 1)..close] : origin;
    }
}
