using Kumo.Cli.Commands;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Adaptive replication of exec jobs on a real devnet: the real agents run the replica lease and the hub compares.</summary>
public class ExecReplicationTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task A_new_providers_exec_job_is_run_again_on_the_other_provider_and_verified_by_equal_outputs()
    {
        string spec = devnet.Spec("replicated", DevnetFixture.ExecSpec("replicated", "mkdir -p out && echo 42 > out/answer.txt",
            extra: "  outputs: [\"out/*\"]"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        JobView job = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Events.Any(e => e.Kind.StartsWith("verif", StringComparison.Ordinal)), "the replication verdict", seconds: 60);

        Assert.Equal(JobState.Succeeded, job.State);
        JobEvent verdict = Assert.Single(job.Events, e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.True(verdict.Kind == "verified", $"{verdict.Kind}: {verdict.Detail}");
        Assert.Contains("produced the same outputs", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains(job.Events, e => e.Kind == "replicated");
        Assert.Equal(2, job.Leases.Count);
        Assert.All(job.Leases, l => Assert.Equal(CloseReason.Completed, l.CloseReason));
        Assert.NotEqual(job.Leases[0].ProviderId, job.Leases[1].ProviderId);
        Assert.Equal(0, job.Leases[1].PricePerHourMicros); // the replica costs the tenant nothing
        Assert.Equal(["out/answer.txt"], job.Outputs.Select(o => o.Path)); // the job's outputs, once

        // The job's provider is new, so the agent signed all of its pay over to the replicas that check it...
        Assert.Equal(10_000, job.Leases[0].ReplicationFeeBps);
        Assert.Equal(0, job.Leases[1].ReplicationFeeBps);

        // ...and the replica's outputs stood: the referee pays it from the replication pool on the agent's own signed
        // acceptance and result: what the job paid for its work, as the job's provider would have been paid without the fee.
        JobView paid = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId), j => j.Events.Any(e => e.Kind == "validators_paid"),
            "the replica's reward", seconds: 60);
        string reward = paid.Events.Single(e => e.Kind == "validators_paid").Detail;
        Assert.Matches($@"^from the replication pool: {job.Leases[1].ProviderId} (\d+ µKUMO|nothing) for replica lease {job.Leases[1].Id}", reward);
        Assert.DoesNotContain("refused", reward, StringComparison.Ordinal);
    }
}

/// <summary>Two agents that sign a replication fee of at most 50%: a provider on probation is offered 100%.</summary>
public sealed class FeeLimitedDevnet : DevnetFixture
{
    protected override Kumo.Cli.Devnet.LocalNetworkOptions Options => base.Options with
    {
        Providers = 2,
        SimulatedGpus = [],
        ProviderArgs = [["--max-replication-fee", "50"], ["--max-replication-fee", "50"]],
    };
}

/// <summary>An operator's limit on the replication fee its agent signs (`kumo provider start --max-replication-fee`).</summary>
public class ReplicationFeeLimitTests(FeeLimitedDevnet devnet) : IClassFixture<FeeLimitedDevnet>
{
    [Fact]
    public async Task An_agent_turns_down_an_exec_lease_whose_fee_is_above_its_limit_and_says_why()
    {
        string spec = devnet.Spec("limited", DevnetFixture.ExecSpec("limited", "mkdir -p out && echo 42 > out/answer.txt", extra: "  outputs: [\"out/*\"]"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        // Both agents are new, so each is offered the job at a 100% fee, and each turns it down.
        JobView job = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Leases.Count(l => l.CloseReason == CloseReason.ProviderRejected) == 2, "both agents to turn the job down", seconds: 60);

        Assert.All(job.Leases, l =>
        {
            Assert.Equal(10_000, l.ReplicationFeeBps);
            Assert.Contains("the replication fee of 100% (on probation on x64/cpu with 0 of 10 agreeing results: every job is replicated) is above this agent's limit of 50%",
                l.CloseDetail, StringComparison.Ordinal);
        });
        Assert.NotEqual(JobState.Succeeded, job.State);
        await devnet.Client.CancelJobAsync(devnet.Tenant, accepted.JobId);
    }
}

/// <summary>
/// Three agents of one class; the first is the cheapest, so the auction gives it the job, and it changes every output
/// of an exec lease before uploading it (fault injection).
/// </summary>
public sealed class LyingExecDevnet : DevnetFixture
{
    protected override Kumo.Cli.Devnet.LocalNetworkOptions Options => base.Options with
    {
        Providers = 3,
        SimulatedGpus = [],
        ProviderArgs = [["--exec-fault-wrong-outputs", "--price-cpu", "0.001"]],
    };
}

/// <summary>A job provider returning wrong outputs, on real agents: outvoted by two others, and the tenant gets the right files.</summary>
public class LyingExecProviderTests(LyingExecDevnet devnet) : IClassFixture<LyingExecDevnet>
{
    [Fact]
    public async Task A_job_provider_returning_wrong_outputs_is_outvoted_and_the_tenant_gets_the_majoritys_outputs()
    {
        // Only providers whose hardware proof passed are asked to bid: wait for all three, so that the cheapest is asked.
        IReadOnlyList<ProviderView> providers = await Eventually.Until(() => devnet.Client.ListProvidersAsync(),
            ps => ps.Count == 3 && ps.All(p => p.HardwareProof == "passed" && p.Status == ProviderStatus.Online), "three proven providers", seconds: 60);
        string liar = providers.Single(p => p.Name == "devnet-1").Id.Value;

        string spec = devnet.Spec("lied-about", DevnetFixture.ExecSpec("lied-about", "mkdir -p out && echo 42 > out/answer.txt", extra: "  outputs: [\"out/*\"]"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        JobView job = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Events.Any(e => e.Kind.StartsWith("verif", StringComparison.Ordinal)), "the replication verdict", seconds: 90);

        Assert.True(job.Leases[0].ProviderId.Value == liar, $"the auction gave the job to {job.Leases[0].ProviderName}, not the cheapest (devnet-1)");
        JobEvent verdict = Assert.Single(job.Events, e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.True(verdict.Kind == "verification_failed", $"{verdict.Kind}: {verdict.Detail}");
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Contains(job.Events, e => e.Kind == "replication_disagreed");
        Assert.Equal(3, job.Leases.Select(l => l.ProviderId).Distinct().Count()); // the job's run, a replica and a tie-breaker
        Assert.Contains($"on {job.Leases[0].ProviderId} was outvoted", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains("The job's outputs are now the majority's", verdict.Detail, StringComparison.Ordinal);

        // What the tenant downloads is the right answer, not the lying provider's.
        OutputFile output = Assert.Single(job.Outputs);
        Assert.Equal("out/answer.txt", output.Path);
        string downloaded = Path.Combine(devnet.Directory, "answer-" + accepted.JobId);
        await devnet.Client.DownloadAsync(output.Cid, downloaded);
        Assert.Equal("42\n", await File.ReadAllTextAsync(downloaded));
    }
}
