using Kumo.Cli.Commands;
using Kumo.Cli.Devnet;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

public sealed class SingleProviderDevnet : DevnetFixture
{
    protected override LocalNetworkOptions Options => base.Options with { Providers = 1, SimulatedGpus = [] };
}

public class ProviderFailureTests(SingleProviderDevnet devnet) : IClassFixture<SingleProviderDevnet>
{
    [Fact]
    public async Task A_provider_killed_mid_job_has_its_lease_closed_with_a_provider_fault_within_the_heartbeat_timeout()
    {
        string marker = "kumo-killed-" + Guid.NewGuid().ToString("N")[..8];
        // No retries: with one provider there is nowhere to fail over to (FailoverTests covers that).
        string spec = devnet.Spec("long", DevnetFixture.ExecSpec("long", $"# {marker}\necho working; sleep 300", extra: "retries: 0"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);
        await Eventually.Until(async () => await devnet.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Running,
            "the job to run (agent log: " + devnet.Network.Providers[0].LogPath + ")");

        KumoProcess agent = devnet.Network.Providers[0];
        long bondedBefore = (await devnet.Client.GetAccountAsync((await devnet.Client.GetJobAsync(accepted.JobId)).Leases.Single().ProviderId.Value)).Bonded;
        var killedAt = DateTimeOffset.UtcNow;
        agent.Kill(); // SIGKILL: no goodbye, exactly like a machine losing power

        JobView job = await Eventually.Until(async () => await devnet.Client.GetJobAsync(accepted.JobId), j => j.State.IsFinal(), "the lease to close", seconds: 30);
        LeaseView lease = job.Leases.Single();
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(CloseReason.ProviderHeartbeatLost, lease.CloseReason);
        Assert.Equal(FaultParty.Provider, lease.ClosedBy);
        Assert.Equal(FaultParty.Provider, job.Failure!.Party);
        TimeSpan took = lease.ClosedAt!.Value - killedAt;
        TimeSpan bound = devnet.Network.Options.HeartbeatTimeout + TimeSpan.FromSeconds(3); // + one sweep and scheduling slack
        Assert.True(took <= bound, $"closed {took.TotalSeconds:0.0} s after the kill; bound {bound.TotalSeconds} s");
        Assert.Equal(ProviderStatus.Offline, (await devnet.Client.ListProvidersAsync()).Single().Status);

        // The fault costs the provider part of its bond (the ledger's fault slash, paid to the tenant).
        await Eventually.Until(async () => (await devnet.Client.GetAccountAsync(lease.ProviderId.Value)).Bonded < bondedBefore, "the fault slash");

        // The sandbox died with its agent: nothing of the workload is left running on the machine.
        await Eventually.Until(() => Task.FromResult(KumoCli.ProcessesWith(marker).Count == 0), "the orphaned workload to be gone");

        // The machine comes back: the same provider (same key) rejoins and runs work again.
        devnet.Network.StartProvider(0);
        await devnet.Network.WaitForProvidersAsync(1, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        // The fault cost it part of its bond; the agent bonds the missing part again before the market offers it work.
        long required = (await devnet.Client.GetLedgerSummaryAsync()).MinBondPerDevice;
        await Eventually.Until(async () => (await devnet.Client.GetAccountAsync(lease.ProviderId.Value)).Bonded >= required, "the provider to bond again", seconds: 30);
        await Eventually.Until(async () => (await devnet.Client.ListProvidersAsync()).Single().Status == ProviderStatus.Online, "the provider to show online again", seconds: 30);
        string again = devnet.Spec("again", DevnetFixture.ExecSpec("again", "echo back"));
        (JobAccepted second, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(again, null, CancellationToken.None);
        JobView done = await Eventually.Until(async () => await devnet.Client.GetJobAsync(second.JobId), j => j.State.IsFinal(), "the job after the restart", seconds: 30);
        Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Failure?.Detail} {string.Join(" | ", done.Events.Select(e => e.Detail))}");
        Assert.Equal(lease.ProviderId, done.Leases.Single().ProviderId);
    }
}
