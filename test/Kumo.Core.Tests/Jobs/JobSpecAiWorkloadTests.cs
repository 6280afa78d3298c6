using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

/// <summary>The built-in AI workload kinds: train, infer and quantize — reading, defaults, the wire form and the errors.</summary>
public class JobSpecAiWorkloadTests
{
    private const string Cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    private static string Spec(string workload) => $"""
        version: kumo/v1
        name: ai
        resources:
          cpu: 2
          memory: 1Gi
          disk: 256Mi
        workload:
        {Indent(workload)}
        price:
          maxPerHour: 1
        timeout: 10m
        """;

    private static string Indent(string text) => string.Join("\n", text.Split('\n').Select(l => "  " + l));

    private static JobSpec Read(string workload)
    {
        JobSpecReadResult result = JobSpecReader.Read(Spec(workload), "job.yaml");
        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        return result.Spec!;
    }

    private static SpecError Error(string workload)
    {
        JobSpecReadResult result = JobSpecReader.Read(Spec(workload), "job.yaml");
        Assert.False(result.Succeeded, "the spec was accepted");
        return Assert.Single(result.Errors);
    }

    [Fact]
    public void A_training_job_reads_with_its_defaults_and_survives_the_wire_form()
    {
        JobSpec spec = Read($"""
            train:
              model: mlp
              data: digits.csv.gz
              learningRate: 3e-3
              hidden: 64
            inputs:
              - name: digits.csv.gz
                cid: {Cid}
            """);

        TrainWorkload train = Assert.IsType<TrainWorkload>(spec.Workload.Train);
        Assert.Equal("train", spec.Workload.Kind);
        Assert.Equal(0.003m, train.LearningRate);
        Assert.Equal(64, train.Hidden);
        Assert.Equal(300, train.Steps);
        Assert.Equal("adamw", train.Optimizer);

        string wire = JobSpecWriter.ToJson(spec);
        Assert.Contains("\"learningRate\":\"0.003\"", wire, StringComparison.Ordinal);
        JobSpec again = JobSpecReader.ReadWireForm(wire, "wire").Spec!;
        Assert.Equal(spec.Workload, again.Workload);
        Assert.Equal(wire, JobSpecWriter.ToJson(again));
    }

    [Fact]
    public void Inference_and_quantization_jobs_read_and_round_trip()
    {
        JobSpec infer = Read($"""
            infer:
              model: model.safetensors
              prompt: "The "
              tokens: 50
            inputs:
              - name: model.safetensors
                cid: {Cid}
            """);
        JobSpec quantize = Read($"""
            quantize:
              model: model.safetensors
              scheme: q8_0
              eval: digits.csv.gz
            inputs:
              - name: model.safetensors
                cid: {Cid}
              - name: digits.csv.gz
                cid: {Cid}
            """);

        Assert.Equal("The ", infer.Workload.Infer!.Prompt);
        Assert.Equal("q8_0", quantize.Workload.Quantize!.Scheme);
        foreach (JobSpec spec in new[] { infer, quantize })
        {
            Assert.Equal(spec.Workload, JobSpecReader.ReadWireForm(JobSpecWriter.ToJson(spec), "wire").Spec!.Workload);
        }
    }

    [Theory]
    [InlineData("train:\n  model: mlp\n  data: nothing-here", "workload.train.data", "the data set must name one of workload.inputs, and there are none; add an input named 'nothing-here'")]
    [InlineData("train:\n  model: cnn\n  data: d\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.model", "unknown model 'cnn'; expected mlp or transformer")]
    [InlineData("train:\n  model: mlp\n  data: d\n  steps: 0\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.steps", "steps must be from 1 to 1000000, found 0")]
    [InlineData("train:\n  model: mlp\n  data: d\n  learningRate: fast\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.learningRate", "expected a learning rate (0.001, 3e-4), found 'fast'")]
    [InlineData("train:\n  model: mlp\n  data: d\n  learningRate: 0\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.learningRate", "learningRate must be more than 0 and at most 10, found 0")]
    [InlineData("train:\n  model: mlp\n  data: d\n  resumeFrom: ckpt\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.resumeFrom", "the checkpoint to resume from must name one of workload.inputs (d), found 'ckpt'")]
    [InlineData("train:\n  model: transformer\n  data: d\n  embed: 30\n  heads: 4\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.embed", "embed (30) must be a multiple of heads (4)")]
    [InlineData("train:\n  model: mlp\n  data: d\n  optimiser: sgd\ninputs:\n  - name: d\n    cid: " + Cid, "workload.train.optimiser", "unknown field 'optimiser' in workload.train; did you mean 'optimizer'?")]
    [InlineData("quantize:\n  model: m\n  scheme: int4\ninputs:\n  - name: m\n    cid: " + Cid, "workload.quantize.scheme", "unknown quantization scheme 'int4'; expected int8-per-channel or q8_0")]
    [InlineData("infer:\n  model: m\n  tokens: 0\ninputs:\n  - name: m\n    cid: " + Cid, "workload.infer.tokens", "tokens must be from 1 to 100000, found 0")]
    public void A_bad_ai_workload_is_refused_naming_the_field(string workload, string path, string message)
    {
        SpecError error = Error(workload);

        Assert.Equal(path, error.Path);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void Two_kinds_at_once_are_refused()
    {
        SpecError error = Error($"exec:\n  command: /bin/true\ntrain:\n  model: mlp\n  data: d\ninputs:\n  - name: d\n    cid: {Cid}");

        Assert.Equal("workload", error.Path);
        Assert.Equal("a workload has exactly one kind, found exec and train", error.Message);
    }
}
