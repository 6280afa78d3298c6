using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Models;
using Kumo.Tensor.Tests.Data;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;

namespace Kumo.Tensor.Tests.Training;

/// <summary>
/// A dispute's referee recomputes one operator, not the step: for every operator of a real step (MLP and transformer,
/// AdamW and SGD), an honest opening makes the referee compute exactly the output hash of the traced step; an opening
/// that is wrong anywhere is refused, naming what is wrong.
/// </summary>
public class OperatorReplayTests
{
    public static TheoryData<string, string> Jobs => new()
    {
        { ModelSpec.MlpKind, TrainOptions.AdamWOptimizer },
        { ModelSpec.MlpKind, TrainOptions.SgdOptimizer },
        { ModelSpec.TransformerKind, TrainOptions.AdamWOptimizer },
    };

    [Theory]
    [MemberData(nameof(Jobs))]
    public void The_referee_recomputes_every_operator_alone_to_the_traced_hash(string kind, string optimizer)
    {
        (ModelSpec spec, TrainingData data, TrainOptions options) = Job(kind, optimizer);
        TrainingState before = Trainer.TrainSegment(spec, data, options, Trainer.InitialState(spec, data, options), 2).End;
        StepTrace trace = Trainer.TraceStep(spec, data, options, before);
        OperatorWiring wiring = Trainer.Wiring(spec, data, options);

        Assert.Equal(trace.Operators.Count, wiring.Count);
        for (int i = 0; i < wiring.Count; i++)
        {
            Assert.Equal(trace.Operators[i].Kind, wiring.KindOf(i));
            OperatorOpening opening = Trainer.OpenOperator(spec, data, options, before, i);
            OperatorReplay replay = Trainer.ReplayOperator(spec, data, options, wiring, before.RootHex(), trace.Operators[i].InputHash, opening);
            Assert.True(replay.Problem is null, $"operator {i} ({replay.Kind}): {replay.Problem}");
            Assert.Equal(trace.Operators[i].OutputHash, replay.OutputHash);
        }

        Assert.Equal(trace.After.RootHex(), trace.Operators[^1].OutputHash);
    }

    [Fact]
    public void The_wiring_names_where_every_input_comes_from()
    {
        (ModelSpec spec, TrainingData data, TrainOptions options) = Job(ModelSpec.MlpKind, TrainOptions.AdamWOptimizer);
        OperatorWiring wiring = Trainer.Wiring(spec, data, options);

        Assert.Equal(["MatMul", "Add", "Gelu", "MatMul", "Add", "CrossEntropy"], wiring.Forward.Select(f => f.Kind));
        Assert.Equal([Operand.Leaf("inputs"), Operand.Parameter(wiring.Parameters[0])], wiring.Forward[0].Inputs);
        Assert.Equal([Operand.Output(4)], wiring.Forward[5].Inputs);
        Assert.Equal(["labels"], wiring.Forward[5].IntLeaves);
        Assert.Equal("backward CrossEntropy", wiring.KindOf(6));
        Assert.Equal("optimizer adamw", wiring.KindOf(12));
    }

    [Theory]
    [InlineData(3)]  // forward Gelu: reads an earlier output
    [InlineData(3 + 6)] // backward MatMul (operator 3's): reads gradients and a parameter
    [InlineData(12)] // the optimizer: reads the whole state and every parameter gradient
    public void A_tampered_opening_is_refused_with_what_is_wrong(int index)
    {
        (ModelSpec spec, TrainingData data, TrainOptions options) = Job(ModelSpec.MlpKind, TrainOptions.AdamWOptimizer);
        TrainingState before = Trainer.TrainSegment(spec, data, options, Trainer.InitialState(spec, data, options), 1).End;
        StepTrace trace = Trainer.TraceStep(spec, data, options, before);
        OperatorWiring wiring = Trainer.Wiring(spec, data, options);
        OperatorOpening honest = Trainer.OpenOperator(spec, data, options, before, index);
        string input = trace.Operators[index].InputHash;

        OperatorReplay Replay(OperatorOpening o) => Trainer.ReplayOperator(spec, data, options, wiring, before.RootHex(), input, o);

        // One bit of one revealed tensor.
        NamedTensor victim = honest.Tensors[0];
        float[] flipped = [.. victim.Data];
        flipped[0] = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(flipped[0]) ^ 1);
        OperatorReplay tampered = Replay(honest with { Tensors = [victim with { Data = flipped }, .. honest.Tensors.Skip(1)] });
        Assert.Null(tampered.OutputHash);
        Assert.Contains($"'{victim.Name}'", tampered.Problem);

