using Kumo.Cli.Commands;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Proof of learning on a real devnet: a train job's published checkpoints are re-executed by the hub.</summary>
public class TrainingVerificationTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task A_train_job_is_verified_by_re_executing_sampled_segments_from_its_published_checkpoints()
    {
        string spec = Path.Combine(Repository.Root, "examples", "train-digits", "job.yaml");
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        JobView job = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Events.Any(e => e.Kind.StartsWith("verif", StringComparison.Ordinal)), "the hub's verdict", seconds: 90);

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Contains(job.Outputs, o => o.Path == "out/checkpoint-0000200.safetensors");
        JobEvent verification = Assert.Single(job.Events, e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.True(verification.Kind == "verified", $"{verification.Kind}: {verification.Detail}");
        Assert.StartsWith("proof of learning:", verification.Detail, StringComparison.Ordinal); // usually "re-executed segment(s) … every root agrees"; q = 0.74 may draw none (0.5 %)
    }
}
