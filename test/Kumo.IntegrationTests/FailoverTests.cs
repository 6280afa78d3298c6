using Kumo.Cli.Commands;
using Kumo.Cli.Devnet;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Two CPU providers as real processes; the test kills one of them.</summary>
public sealed class TwoProviderDevnet : DevnetFixture
{
    protected override LocalNetworkOptions Options => base.Options with { Providers = 2, SimulatedGpus = [] };
}

public class FailoverTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task A_job_whose_provider_dies_fails_over_to_another_and_resumes_from_its_checkpoint()
    {
        // Counts to 12, half a second a step, keeping the count in its checkpoint directory (written atomically).
        const string script = """
            n=0
            if [ -f "$KUMO_CHECKPOINT_DIR/n" ]; then n=$(cat "$KUMO_CHECKPOINT_DIR/n"); echo "resumed at $n"; fi
            while [ "$n" -lt 12 ]; do
              n=$((n+1)); echo "$n" > "$KUMO_CHECKPOINT_DIR/n.tmp"; mv "$KUMO_CHECKPOINT_DIR/n.tmp" "$KUMO_CHECKPOINT_DIR/n"
              echo "step $n"; sleep 0.5
            done
            echo finished
            """;
        string spec = devnet.Spec("resumable", DevnetFixture.ExecSpec("resumable", script, extra: "checkpoint:\n  path: ckpt\n  every: 1s\nretries: 1"));
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        JobView running = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Events.Count(e => e.Kind == "checkpoint") >= 2, "two checkpoints");
        LeaseView first = running.Leases.Single();
        int index = devnet.Network.Providers.Select((p, i) => (p, i)).Single(x => x.p.Name == first.ProviderName).i;
        long bondedBefore = (await devnet.Client.GetAccountAsync(first.ProviderId.Value)).Bonded;
        devnet.Network.Providers[index].Kill(); // SIGKILL mid-job

        JobView done = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId), j => j.State.IsFinal(), "the job to finish elsewhere", seconds: 60);
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(2, done.Leases.Count);
        Assert.Equal(CloseReason.ProviderHeartbeatLost, done.Leases[0].CloseReason);
        Assert.Equal(CloseReason.Completed, done.Leases[1].CloseReason);
        Assert.NotEqual(done.Leases[0].ProviderId, done.Leases[1].ProviderId);
        JobEvent failover = done.Events.Single(e => e.Kind == "failover");
        Assert.Contains("from the checkpoint", failover.Detail, StringComparison.Ordinal);

        // The second node restored the checkpoint: it resumed past step 0 and did not redo everything.
        IReadOnlyList<LogEntry> logs = await devnet.Client.GetLogsAsync(accepted.JobId);
        string resumed = logs.Select(l => l.Text).Single(t => t.StartsWith("resumed at ", StringComparison.Ordinal));
        int from = int.Parse(resumed["resumed at ".Length..], System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(from, 1, 12);
        Assert.Contains(logs, l => l.Text == "finished");
        Assert.Equal(12 - from, logs.Count(l => l.LeaseId == done.Leases[1].Id && l.Text.StartsWith("step ", StringComparison.Ordinal)));

        // The faulty provider lost part of its bond to the tenant (the ledger's fault slash).
        await Eventually.Until(async () => (await devnet.Client.GetAccountAsync(first.ProviderId.Value)).Bonded < bondedBefore, ok => ok, "the fault slash");

        devnet.Network.StartProvider(index);
    }
}
