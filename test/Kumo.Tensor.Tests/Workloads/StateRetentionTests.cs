using Kumo.Jobs;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;

namespace Kumo.Tensor.Tests.Workloads;

/// <summary>A train run keeps the states behind its step roots (not its checkpoints) for a provider to reveal, within a budget.</summary>
public class StateRetentionTests
{
    private const string Spec = """
        {"version":"kumo/v1","name":"chars","resources":{"cpu":"1","memory":"512Mi","disk":"64Mi"},
         "workload":{"train":{"model":"transformer","data":"text.txt","steps":20,"batchSize":2,"learningRate":"0.005","optimizer":"adamw","seed":1,"checkpointEvery":10,"hidden":8,"layers":1,"heads":2,"embed":8,"context":8},
         "inputs":[{"name":"text.txt","cid":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}],"outputs":["out/*"]},
         "price":{"maxPerHour":"1"},"timeout":"5m"}
        """;

    [Fact]
    public void Every_rooted_step_that_is_not_a_checkpoint_is_kept_and_hashes_to_its_published_root()
    {
        (string output, string kept, string log) = Run(maxBytes: 64L << 20);

        StepRoots roots = StepRoots.Parse(File.ReadAllBytes(Path.Combine(output, WorkloadRunner.StepRootsFileName)));
        Assert.Equal(1, roots.Every);
        int[] steps = [.. Directory.GetFiles(kept).Select(f => WorkloadRunner.ReadCheckpoint(File.ReadAllBytes(f)).Step).Order()];
        Assert.Equal([.. Enumerable.Range(1, 19).Where(s => s != 10)], steps); // checkpoints 10 and 20 are published outputs already
        foreach (int step in steps)
        {
            TrainingState state = WorkloadRunner.ReadCheckpoint(File.ReadAllBytes(Path.Combine(kept, WorkloadRunner.StateFileName(step))));
            Assert.Equal(roots.RootAfter(step), state.RootHex());
        }

        Assert.DoesNotContain("keeping no more", log, StringComparison.Ordinal);
    }

    [Fact]
    public void Past_its_budget_a_run_keeps_no_more_states_and_still_finishes()
    {
        (_, string probe, _) = Run(maxBytes: 64L << 20);
        long one = new FileInfo(Directory.GetFiles(probe)[0]).Length;

        (string output, string kept, string log) = Run(maxBytes: (3 * one) + (one / 2));

        Assert.Equal(3, Directory.GetFiles(kept).Length);
        Assert.Contains("keeping no more step states", log, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors")));
    }

    [Fact]
    public void Without_retention_nothing_is_kept()
    {
        string inputs = Inputs(), output = Directory.CreateTempSubdirectory("kumo-keep-out-").FullName;

        new WorkloadRunner(TextWriter.Null, new ComputeOptions { Threads = 1 }).Run(Workload(), inputs, output);

        Assert.DoesNotContain(Directory.GetFiles(output), f => Path.GetFileName(f).StartsWith("state-", StringComparison.Ordinal));
    }

    private static (string Output, string Kept, string Log) Run(long maxBytes)
    {
        string inputs = Inputs(), output = Directory.CreateTempSubdirectory("kumo-keep-out-").FullName;
        string kept = Path.Combine(Directory.CreateTempSubdirectory("kumo-keep-").FullName, "keep");
        var log = new StringWriter();
        new WorkloadRunner(log, new ComputeOptions { Threads = 1 }) { Retention = new StateRetention(kept, maxBytes) }.Run(Workload(), inputs, output);
        return (output, kept, log.ToString());
    }

    private static Workload Workload() => JobSpecReader.ReadWireForm(Spec, "spec").Spec!.Workload;

    private static string Inputs()
    {
        string inputs = Directory.CreateTempSubdirectory("kumo-keep-in-").FullName;
        File.WriteAllText(Path.Combine(inputs, "text.txt"), string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 40)));
        return inputs;
    }
}
