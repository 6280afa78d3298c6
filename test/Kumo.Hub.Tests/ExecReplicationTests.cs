using Kumo.Client;
using Kumo.Content;
using Kumo.Hub.Storage;
using Kumo.Hub.Tests.Support;
using Kumo.Hub.Verification;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Tensor.Randomness;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>Live adaptive replication of exec jobs (docs/REPLICATION.md), driven by hand with fake providers.</summary>
public class ExecReplicationTests
{
    private const string CpuClass = "x64/cpu";

    private static string SomeCid(string text) => UnixFsImporter.Import(System.Text.Encoding.UTF8.GetBytes(text)).Root.ToString();

    private static ExecReplicationService Replication(HubFixture hub) => hub.Services.GetRequiredService<ExecReplicationService>();

    private static IHubStore Store(HubFixture hub) => hub.Services.GetRequiredService<IHubStore>();

    private static async Task<IReadOnlyList<LeaseRecord>> LeasesAsync(HubFixture hub, string jobId)
    {
        await using IHubReader reader = await Store(hub).OpenReaderAsync(CancellationToken.None);
        return await reader.ListLeasesForJobAsync(jobId);
    }

    private static async Task<long> TrustAsync(HubFixture hub, FakeProvider provider)
    {
        await using IHubReader reader = await Store(hub).OpenReaderAsync(CancellationToken.None);
        return (await reader.ListExecTrustAsync()).SingleOrDefault(t => t.ProviderId == provider.Id && t.HardwareClass == CpuClass)?.Agreements ?? 0;
    }

    /// <summary>Stores <paramref name="agreements"/> consecutive agreeing results on the CPU class for each provider (the hub reads them from the store).</summary>
    private static async Task SetTrustAsync(HubFixture hub, long agreements, params FakeProvider[] providers)
    {
        await using IHubTransaction tx = await Store(hub).BeginAsync(CancellationToken.None);
        foreach (FakeProvider p in providers)
        {
            await tx.UpsertExecTrustAsync(new ExecTrustRecord(p.Id, CpuClass, agreements, 0));
        }

        await tx.CommitAsync();
    }

    private static async Task<ReputationRecord?> ReputationAsync(HubFixture hub, FakeProvider provider)
    {
        await using IHubReader reader = await Store(hub).OpenReaderAsync(CancellationToken.None);
        return await reader.GetReputationAsync(provider.Id);
    }

