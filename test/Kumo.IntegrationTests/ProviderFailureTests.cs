using System.Diagnostics;
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
        string spec = devnet.Spec("long", DevnetFixture.ExecSpec("long", $"# {marker}\necho working; sleep 300"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);
        await Until(async () => await devnet.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Running,
            "the job to run (agent log: " + devnet.Network.Providers[0].LogPath + ")");

        KumoProcess agent = devnet.Network.Providers[0];
        var killedAt = DateTimeOffset.UtcNow;
        agent.Kill(); // SIGKILL: no goodbye, exactly like a machine losing power

        JobView job = await Until(async () => await devnet.Client.GetJobAsync(accepted.JobId), j => j.State.IsFinal(), "the lease to close", seconds: 30);
        LeaseView lease = job.Leases.Single();
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(CloseReason.ProviderHeartbeatLost, lease.CloseReason);
        Assert.Equal(FaultParty.Provider, lease.ClosedBy);
        Assert.Equal(FaultParty.Provider, job.Failure!.Party);
        TimeSpan took = lease.ClosedAt!.Value - killedAt;
        TimeSpan bound = devnet.Network.Options.HeartbeatTimeout + TimeSpan.FromSeconds(3); // + one sweep and scheduling slack
        Assert.True(took <= bound, $"closed {took.TotalSeconds:0.0} s after the kill; bound {bound.TotalSeconds} s");
        Assert.Equal(ProviderStatus.Offline, (await devnet.Client.ListProvidersAsync()).Single().Status);

        // The sandbox died with its agent: nothing of the workload is left running on the machine.
        await Until(() => Task.FromResult(KumoCli.ProcessesWith(marker).Count == 0), "the orphaned workload to be gone");

        // The machine comes back: the same provider (same key) rejoins and runs work again.
        devnet.Network.StartProvider(0);
        await devnet.Network.WaitForProvidersAsync(1, new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        string again = devnet.Spec("again", DevnetFixture.ExecSpec("again", "echo back"));
        (JobAccepted second, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(again, null, CancellationToken.None);
        JobView done = await Until(async () => await devnet.Client.GetJobAsync(second.JobId), j => j.State.IsFinal(), "the job after the restart", seconds: 30);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(lease.ProviderId, done.Leases.Single().ProviderId);
    }

    private static Task Until(Func<Task<bool>> condition, string what, int seconds = 30) =>
        Until(condition, ok => ok, what, seconds);

    private static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            T value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"waited {seconds} s for {what}; last: {value}");
            }

            await Task.Delay(100);
        }
    }
}
