using System.Diagnostics;
using Kumo.Tensor.Autograd;
using Kumo.Tensor.Data;
using Kumo.Tensor.Models;
using Kumo.Tensor.Ops;

namespace Kumo.Tensor.Training;

/// <summary>
/// One operator of a step at a time: the step's wiring, a party's opening of one operator, and the referee's
/// recomputation of that operator alone from the opening — a dispute's last move, at the cost of one operator rather
/// than one step.
/// </summary>
public static partial class Trainer
{
    private const string InputsLeaf = "inputs";
    private const string LabelsLeaf = "labels";
    private const string TokensLeaf = "tokens";
    private const string TargetsLeaf = "targets";

    /// <summary>
    /// The operators of every step of a job and how they connect, from one step at batch size 1 on the initial state:
    /// the wiring depends on the model spec alone, so this costs a small fraction of one real step.
    /// </summary>
    public static OperatorWiring Wiring(ModelSpec spec, TrainingData data, TrainOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        TrainOptions single = options with { BatchSize = 1 };
        TrainingState start = InitialState(spec, data, single);
        Session session = Resume(spec, data, single, start);
        var tracer = new StepTracer(session.Model.Parameters, start.RootHex());
        session.Step(1, tracer);
        return tracer.WiringProblem is { } problem
            ? throw new InvalidOperationException($"a '{spec.Kind}' step cannot be refereed operator by operator: {problem}")
            : tracer.Wiring(options.Optimizer);
    }

    /// <summary>
    /// What an honest party reveals for operator <paramref name="index"/> of the step after <paramref name="before"/>:
    /// the results before it and the inputs it reads (<see cref="OperatorOpening"/>).
    /// </summary>
    public static OperatorOpening OpenOperator(ModelSpec spec, TrainingData data, TrainOptions options, TrainingState before, int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        Session session = Resume(spec, data, options, before);
        var tracer = new StepTracer(session.Model.Parameters, before.RootHex(), keepGradientsBefore: index);
        session.Step(before.Step + 1, tracer);
        OperatorWiring wiring = tracer.Wiring(options.Optimizer);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, wiring.Count);

        var tensors = new List<NamedTensor>();
        bool readsState = index == wiring.OptimizerIndex;
        if (wiring.ForwardOf(index) is { } op)
        {
            foreach (Operand input in op.Inputs.Distinct())
            {
                switch (input.Source)
                {
                    case OperandSource.Output:
                        Tensor output = tracer.Outputs[input.Index];
                        tensors.Add(new NamedTensor("forward." + input.Index, [.. output.Shape], [.. output.Data]));
                        break;
                    case OperandSource.Parameter:
                        readsState = true;
                        tensors.Add(StateTensor(before, input.Name!));
                        break;
                }
            }
        }
        else
        {
            tensors.AddRange(before.Weights.Concat(before.OptimizerState).Select(t => new NamedTensor("state." + t.Name, t.Shape, t.Data)));
        }

        // Gradients go with a backward operator after the first (the first starts from the loss's seed, which the referee
        // knows) and with the optimizer: only the ones it reads, but the digest of all, which the root needs.
        IReadOnlyList<NamedTensor> gradients = tracer.GradientsBefore ?? [];
        if (gradients.Count > 0)
        {
            HashSet<string> reads = wiring.ForwardOf(index) is { } backward
                ? [.. backward.Inputs.Select(i => i.GradientName).OfType<string>(), "grad.forward." + backward.Index]
                : [.. wiring.Parameters.Select(p => "grad.param." + p)];
            tensors.AddRange(gradients.Where(g => reads.Contains(g.Name)));
        }