    /// <summary>
    /// Submits the simple exec job and has whichever provider the market chose complete it with <paramref name="cid"/>,
    /// after running for <paramref name="billed"/> on the hub's clock (by default no time: the job costs nothing).
    /// </summary>
    private static async Task<(string JobId, FakeProvider Primary)> RunJobAsync(HubFixture hub, RequestSigner tenant, IReadOnlyList<FakeProvider> providers,
        Func<FakeProvider, string> cid, TimeSpan billed = default)
    {
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Simple);
        JobView offered = await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Leases.Count > 0, $"job {accepted.JobId} to be offered");
        FakeProvider primary = providers.Single(p => p.Id == offered.Leases[0].ProviderId.Value);
        LeaseOffer offer = await primary.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(offered.Leases[0].Id, offer.LeaseId);
        await primary.AcceptAsync(offer);
        if (billed > TimeSpan.Zero)
        {
            await primary.StartedAsync(offer.LeaseId);
            await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Events.Any(e => e.Kind == "started"), $"job {accepted.JobId} to start");
            hub.Clock.Advance(billed);
        }

        await primary.ResultAsync(offer.LeaseId, CloseReason.Completed, 0, new OutputFile("out/result.txt", cid(primary), 6));
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Succeeded, $"job {accepted.JobId} to succeed");
        return (accepted.JobId, primary);
    }

    /// <summary>Runs a replication pass that must offer a replica, and has its provider complete it with <paramref name="cid"/>.</summary>
    private static async Task<(LeaseRecord Replica, FakeProvider Provider)> RunReplicaAsync(HubFixture hub, string jobId, IReadOnlyList<FakeProvider> providers,
        Func<FakeProvider, string> cid)
    {
        HashSet<string> before = [.. (await LeasesAsync(hub, jobId)).Select(l => l.Id)];
        Assert.Equal(0, await Replication(hub).RunOnceAsync(CancellationToken.None));
        LeaseRecord replica = Assert.Single(await LeasesAsync(hub, jobId), l => !before.Contains(l.Id));
        Assert.NotNull(replica.ReplicaOf);
        FakeProvider provider = providers.Single(p => p.Id == replica.ProviderId);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(replica.Id, offer.LeaseId);
        Assert.Equal(0, offer.PricePerHourMicros); // the job's escrow does not pay a replica
        Assert.True(offer.Submission.TryVerify(out string? why), why); // the tenant's own signed job: the agent's check passes
        await provider.AcceptAsync(offer);
        await provider.ResultAsync(offer.LeaseId, CloseReason.Completed, 0, new OutputFile("out/result.txt", cid(provider), 6));
        await Eventually.UntilAsync(() => LeasesAsync(hub, jobId), ls => ls.Single(l => l.Id == replica.Id).State == LeaseState.Closed,
            $"replica {replica.Id} of job {jobId} to close");
        return (replica, provider);
    }

    [Fact]
    public async Task A_new_providers_exec_job_is_replicated_on_another_provider_of_its_class_and_the_agreement_recorded()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        FakeProvider[] providers = [one, two];
        string cid = SomeCid("result");

        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => cid);
        (LeaseRecord replica, FakeProvider replicating) = await RunReplicaAsync(hub, jobId, providers, _ => cid);
        Assert.NotEqual(primary.Id, replicating.Id);
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal([new OutputFile("out/result.txt", cid, 6)], job.Outputs); // the replica's outputs are not added to the job's
        Assert.Equal(2, job.Leases.Count);
        Assert.Equal(["replicated", "accepted", "lease_closed", "verified", "validators_paid"], job.Events.SkipWhile(e => e.Kind != "replicated").Select(e => e.Kind));
        Assert.Contains("produced the same outputs", job.Events[^2].Detail, StringComparison.Ordinal);
        Assert.Contains($"{replicating.Id} nothing for replica lease {replica.Id}: the job paid nothing for its work", job.Events[^1].Detail,
            StringComparison.Ordinal); // the job ran no billed time
        Assert.Equal(1, await TrustAsync(hub, one));
        Assert.Equal(1, await TrustAsync(hub, two));
        Assert.Equal(1, Replication(hub).Policy.ConsecutiveAgreements(primary.Id, CpuClass));

        // The replica is not billed: the ledger never follows it.
        Assert.Equal(LedgerPhases.Closed, (await LeasesAsync(hub, jobId)).Single(l => l.Id == replica.Id).LedgerPhase);
        Assert.Equal(0, await Replication(hub).RunOnceAsync(CancellationToken.None)); // nothing more to do
    }

    [Fact]
    public async Task On_a_network_without_replication_fees_a_replica_whose_outputs_stood_is_paid_from_the_network_fee_pool_like_a_validator()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { Genesis = o.Genesis! with { MaxReplicationFeeBps = 0 } });
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        FakeProvider[] providers = [one, two];
        string cid = SomeCid("result");

        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => cid, billed: TimeSpan.FromSeconds(50)); // the job's timeout is a minute
        (LeaseRecord replica, FakeProvider replicating) = await RunReplicaAsync(hub, jobId, providers, _ => cid);
        long before = (await hub.Client.GetAccountAsync(replicating.Id)).Balance;
        long jobPaid = await Eventually.UntilAsync(() => Task.FromResult(hub.Ledger.Read(s => s.PaidFrom(jobId))), paid => paid > 0, "the ledger to settle the job's lease");
        long pool = hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.FeePool));
        Assert.True(pool > 0);
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        // The replica re-ran the whole job, so it is due what the job paid; the pool holds this job's network fee, less than that.
        long expected = Math.Min(pool, hub.Ledger.Read(s => (long)((Int128)jobPaid * s.Genesis.ValidationRewardBps / 10_000)));
        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(["verified", "validators_paid"], job.Events.Select(e => e.Kind).TakeLast(2));
        Assert.Equal($"from the network fee pool: {replicating.Id} {expected} µKUMO for replica lease {replica.Id} (it re-ran the whole job)", job.Events[^1].Detail);
        var reward = Assert.Single(hub.Ledger.Read(s => s.ValidationRewards(jobId).ToList()));
        Assert.Equal((replica.Id, replicating.Id, expected), (reward.TaskId, reward.Validator.Value, reward.Amount));
        Assert.Equal(before + expected, (await hub.Client.GetAccountAsync(replicating.Id)).Balance);
        Assert.NotEqual(primary.Id, reward.Validator.Value); // its escrow paid it; the pool does not

        // Paying again for the same replica is refused by the ledger (a hub that restarts mid-pass cannot pay twice).
        var referee = hub.Services.GetRequiredService<Kumo.Hub.Ledger.RefereeService>();
        LeaseRecord closed = (await LeasesAsync(hub, jobId)).Single(l => l.Id == replica.Id);
        (long again, string? why) = await referee.RewardReplicaAsync(Envelope(closed.AcceptanceEnvelope!), Envelope(closed.ResultEnvelope!), jobId, CancellationToken.None);
        Assert.Equal(0, again);
        Assert.NotNull(why);
        using var source = new Kumo.Hub.Storage.Sqlite.SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        Kumo.Ledger.Audit.AuditReport audit = new Kumo.Ledger.Audit.Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString());

        static Kumo.Signing.SignedEnvelope Envelope(string json) =>
            System.Text.Json.JsonSerializer.Deserialize<Kumo.Signing.SignedEnvelope>(json, Kumo.Serialization.KumoJson.Options)!;
    }

    [Fact]
    public async Task A_probation_providers_exec_lease_signs_all_its_pay_over_to_its_replica_which_is_paid_the_jobs_whole_work()
    {
        // Replication on (its background pass waits a sweep interval, an hour here: the test drives it by hand).
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ReplicateExec = true });
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        FakeProvider[] providers = [one, two];
        string cid = SomeCid("result");

        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => cid, billed: TimeSpan.FromSeconds(50));

        // The offer carried the fee and said why; the provider's signed acceptance repeats it, and the ledger holds it to that.
        JobView ran = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(10_000, Assert.Single(ran.Leases).ReplicationFeeBps);
        Assert.Contains("; replication fee 100% of its pay, on probation on x64/cpu with 0 of 10 agreeing results: every job is replicated",
            ran.Events.Single(e => e.Kind == "offered").Detail, StringComparison.Ordinal);
        LeaseRecord own = Assert.Single(await LeasesAsync(hub, jobId));
        Assert.Equal(10_000, Envelope(own.AcceptanceEnvelope!).PayloadAs<LeaseAcceptance>().ReplicationFeeBps);
        long value = await Eventually.UntilAsync(() => Task.FromResult(hub.Ledger.Read(s => s.Escrow(jobId)!.OpenLeaseIds.Count == 0 ? s.WorkValueOf(jobId) : 0)),
            v => v > 0, "the ledger to close the job's lease");
        Assert.Equal(value, hub.Ledger.Read(s => s.ReplicationFeesFrom(jobId))); // all of the provider's part
        Assert.Equal(0, hub.Ledger.Read(s => s.PaidFrom(jobId)));
        Assert.Equal(value, hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.ReplicationPool)));

        (LeaseRecord replica, FakeProvider replicating) = await RunReplicaAsync(hub, jobId, providers, _ => cid);
        long before = (await hub.Client.GetAccountAsync(replicating.Id)).Balance;
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        // The replica re-ran the whole job: it gets what the job paid for its work, which its provider's fee put in the pool.
        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal($"from the replication pool: {replicating.Id} {value} µKUMO for replica lease {replica.Id} (it re-ran the whole job)", job.Events[^1].Detail);
        Assert.Equal(before + value, (await hub.Client.GetAccountAsync(replicating.Id)).Balance);
        Assert.Equal(0, hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.ReplicationPool)));
        Assert.Equal(0, hub.Ledger.Read(s => s.RewardedFor(jobId))); // the validators' cap is not spent on it
        Assert.NotEqual(primary.Id, replicating.Id);
        using var source = new Kumo.Hub.Storage.Sqlite.SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        Kumo.Ledger.Audit.AuditReport audit = new Kumo.Ledger.Audit.Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString());
    }

    [Fact]
    public async Task A_trusted_provider_pays_its_replication_probability_and_a_job_nobody_else_can_check_pays_nothing()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ReplicateExec = true });
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        RequestSigner tenant = await hub.TenantAsync();

        // Alone on its class: the job will be accepted unchecked, so it pays for no check.
        (string alone, _) = await RunJobAsync(hub, tenant, [one], _ => SomeCid("alone"));
        Assert.Equal(0, Assert.Single((await hub.Client.GetJobAsync(alone)).Leases).ReplicationFeeBps);

        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        await SetTrustAsync(hub, 15, one, two);

        (string trusted, _) = await RunJobAsync(hub, tenant, [one, two], _ => SomeCid("trusted"));
        JobView job = await hub.Client.GetJobAsync(trusted);
        Assert.Equal(667, Assert.Single(job.Leases).ReplicationFeeBps); // ⌈10,000 / 15⌉: its jobs are replicated 1 in 15
        Assert.Contains("replication fee 6.67% of its pay, 15 consecutive agreeing results on x64/cpu: 1 job in 15 is replicated",
            job.Events.Single(e => e.Kind == "offered").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_acceptance_that_signs_another_replication_fee_than_the_offer_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ReplicateExec = true });
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple);
        JobView offered = await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Leases.Count > 0, "the offer");
        FakeProvider primary = new[] { one, two }.Single(p => p.Id == offered.Leases[0].ProviderId.Value);
        LeaseOffer offer = await primary.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(10_000, offer.ReplicationFeeBps);

        await primary.SendSignedAsync(ChannelMessageTypes.LeaseAccept, Kumo.Signing.MessageTypes.LeaseAccept, offer.Acceptance() with { ReplicationFeeBps = null });

        ChannelError error = await primary.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("acceptance_mismatch", error.Code);
        Assert.Contains("the acceptance signs a replication fee of 0 bps; the offer's is 10000 bps", error.Message, StringComparison.Ordinal);
        Assert.Equal(LeaseState.Offered, (await hub.Client.GetJobAsync(accepted.JobId)).Leases[0].State);
    }

    private static Kumo.Signing.SignedEnvelope Envelope(string json) =>
        System.Text.Json.JsonSerializer.Deserialize<Kumo.Signing.SignedEnvelope>(json, Kumo.Serialization.KumoJson.Options)!;

    [Fact]
    public async Task After_ten_agreements_a_providers_jobs_are_replicated_only_with_probability_one_in_n()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        FakeProvider[] providers = [one, two];
        RequestSigner tenant = await hub.TenantAsync();
        ExecReplicationService replication = Replication(hub);

        for (int i = 0; i < 10; i++)
        {
            string cid = SomeCid($"result {i}");
            (string jobId, _) = await RunJobAsync(hub, tenant, providers, _ => cid);
            await RunReplicaAsync(hub, jobId, providers, _ => cid);
            Assert.Equal(1, await replication.RunOnceAsync(CancellationToken.None));
        }

        // Every job was replicated, and each agreement counted for both: both are now trusted on the class.
        Assert.Equal(10, await TrustAsync(hub, one));
        Assert.Equal(10, await TrustAsync(hub, two));
        Assert.Equal(0.1, replication.Policy.ReplicationProbability(one.Id, CpuClass), 6);

        // A draw of at least 1/10 (found deterministically): the next job is accepted without a replica.
        ulong seed = 0;
        while (new Philox(seed, 0, 0).NextFloat() < 0.1)
        {
            seed++;
        }

        replication.Random = new Philox(seed, 0, 0);
        (string last, _) = await RunJobAsync(hub, tenant, providers, _ => SomeCid("last"));
        Assert.Equal(1, await replication.RunOnceAsync(CancellationToken.None));
        JobView job = await hub.Client.GetJobAsync(last);
        Assert.Single(job.Leases);
        Assert.Equal("verified", job.Events[^1].Kind);
        Assert.Contains("not replicated this time", job.Events[^1].Detail, StringComparison.Ordinal);
        Assert.Equal(10, await TrustAsync(hub, one)); // an unreplicated result proves nothing: counters unchanged
    }

    [Fact]
    public async Task A_provider_returning_wrong_outputs_is_outvoted_by_a_tie_breaker_and_only_it_is_penalised()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        await using FakeProvider three = await FakeProvider.JoinAsync(hub, "three");
        FakeProvider[] providers = [one, two, three];

        // Each has some history (below the trust threshold, so the job is surely replicated); the hub restores it from the store.
        await SetTrustAsync(hub, 5, providers);

        string honest = SomeCid("the right answer"), wrong = SomeCid("a cheap guess");
        FakeProvider? liar = null;
        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, p => { liar = p; return wrong; });
        Assert.Same(primary, liar);
        ReputationRecord? liarBefore = await ReputationAsync(hub, primary);

        (_, FakeProvider second) = await RunReplicaAsync(hub, jobId, providers, _ => honest);
        (_, FakeProvider third) = await RunReplicaAsync(hub, jobId, providers, _ => honest); // the disagreement asks a third provider
        Assert.Equal(3, new[] { primary.Id, second.Id, third.Id }.Distinct().Count());
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(JobState.Succeeded, job.State); // the tenant's job ended long ago; the verdict follows it
        Assert.Contains(job.Events, e => e.Kind == "replication_disagreed" && e.Detail.Contains(wrong, StringComparison.Ordinal));
        JobEvent verdict = job.Events[^2];
        Assert.Equal("verification_failed", verdict.Kind);
        Assert.Equal("validators_paid", job.Events[^1].Kind); // both replicas' outputs stood
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Matches(job.Events[^1].Detail, "for replica lease").Count);
        Assert.Contains($"on {primary.Id} was outvoted", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains($"The job's outputs are now the majority's, as replica lease", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains($"out/result.txt = {honest}", verdict.Detail, StringComparison.Ordinal);
        Assert.Contains($"the outvoted ones were out/result.txt = {wrong}", verdict.Detail, StringComparison.Ordinal);

        // The tenant paid for one right run: it gets the majority's outputs, not the outvoted ones; the liar's signed result keeps them.
        Assert.Equal([new OutputFile("out/result.txt", honest, 6)], job.Outputs);
        Assert.Contains(wrong, (await LeasesAsync(hub, jobId)).Single(l => l.ReplicaOf is null).ResultEnvelope, StringComparison.Ordinal);

        Assert.Equal(0, await TrustAsync(hub, primary));
        Assert.Equal(6, await TrustAsync(hub, second));
        Assert.Equal(6, await TrustAsync(hub, third));
        ReputationRecord liarAfter = (await ReputationAsync(hub, primary))!;
        Assert.True(liarAfter.Failures > (liarBefore?.Failures ?? 0) + 0.5, $"the liar's reputation records a failure: {liarAfter}");
        foreach (FakeProvider p in new[] { second, third })
        {
            ReputationRecord r = (await ReputationAsync(hub, p))!;
            Assert.True(r.Failures < 1e-9, $"{p.Name} was honest and must not be penalised: {r}");
        }
    }

    [Fact]
    public async Task A_lying_replica_is_outvoted_and_the_jobs_outputs_stand()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        await using FakeProvider three = await FakeProvider.JoinAsync(hub, "three");
        FakeProvider[] providers = [one, two, three];
        string honest = SomeCid("the right answer");

        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => honest);
        (_, FakeProvider liar) = await RunReplicaAsync(hub, jobId, providers, _ => SomeCid("made up"));
        (_, FakeProvider tieBreaker) = await RunReplicaAsync(hub, jobId, providers, _ => honest);
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal("verified", job.Events[^2].Kind);
        Assert.Contains($"the replica lease", job.Events[^2].Detail, StringComparison.Ordinal);
        Assert.Contains($"on {liar.Id} was outvoted", job.Events[^2].Detail, StringComparison.Ordinal);
        Assert.Contains(tieBreaker.Id, job.Events[^1].Detail, StringComparison.Ordinal); // the tie-breaker's outputs stood; the liar's did not
        Assert.DoesNotContain(liar.Id, job.Events[^1].Detail, StringComparison.Ordinal);
        Assert.Equal([new OutputFile("out/result.txt", honest, 6)], job.Outputs);
        Assert.Equal(1, await TrustAsync(hub, primary));
        Assert.Equal(1, await TrustAsync(hub, tieBreaker));
        Assert.Equal(0, await TrustAsync(hub, liar));
    }

    [Fact]
    public async Task Without_another_provider_of_the_class_the_check_is_skipped_and_the_job_still_succeeds()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider x64 = await FakeProvider.JoinAsync(hub, "x64");
        await using FakeProvider arm = await FakeProvider.JoinAsync(hub, "arm", FakeProvider.Inventory() with { Architecture = "arm64" });
        FakeProvider[] providers = [x64, arm];

        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => SomeCid("result"));
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Single(job.Leases); // the other machine is of another class: not asked, and not waited for
        Assert.Equal("verification_skipped", job.Events[^1].Kind);
        Assert.EndsWith($"no other connected provider of {(primary == x64 ? "x64" : "arm64")}/cpu; the job's outputs are accepted unchecked", job.Events[^1].Detail,
            StringComparison.Ordinal);
        Assert.Equal(0, await TrustAsync(hub, primary));
    }

    [Fact]
    public async Task A_check_skipped_after_the_provider_paid_its_fee_returns_the_fee_to_it()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ReplicateExec = true });
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one");
        FakeProvider two = await FakeProvider.JoinAsync(hub, "two");
        FakeProvider[] providers = [one, two];

        // Offered while another provider of its class was there to check it: the lease carries the full fee.
        (string jobId, FakeProvider primary) = await RunJobAsync(hub, await hub.TenantAsync(), providers, _ => SomeCid("result"), billed: TimeSpan.FromSeconds(50));
        Assert.Equal(10_000, Assert.Single((await hub.Client.GetJobAsync(jobId)).Leases).ReplicationFeeBps);
        long fee = await Eventually.UntilAsync(() => Task.FromResult(hub.Ledger.Read(s => s.Escrow(jobId)!.OpenLeaseIds.Count == 0 ? s.ReplicationFeesFrom(jobId) : 0)),
            f => f > 0, "the ledger to close the job's lease");
        long before = (await hub.Client.GetAccountAsync(primary.Id)).Balance;

        // The checker leaves before the check: nobody can replicate the job, so it paid for a check that will not happen.
        FakeProvider other = primary == one ? two : one;
        other.Crash();
        await Eventually.UntilAsync(() => Task.FromResult(hub.Services.GetRequiredService<Kumo.Hub.Control.ProviderSessions>().IsConnected(other.Id)), c => !c,
            "the other provider to be gone");
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal("verification_skipped", job.Events[^1].Kind);
        Assert.EndsWith($"the job's outputs are accepted unchecked; the {fee} µKUMO its provider paid in replication fees went back to it", job.Events[^1].Detail,
            StringComparison.Ordinal);
        Assert.Equal(before + fee, (await hub.Client.GetAccountAsync(primary.Id)).Balance);
        Assert.Equal(fee, hub.Ledger.Read(s => s.ReplicationReturned(jobId)));
        await two.DisposeAsync();
    }

    [Fact]
    public async Task A_replica_waits_for_a_busy_provider_of_the_class_and_runs_once_it_has_room()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one", FakeProvider.Inventory(cores: 1));
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two", FakeProvider.Inventory(cores: 1));
        FakeProvider[] providers = [one, two];
        RequestSigner tenant = await hub.TenantAsync();
        string cid = SomeCid("result");

        // A long job holds one provider's only core while the other runs the job to check.
        (FakeProvider holder, LeaseOffer held, string heldJob) = await HoldAsync(hub, tenant, providers);
        (string jobId, FakeProvider primary) = await RunJobAsync(hub, tenant, providers, _ => cid);
        Assert.NotEqual(holder.Id, primary.Id);

        // The class's other provider is busy: the check waits, saying so once, and does not hold up the job.
        Assert.Equal(0, await Replication(hub).RunOnceAsync(CancellationToken.None));
        hub.Clock.Advance(TimeSpan.FromSeconds(30)); // within the held job's minute
        Assert.Equal(0, await Replication(hub).RunOnceAsync(CancellationToken.None));
        JobView waiting = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(JobState.Succeeded, waiting.State);
        Assert.Single(waiting.Leases);
        Assert.Contains("no other connected provider of x64/cpu has room for a replica now; waiting up to 30 min",
            Assert.Single(waiting.Events, e => e.Kind == "replication_waiting").Detail, StringComparison.Ordinal);

        // Its core is free again: the replica runs there, and the outputs agree.
        await holder.ResultAsync(held.LeaseId, CloseReason.Completed, 0, new OutputFile("out/result.txt", SomeCid("long"), 4));
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(heldJob), j => j.State == JobState.Succeeded, $"job {heldJob} to succeed");
        (_, FakeProvider replicating) = await RunReplicaAsync(hub, jobId, providers, _ => cid);
        Assert.Equal(holder.Id, replicating.Id);
        Assert.True(await Replication(hub).RunOnceAsync(CancellationToken.None) >= 1);
        Assert.Contains((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
    }

    [Fact]
    public async Task A_trusted_providers_job_drawn_for_a_replica_stays_drawn_while_it_waits_and_is_not_rolled_again()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one", FakeProvider.Inventory(cores: 1));
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two", FakeProvider.Inventory(cores: 1));
        FakeProvider[] providers = [one, two];
        await SetTrustAsync(hub, 10, one, two); // both trusted on the class: their jobs are replicated with probability 1/10

        // A stream whose first draw replicates (< 0.1) and whose next ones would not.
        ulong seed = 0;
        while (!(new Philox(seed, 0, 0) is var r && r.NextFloat() < 0.1 && r.NextFloat() >= 0.1 && r.NextFloat() >= 0.1))
        {
            seed++;
        }

        ExecReplicationService replication = Replication(hub);
        replication.Random = new Philox(seed, 0, 0);
        RequestSigner tenant = await hub.TenantAsync();
        (FakeProvider holder, _, _) = await HoldAsync(hub, tenant, providers);
        (string jobId, FakeProvider primary) = await RunJobAsync(hub, tenant, providers, _ => SomeCid("result"));
        Assert.NotEqual(holder.Id, primary.Id);

        Assert.Equal(0, await replication.RunOnceAsync(CancellationToken.None)); // drawn; the other provider is busy: waiting
        hub.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await replication.RunOnceAsync(CancellationToken.None)); // a second roll would have let it off
        hub.Clock.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(0, await replication.RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(["replication_drawn", "replication_waiting"], job.Events.Select(e => e.Kind).Where(k => k.StartsWith("replication", StringComparison.Ordinal) || k.StartsWith("verif", StringComparison.Ordinal)));
        Assert.Contains("p 0.10", job.Events.Single(e => e.Kind == "replication_drawn").Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_check_whose_class_still_has_no_room_when_the_wait_is_over_is_skipped()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one", FakeProvider.Inventory(cores: 1));
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two", FakeProvider.Inventory(cores: 1));
        FakeProvider[] providers = [one, two];
        RequestSigner tenant = await hub.TenantAsync();
        (FakeProvider holder, _, _) = await HoldAsync(hub, tenant, providers);
        (string jobId, FakeProvider primary) = await RunJobAsync(hub, tenant, providers, _ => SomeCid("result"));
        Assert.NotEqual(holder.Id, primary.Id);
        Assert.Equal(0, await Replication(hub).RunOnceAsync(CancellationToken.None));

        hub.Clock.Advance(TimeSpan.FromMinutes(31));
        Assert.Equal(1, await Replication(hub).RunOnceAsync(CancellationToken.None));

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Equal(["replication_drawn", "replication_waiting", "verification_skipped"], job.Events.Select(e => e.Kind).Where(k => k.StartsWith("replication", StringComparison.Ordinal) || k.StartsWith("verif", StringComparison.Ordinal)));
        Assert.Contains("no other connected provider of x64/cpu had room within 30 min of the job's run", job.Events[^1].Detail, StringComparison.Ordinal);
        Assert.Single(job.Leases);
    }

    /// <summary>Submits a job whose provider accepts and starts it but does not finish: it holds that provider's room.</summary>
    private static async Task<(FakeProvider Holder, LeaseOffer Offer, string JobId)> HoldAsync(HubFixture hub, RequestSigner tenant, IReadOnlyList<FakeProvider> providers)
    {
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Simple);
        JobView offered = await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Leases.Count > 0, $"job {accepted.JobId} to be offered");
        FakeProvider holder = providers.Single(p => p.Id == offered.Leases[0].ProviderId.Value);
        LeaseOffer offer = await holder.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await holder.AcceptAsync(offer);
        await holder.StartedAsync(offer.LeaseId);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Events.Any(e => e.Kind == "started"), $"job {accepted.JobId} to start");
        return (holder, offer, accepted.JobId);
    }
}
