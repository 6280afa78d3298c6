using Kumo.Client;
using Kumo.Content;
using Kumo.Hardware;
using Kumo.Hub.Tests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Hub.Tests;

public class LeaseFlowTests
{
    private static Task<JobView> WaitForJobAsync(HubFixture hub, string jobId, Func<JobView, bool> done, string what) =>
        Eventually.UntilAsync(() => hub.Client.GetJobAsync(jobId), done, $"job {jobId} {what}");

    private static string SomeCid(string text) => UnixFsImporter.Import(System.Text.Encoding.UTF8.GetBytes(text)).Root.ToString();

    [Fact]
    public async Task A_job_goes_offered_accepted_running_succeeded_with_outputs_and_a_timeline()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Simple);

        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(accepted.JobId, offer.JobId);
        Assert.True(offer.Submission.TryVerify(out string? why), why); // the provider can check the tenant asked for this
        Assert.Equal(tenant.AccountId, offer.Submission.Signer);
        Assert.Equal(1000, offer.Allocation.CpuMillicores);

        await provider.AcceptAsync(offer);
        await WaitForJobAsync(hub, accepted.JobId, j => j.Leases[0].State == LeaseState.Accepted, "to be accepted");
        await provider.StartedAsync(offer.LeaseId);
        await provider.LogsAsync(offer.LeaseId, 0, "hello", "world");
        await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Running, "to run");
        string cid = SomeCid("result");
        await provider.ResultAsync(offer.LeaseId, CloseReason.Completed, 0, new OutputFile("out/result.txt", cid, 6));

        JobView done = await WaitForJobAsync(hub, accepted.JobId, j => j.State.IsFinal(), "to end");
        Assert.Equal(JobState.Succeeded, done.State);
        LeaseView lease = Assert.Single(done.Leases);
        Assert.Equal(CloseReason.Completed, lease.CloseReason);
        Assert.Equal(0, lease.ExitCode);
        Assert.NotNull(lease.FirstLogAt);
        Assert.Equal([new OutputFile("out/result.txt", cid, 6)], done.Outputs);
        Assert.Equal(["submitted", "bidding", "offered", "accepted", "started", "lease_closed", "succeeded"], done.Events.Select(e => e.Kind));
        Assert.Equal(["hello", "world"], (await hub.Client.GetLogsAsync(accepted.JobId)).Select(l => l.Text));
    }

    [Fact]
    public async Task A_rejected_offer_goes_to_another_provider_and_never_back()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);

        // Whichever is offered the job first declines it; the other must get it next.
        Task<LeaseOffer> toOne = one.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Task<LeaseOffer> toTwo = two.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Task<LeaseOffer> first = await Task.WhenAny(toOne, toTwo);
        (FakeProvider declining, Task<LeaseOffer> next) = first == toOne ? (one, toTwo) : (two, toOne);
        await declining.RejectAsync(await first, "maintenance window");
        LeaseOffer again = await next;

        Assert.Equal(accepted.JobId, again.JobId);
        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        LeaseView declined = job.Leases.Single(l => l.State == LeaseState.Closed);
        Assert.Equal(CloseReason.ProviderRejected, declined.CloseReason);
        Assert.Equal(declining.Id, declined.ProviderId.Value);
        Assert.Contains("maintenance window", declined.CloseDetail, StringComparison.Ordinal);
        Assert.Contains(job.Events, e => e.Kind == "reordered");
    }

    [Fact]
    public async Task An_offer_not_accepted_in_time_is_withdrawn_and_the_job_requeued()
    {
        // A long heartbeat timeout: only the offer's clock may run out here.
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { HeartbeatTimeout = TimeSpan.FromMinutes(5) });
        await using FakeProvider silent = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await silent.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);

        hub.Clock.Advance(hub.Options.OfferTimeout + TimeSpan.FromSeconds(1));
        await hub.SweepAsync();

        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.True(job.State.IsOrderOpen(), $"the order re-opens, not {job.State}");
        Assert.Equal(CloseReason.ProviderOfferExpired, job.Leases[0].CloseReason);
        LeaseCancel cancel = await silent.ExpectAsync<LeaseCancel>(ChannelMessageTypes.LeaseCancel);
        Assert.Equal(offer.LeaseId, cancel.LeaseId);

        // A late acceptance of the withdrawn offer changes nothing and is told to stand down.
        await silent.AcceptAsync(offer);
        LeaseCancel standDown = await silent.ExpectAsync<LeaseCancel>(ChannelMessageTypes.LeaseCancel);
        Assert.Equal(offer.LeaseId, standDown.LeaseId);
        Assert.Equal(LeaseState.Closed, (await hub.Client.GetJobAsync(accepted.JobId)).Leases[0].State);
    }

    [Fact]
    public async Task A_provider_that_stops_heartbeating_loses_its_leases_with_a_provider_fault_within_the_timeout()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Wire(Specs.Yaml() + "\nretries: 0"));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Running, "to run");

        hub.Clock.Advance(hub.Options.HeartbeatTimeout - TimeSpan.FromSeconds(1));
        await hub.SweepAsync();
        Assert.Equal(JobState.Running, (await hub.Client.GetJobAsync(accepted.JobId)).State); // not yet

        provider.Crash();
        hub.Clock.Advance(TimeSpan.FromSeconds(2));
        await hub.SweepAsync();

        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Equal(JobState.Failed, job.State); // no retries: no failover
        Assert.Equal(CloseReason.ProviderHeartbeatLost, job.Failure!.Reason);
        Assert.Equal(FaultParty.Provider, job.Failure.Party);
        Assert.Contains("gave up after 1 provider fault", job.Failure.Detail, StringComparison.Ordinal);
        Assert.Contains("provider_heartbeat_lost", job.Failure.Detail, StringComparison.Ordinal);
        Assert.Equal(FaultParty.Provider, job.Leases[0].ClosedBy);
        Assert.Equal(ProviderStatus.Offline, (await hub.Client.ListProvidersAsync()).Single().Status);
    }

    [Fact]
    public async Task A_heartbeat_that_no_longer_lists_a_running_lease_closes_it_as_unstable()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await WaitForJobAsync(hub, accepted.JobId, j => j.Leases[0].State == LeaseState.Accepted, "to be accepted");

        await provider.HeartbeatAsync(offer.LeaseId); // still there
        await Task.Delay(200);
        Assert.True((await hub.Client.GetJobAsync(accepted.JobId)).Leases[0].State.IsOpen());
        await provider.HeartbeatAsync(); // gone: the agent restarted and forgot it

        // A provider fault: the job fails over (re-ordered without that provider) rather than failing.
        JobView job = await WaitForJobAsync(hub, accepted.JobId, j => j.Events.Any(e => e.Kind == "failover"), "to fail over");
        Assert.Equal(CloseReason.ProviderUnstable, job.Leases[0].CloseReason);
        Assert.True(job.State.IsOrderOpen(), $"re-ordered, not {job.State}");
        Assert.Contains("without " + provider.Id, job.Events.Single(e => e.Kind == "failover").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_result_naming_an_output_outside_the_job_is_refused_and_changes_nothing()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);

        await provider.ResultAsync(offer.LeaseId, CloseReason.Completed, 0, new OutputFile("../../home/user/.bashrc", SomeCid("x"), 1));

        ChannelError error = await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("invalid_output", error.Code);
        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Equal(LeaseState.Accepted, job.Leases[0].State);
        Assert.Empty(job.Outputs);
    }

    [Fact]
    public async Task An_acceptance_that_does_not_match_the_offer_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);

        await provider.SendSignedAsync(ChannelMessageTypes.LeaseAccept, MessageTypes.LeaseAccept,
            new LeaseAcceptance(offer.LeaseId, offer.JobId, offer.Submission.Digest(), offer.PricePerHourMicros * 2));

        ChannelError error = await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("acceptance_mismatch", error.Code);
    }

    [Fact]
    public async Task Log_lines_resent_after_a_reconnect_are_kept_once()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);

        await provider.LogsAsync(offer.LeaseId, 0, "a", "b");
        await provider.LogsAsync(offer.LeaseId, 0, "a", "b", "c");
        await provider.LogsAsync(offer.LeaseId, 3, "d");

        IReadOnlyList<LogEntry> logs = await Eventually.UntilAsync(() => hub.Client.GetLogsAsync(accepted.JobId), l => l.Count >= 4, "four log lines");
        Assert.Equal(["a", "b", "c", "d"], logs.Select(l => l.Text));
        Assert.Equal([1L, 2, 3, 4], logs.Select(l => l.Seq));
    }

    [Fact]
    public async Task Following_logs_streams_lines_as_they_arrive_and_ends_with_the_job()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);

        var seen = new List<string>();
        var firstLine = new TaskCompletionSource();
        LogStreamEnd? end = null;
        Task follow = Task.Run(async () =>
        {
            await foreach (LogFollowItem item in hub.Client.FollowLogsAsync(accepted.JobId))
            {
                if (item.Line is { } line)
                {
                    seen.Add(line.Text);
                    firstLine.TrySetResult();
                }

                end = item.End ?? end;
            }
        });

        await provider.LogsAsync(offer.LeaseId, 0, "step 1");
        await firstLine.Task.WaitAsync(TimeSpan.FromSeconds(10)); // arrives while the job still runs
        Assert.False(follow.IsCompleted);
        await provider.LogsAsync(offer.LeaseId, 1, "step 2");
        await provider.ResultAsync(offer.LeaseId, CloseReason.WorkloadFailed, 3);
        await follow.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["step 1", "step 2"], seen);
        Assert.Equal(JobState.Failed, end!.State);
        Assert.Equal(CloseReason.WorkloadFailed, end.Failure!.Reason);
        Assert.Equal(FaultParty.Tenant, end.Failure.Party);
    }

    [Fact]
    public async Task Cancelling_a_running_job_tells_the_provider_to_stop_it()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Running, "to run");

        JobView cancelled = await hub.Client.CancelJobAsync(tenant, accepted.JobId);

        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal(CloseReason.TenantCancelled, cancelled.Leases[0].CloseReason);
        LeaseCancel stop = await provider.ExpectAsync<LeaseCancel>(ChannelMessageTypes.LeaseCancel);
        Assert.Equal(offer.LeaseId, stop.LeaseId);
        Assert.Equal(CloseReason.TenantCancelled, stop.Reason);
    }

    [Fact]
    public async Task A_lease_running_past_its_timeout_and_grace_is_closed_by_the_hub()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Wire(Specs.Yaml(timeout: "10s")));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Running, "to run");

        hub.Clock.Advance(TimeSpan.FromSeconds(10) + hub.Options.TimeoutGrace + TimeSpan.FromSeconds(1));
        await provider.HeartbeatAsync(offer.LeaseId);
        await Task.Delay(100);
        await hub.SweepAsync();

        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Equal(CloseReason.WorkloadTimedOut, job.Failure!.Reason);
        Assert.Equal((await provider.ExpectAsync<LeaseCancel>(ChannelMessageTypes.LeaseCancel)).LeaseId, offer.LeaseId);
    }

    [Fact]
    public async Task Gpu_jobs_get_devices_of_one_matching_model_and_never_the_same_device_twice()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        GpuDevice[] gpus = [FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(1, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(2, "NVIDIA A100-SXM4-40GB", 40)];
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "gpus", FakeProvider.Inventory(cores: 16, gpus: gpus));
        string spec = Specs.Wire(Specs.Yaml(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: \"H100*\" }", price: "5"));

        LeaseOffer[] offers = new LeaseOffer[2];
        for (int i = 0; i < 2; i++)
        {
            await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec);
            offers[i] = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
            Assert.Equal("NVIDIA H100 80GB HBM3", offers[i].Allocation.GpuModel); // the real model, not the pattern
        }

        Assert.NotEqual(offers[0].Allocation.GpuUuids.Single(), offers[1].Allocation.GpuUuids.Single());
        JobAccepted third = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec);
        await Task.Delay(300);
        await hub.ScheduleAsync();
        Assert.True((await hub.Client.GetJobAsync(third.JobId)).State.IsOrderOpen()); // both H100s are held: it waits
        JobView first = (await hub.Client.ListJobsAsync(null)).Last();
        Assert.True(first.Leases[0].SimulatedGpus);
    }
}
