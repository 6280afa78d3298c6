using Kumo.Tensor.Models;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Disputes;

/// <summary>
/// A cheap stand-in for a training step, for dispute games over 10,000 steps (tests and `kumo sim verify`): the state is
/// four floats; operator j of step s computes x ← x·1.5 + ((s·j) mod 7) elementwise. It is chained like a traced
/// training step (<see cref="OperatorChain"/>: operator j's result is x after it, as "forward.j"; the last operator's
/// output is the state root), and opened and replayed one operator at a time like one. <paramref name="tamper"/> makes
/// one (step, operator) add 1 to x[0]: a cheater.
/// </summary>
public sealed class SyntheticStepMachine(int operators, (int Step, int Operator)? tamper = null) : IStepReplayer
{
    public int OperatorCount => operators;

    public static TrainingState Start { get; } = new(0, [new NamedTensor("x", [4], [1f, 2f, 3f, 4f])], []);

    public StepTrace Trace(TrainingState before)
    {
        int step = before.Step + 1;
        float[] x = [.. before.Weights[0].Data];
        var records = new List<OperatorRecord>(operators);
        string chain = before.RootHex();
        for (int j = 0; j < operators; j++)
        {
            string output = Apply(step, j, x, chain).Output;
            records.Add(new OperatorRecord(j, "synthetic", chain, output));
            chain = output;
        }

        return new StepTrace(step, records, State(step, x));
    }

    public OperatorOpening Open(TrainingState before, int op)
    {
        int step = before.Step + 1;
        float[] x = [.. before.Weights[0].Data];
        var results = new List<string>(op);
        string chain = before.RootHex();
        for (int j = 0; j < op; j++)
        {
            (string result, chain) = Apply(step, j, x, chain);
            results.Add(result);
        }

        NamedTensor input = op == 0 ? new NamedTensor("state.x", [4], x) : new NamedTensor("forward." + (op - 1), [4], x);
        return new OperatorOpening(step, op, results, [], [], [input]);
    }

    public OperatorReplay Replay(string stateRootHex, string operatorInputHex, OperatorOpening opening)
    {
        int op = opening.Operator;
        if (op < 0 || op >= operators || opening.Results.Count != op || OperatorChain.Through(stateRootHex, opening.Results) != operatorInputHex)
        {
            return OperatorReplay.Refused("synthetic", $"the revealed results do not chain to the agreed input of operator {op}");
        }

        string name = op == 0 ? "state.x" : "forward." + (op - 1);
        NamedTensor? input = opening.Tensors.FirstOrDefault(t => t.Name == name && t.Data.Length == 4 && t.Shape is [4]);
        bool authentic = input is not null && (op == 0
            ? State(opening.Step - 1, input.Data).RootHex() == stateRootHex
            : Convert.ToHexStringLower(WeightCommitment.Hash(input)) == opening.Results[op - 1]);
        return authentic
            ? new OperatorReplay("synthetic", Apply(opening.Step, op, [.. input!.Data], operatorInputHex).Output, null)
            : OperatorReplay.Refused("synthetic", $"tensor '{name}' is missing or does not match its hash");
    }

    /// <summary>Operator <paramref name="j"/> on <paramref name="x"/> in place: its result hash and its output hash.</summary>
    private (string Result, string Output) Apply(int step, int j, float[] x, string inputHex)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (x[i] * 1.5f % 1000f) + ((long)step * j % 7);
        }

        if (tamper == (step, j))
        {
            x[0] += 1f;
        }

        if (j == operators - 1)
        {
            string root = State(step, x).RootHex();
            return (root, root);
        }

        byte[] result = WeightCommitment.Hash(new NamedTensor("forward." + j, [4], x));
        return (Convert.ToHexStringLower(result), Convert.ToHexStringLower(OperatorChain.Next(Convert.FromHexString(inputHex), j, result)));
    }

    private static TrainingState State(int step, float[] x) => new(step, [new NamedTensor("x", [4], [.. x])], []);
}