        return new OperatorOpening(before.Step + 1, index, [.. tracer.Results.Take(index)],
            readsState ? Digests(before.Weights.Concat(before.OptimizerState)) : [],
            Digests(gradients), tensors);
    }

    /// <summary>
    /// The referee: recomputes operator <see cref="OperatorOpening.Operator"/> of step <see cref="OperatorOpening.Step"/>
    /// alone, wired as <paramref name="wiring"/> says (never as a party says), from the inputs in
    /// <paramref name="opening"/> once each is authenticated: earlier results against the agreed
    /// <paramref name="operatorInputHex"/>, state tensors against the agreed <paramref name="stateRootHex"/> before the step,
    /// gradients against the previous operator's result; batch leaves it derives itself from the seed and the step. Returns
    /// the operator's output hash, or the first thing wrong with the opening.
    /// </summary>
    public static OperatorReplay ReplayOperator(ModelSpec spec, TrainingData data, TrainOptions options, OperatorWiring wiring,
        string stateRootHex, string operatorInputHex, OperatorOpening opening)
    {
        ArgumentNullException.ThrowIfNull(wiring);
        ArgumentNullException.ThrowIfNull(opening);
        int index = opening.Operator;
        if (index < 0 || index >= wiring.Count)
        {
            return OperatorReplay.Refused("?", $"operator {index} is not one of the step's {wiring.Count}");
        }

        string kind = wiring.KindOf(index);
        try
        {
            return new OperatorReplay(kind, Replay(spec, data, options, wiring, stateRootHex, operatorInputHex, opening), null);
        }
        catch (InvalidDataException e)
        {
            return OperatorReplay.Refused(kind, e.Message);
        }
        catch (ArgumentException e)
        {
            return OperatorReplay.Refused(kind, "the revealed inputs do not fit the operator: " + e.Message);
        }
    }

    private static string Replay(ModelSpec spec, TrainingData data, TrainOptions options, OperatorWiring wiring,
        string stateRootHex, string operatorInputHex, OperatorOpening opening)
    {
        int index = opening.Operator;
        if (opening.Results.Count != index || OperatorChain.Through(stateRootHex, opening.Results) != operatorInputHex)
        {
            throw new InvalidDataException($"the {opening.Results.Count} revealed results do not chain from the state root to the agreed input of operator {index}");
        }

        var revealed = new Dictionary<string, NamedTensor>(StringComparer.Ordinal);
        foreach (NamedTensor t in opening.Tensors)
        {
            if (!revealed.TryAdd(t.Name, t))
            {
                throw new InvalidDataException($"tensor '{t.Name}' is revealed twice");
            }
        }

        var state = new Lazy<Dictionary<string, byte[]>>(() => Leaves(opening.StateLeaves, stateRootHex, "state before the step"));
        if (index == wiring.OptimizerIndex)
        {
            Dictionary<string, byte[]> finalGradients = Leaves(opening.GradientLeaves, opening.Results[index - 1], "gradients after the backward pass");
            return ReplayOptimizer(spec, data, options, wiring, opening.Step, state.Value, finalGradients, revealed);
        }

        ForwardOperator op = wiring.ForwardOf(index)!;
        var tape = new Tape(options.Compute);
        Dictionary<string, object> leaves = StepLeaves(spec, data, options, opening.Step);
        var inputs = new Dictionary<Operand, Tensor>();
        foreach (Operand operand in op.Inputs.Distinct())
        {
            inputs[operand] = operand.Source switch
            {
                OperandSource.Parameter => Fresh(Checked(revealed, "state." + operand.Name, state.Value, stripPrefix: true)),
                OperandSource.Output => ForwardOutput(revealed, opening.Results, operand.Index),
                _ => leaves.GetValueOrDefault(operand.Name!) as Tensor ?? throw new InvalidDataException($"no batch leaf '{operand.Name}'"),
            };
        }

        int[][] ints = [.. op.IntLeaves.Select(l => leaves.GetValueOrDefault(l) as int[] ?? throw new InvalidDataException($"no integer batch leaf '{l}'"))];
        if (index < wiring.Forward.Count)
        {
            Tensor y = OpReplay.Call(tape, op.Kind, [.. op.Inputs.Select(o => inputs[o])], ints, op.Attributes);
            byte[] result = WeightCommitment.Hash(new NamedTensor("forward." + index, y.Shape, y.Data));
            return Convert.ToHexStringLower(OperatorChain.Next(Convert.FromHexString(operatorInputHex), index, result));
        }

        // A backward step: the gradients before it (the loss's seed for the first), its inputs' gradients loaded, the op's
        // forward recomputed on a fresh tape, its one backward step run, and the gradient set's root taken again.
        Dictionary<string, byte[]> gradients = index == wiring.Forward.Count
            ? new(StringComparer.Ordinal) { ["grad.forward." + op.Index] = WeightCommitment.LeafHash(new NamedTensor("grad.forward." + op.Index, [1], [1f])) }
            : Leaves(opening.GradientLeaves, opening.Results[index - 1], "gradients before the operator");
        float[] seed = index == wiring.Forward.Count ? [1f] : [.. Checked(revealed, "grad.forward." + op.Index, gradients).Data];
        foreach ((Operand operand, Tensor input) in inputs)
        {
            if (operand.GradientName is { } name && gradients.ContainsKey(name))
            {
                Checked(revealed, name, gradients).Data.CopyTo(input.EnsureGrad(), 0);
            }
        }

        Tensor output = OpReplay.Call(tape, op.Kind, [.. op.Inputs.Select(o => inputs[o])], ints, op.Attributes);
        tape.Backward(output, seed);
        foreach ((Operand operand, Tensor input) in inputs)
        {
            if (operand.GradientName is { } name && input.Grad is float[] g)
            {
                gradients[name] = WeightCommitment.LeafHash(new NamedTensor(name, input.Shape, g));
            }
        }

        return Convert.ToHexStringLower(OperatorChain.Next(Convert.FromHexString(operatorInputHex), index, WeightCommitment.RootOfLeaves(gradients)));
    }

    private static string ReplayOptimizer(ModelSpec spec, TrainingData data, TrainOptions options, OperatorWiring wiring, int step,
        Dictionary<string, byte[]> state, Dictionary<string, byte[]> gradients, Dictionary<string, NamedTensor> revealed)
    {
        var weights = new List<NamedTensor>();
        var optimizerState = new List<NamedTensor>();
        var parameters = wiring.Parameters.ToHashSet(StringComparer.Ordinal);
        foreach (string name in state.Keys)
        {
            NamedTensor t = Checked(revealed, "state." + name, state, stripPrefix: true);
            (parameters.Contains(name) ? weights : optimizerState).Add(new NamedTensor(name, t.Shape, t.Data));
        }

        Session session;
        try
        {
            session = Resume(spec, data, options, new TrainingState(step - 1, weights, optimizerState));
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException("the revealed state is not a state of this job: " + e.Message, e);
        }

        foreach (Parameter p in session.Model.Parameters)
        {
            if (gradients.ContainsKey("grad.param." + p.Name))
            {
                Checked(revealed, "grad.param." + p.Name, gradients).Data.CopyTo(p.Value.EnsureGrad(), 0);
            }
        }

        session.Optimizer.Step(session.Model.Parameters);
        return session.RootHex();
    }

    /// <summary>The batch of <paramref name="step"/> as named leaves (tensors and integer arrays), derived from the seed.</summary>
    private static Dictionary<string, object> StepLeaves(ModelSpec spec, TrainingData data, TrainOptions options, int step)
    {
        IRandomSource random = Rng.For(options.Seed, (ulong)step, BatchStream);
        switch (data)
        {
            case ClassificationData c:
                (Tensor inputs, int[] labels) = MlpBatch(c, options.BatchSize, random);
                return new(StringComparer.Ordinal) { [InputsLeaf] = inputs, [LabelsLeaf] = labels };
            case CharCorpus corpus:
                int time = Resolve(spec, data).Context;
                (int[] tokens, int[] targets) = TransformerBatch(corpus.Train, time, options.BatchSize, random);
                return new(StringComparer.Ordinal)
                {
                    [TokensLeaf] = tokens,
                    [TargetsLeaf] = targets,
                    [CharTransformer.PositionsLeaf] = CharTransformer.Positions(options.BatchSize, time),
                };
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>The (name → leaf hash) map of a revealed set, checked to have root <paramref name="rootHex"/>.</summary>
    private static Dictionary<string, byte[]> Leaves(IReadOnlyList<LeafDigest> digests, string rootHex, string what)
    {
        var leaves = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (LeafDigest? d in digests)
        {
            if (d?.Name is null || d.Leaf is not { Length: 64 } || !d.Leaf.All(Uri.IsHexDigit) || !leaves.TryAdd(d.Name, Convert.FromHexString(d.Leaf)))
            {
                throw new InvalidDataException($"the {what}: leaf '{d?.Name}' is repeated or not a SHA-256 hash");
            }
        }

        return Convert.ToHexStringLower(WeightCommitment.RootOfLeaves(leaves)) == rootHex
            ? leaves
            : throw new InvalidDataException($"the leaves revealed for the {what} do not hash to its root {rootHex[..12]}…");
    }

    /// <summary>Revealed tensor <paramref name="name"/>, checked against its leaf in <paramref name="leaves"/> (keyed without "state.").</summary>
    private static NamedTensor Checked(Dictionary<string, NamedTensor> revealed, string name, Dictionary<string, byte[]> leaves, bool stripPrefix = false)
    {
        string key = stripPrefix ? name["state.".Length..] : name;
        if (!revealed.TryGetValue(name, out NamedTensor? t))
        {
            throw new InvalidDataException($"tensor '{name}' is not revealed");
        }

        if (!leaves.TryGetValue(key, out byte[]? leaf) || !WeightCommitment.LeafHash(t with { Name = key }).AsSpan().SequenceEqual(leaf))
        {
            throw new InvalidDataException($"tensor '{name}' does not match its committed leaf");
        }

        return t;
    }

    private static Tensor ForwardOutput(Dictionary<string, NamedTensor> revealed, IReadOnlyList<string> results, int index)
    {
        string name = "forward." + index;
        if (!revealed.TryGetValue(name, out NamedTensor? t))
        {
            throw new InvalidDataException($"tensor '{name}' is not revealed");
        }

        return Convert.ToHexStringLower(WeightCommitment.Hash(t)) == results[index]
            ? Fresh(t)
            : throw new InvalidDataException($"tensor '{name}' does not hash to operator {index}'s result");
    }

    /// <summary>A tensor the replayed op can own (and a backward step can give a gradient).</summary>
    private static Tensor Fresh(NamedTensor t) => new(t.Shape, [.. t.Data], requiresGrad: true);

    private static LeafDigest[] Digests(IEnumerable<NamedTensor> tensors) =>
        [.. tensors.Select(t => new LeafDigest(t.Name, Convert.ToHexStringLower(WeightCommitment.LeafHash(t))))];

    private static NamedTensor StateTensor(TrainingState state, string name)
    {
        NamedTensor t = state.Weights.Concat(state.OptimizerState).FirstOrDefault(w => w.Name == name)
            ?? throw new ArgumentException($"the state has no tensor '{name}'", nameof(state));
        return new NamedTensor("state." + name, t.Shape, t.Data);
    }
}