        // A missing input.
        OperatorReplay missing = Replay(honest with { Tensors = [.. honest.Tensors.Skip(1)] });
        Assert.Contains($"'{victim.Name}' is not revealed", missing.Problem);

        // Results that do not lead to the agreed input.
        OperatorReplay rechained = Replay(honest with { Results = [.. honest.Results.Take(index - 1), new string('0', 64)] });
        Assert.Contains("do not chain", rechained.Problem);

        // An opening of another operator against this one's input.
        OperatorReplay other = Replay(honest with { Operator = index - 1, Results = [.. honest.Results.Take(index - 1)] });
        Assert.NotNull(other.Problem);

        // The honest one still passes.
        Assert.Equal(trace.Operators[index].OutputHash, Replay(honest).OutputHash);
    }

    [Fact]
    public void Parameters_from_a_state_other_than_the_agreed_one_are_refused()
    {
        (ModelSpec spec, TrainingData data, TrainOptions options) = Job(ModelSpec.MlpKind, TrainOptions.AdamWOptimizer);
        TrainingState before = Trainer.InitialState(spec, data, options);
        StepTrace trace = Trainer.TraceStep(spec, data, options, before);
        OperatorWiring wiring = Trainer.Wiring(spec, data, options);

        // A state before the step that is not the agreed one: the parameters it reveals do not match the agreed root.
        TrainingState other = Trainer.TrainSegment(spec, data, options, before, 1).End;
        OperatorOpening forged = Trainer.OpenOperator(spec, data, options, other with { Step = 0 }, 0);
        OperatorReplay replay = Trainer.ReplayOperator(spec, data, options, wiring, before.RootHex(), trace.Operators[0].InputHash, forged);
        Assert.Null(replay.OutputHash);
        Assert.Contains("do not hash to its root", replay.Problem);
    }

    [Fact]
    public void An_opening_survives_its_file_and_a_damaged_file_is_refused()
    {
        (ModelSpec spec, TrainingData data, TrainOptions options) = Job(ModelSpec.MlpKind, TrainOptions.AdamWOptimizer);
        TrainingState before = Trainer.InitialState(spec, data, options);
        StepTrace trace = Trainer.TraceStep(spec, data, options, before);
        OperatorOpening opening = Trainer.OpenOperator(spec, data, options, before, 12);

        byte[] file = OpeningFile.Write(opening);
        OperatorOpening read = OpeningFile.Read(file);
        OperatorReplay replay = Trainer.ReplayOperator(spec, data, options, Trainer.Wiring(spec, data, options), before.RootHex(), trace.Operators[12].InputHash, read);
        Assert.Equal(trace.Operators[12].OutputHash, replay.OutputHash);
        Assert.Equal(opening.Results, read.Results);
        Assert.Equal(opening.StateLeaves, read.StateLeaves);

        Assert.Throws<SafeTensorsFormatException>(() => OpeningFile.Read(file[..(file.Length / 2)]));
        byte[] checkpoint = WorkloadRunner.WriteCheckpoint(before, spec);
        WorkloadException notOpening = Assert.Throws<WorkloadException>(() => OpeningFile.Read(checkpoint));
        Assert.Contains("kumo.opening", notOpening.Message);

        // The right metadata over a tensor that is not fp32.
        SafeTensorsFile parsed = SafeTensorsFile.Parse(file);
        byte[] ints = SafeTensorsWriter.ToBytes([new TensorEntry("forward.0", SafeTensorsDType.I32, [2], new byte[8])], parsed.Metadata);
        Assert.Contains("fp32", Assert.Throws<WorkloadException>(() => OpeningFile.Read(ints)).Message);
    }

    private static (ModelSpec, TrainingData, TrainOptions) Job(string kind, string optimizer)
    {
        var options = new TrainOptions
        {
            Steps = 4, BatchSize = 8, LearningRate = 1e-2f, Optimizer = optimizer, Seed = 7, CheckpointEvery = 1,
            Compute = new ComputeOptions { Threads = 1 },
        };
        if (kind == ModelSpec.MlpKind)
        {
            return (ModelSpec.Mlp(hidden: 32, activation: "gelu"), Digits.Load(Datasets.Digits), options);
        }

        string text = File.ReadAllText(Datasets.Licenses)[..20_000];
        return (ModelSpec.Transformer(context: 16, embed: 16, layers: 2, heads: 2), CharCorpus.FromText(text), options);
    }
}
