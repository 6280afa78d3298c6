using System.Text.Json;
using Kumo.Client;
using Kumo.Hub.Storage;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Hub.Tests.Support;
using Kumo.Hub.Verification;
using Kumo.Jobs;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Verification.Checkers;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>
/// The checkers live in the hub (docs/CHECKERS.md): liveness from signed heartbeats, the hardware proof as the capacity
/// re-test, pauses the market honours, and slashes the ledger can trace to what the provider signed.
/// </summary>
public class ProviderCheckTests
{
    private const long Stake = 100_000_000;

    /// <summary>A hub whose clock the tests move by days: the fakes sign on real time, so the skew allowed is wide.</summary>
    private static Task<HubFixture> StartAsync(Func<HubOptions, HubOptions>? configure = null) =>
        HubFixture.StartAsync(o => (configure?.Invoke(o) ?? o) with { ClockSkew = TimeSpan.FromDays(30) });

    private static ProviderCheckService Checks(HubFixture hub) => hub.Services.GetRequiredService<ProviderCheckService>();

    private static Task<int> CheckAsync(HubFixture hub) => Checks(hub).RunOnceAsync(CancellationToken.None);

    private static Task<FakeProvider> JoinGpuAsync(HubFixture hub, bool autoBid = false) =>
        FakeProvider.JoinAsync(hub, "gpu", FakeProvider.Inventory(4, 8L << 30, FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80)), autoBid: autoBid);

    private static async Task BondAsync(HubFixture hub, FakeProvider provider)
    {
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Faucet, new FaucetPayload(Stake));
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Bond, new BondPayload(Stake));
    }

    /// <summary>A heartbeat, waited for until the hub has recorded it (probes read the hub's record).</summary>
    private static async Task HeartbeatAsync(HubFixture hub, FakeProvider provider, params string[] running)
    {
        await provider.HeartbeatAsync(running);
        DateTimeOffset now = hub.Clock.GetUtcNow();
        await Eventually.UntilAsync(async () => (await hub.Client.ListProvidersAsync()).Single(p => p.Id.Value == provider.Id).LastHeartbeatAt,
            at => at >= now.AddMilliseconds(-1), $"the heartbeat of {provider.Name}");
    }

    private static async Task<int> OnlineAsync(HubFixture hub) => (await hub.Market.StatsAsync(CancellationToken.None)).ProvidersOnline;

    /// <summary>Every slash report in the hub's chain.</summary>
    private static List<SlashReportPayload> Slashes(HubFixture hub)
    {
        using var source = new SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        return [.. source.Blocks().SelectMany(b => b.Transactions)
            .Select(t => JsonSerializer.Deserialize<LedgerTx>(t, KumoJson.Options)!)
            .Where(t => t.Signed?.Type == LedgerMessageTypes.SlashReport)
            .Select(t => t.Signed!.PayloadAs<SlashReportPayload>())];
    }

    private static void AuditClean(HubFixture hub)
    {
        using var source = new SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        AuditReport audit = new Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString());
    }

    /// <summary>The one slash in the chain: a referee verdict of <paramref name="kind"/> citing only statements the offender signed.</summary>
    private static VerificationVerdict SingleVerdict(HubFixture hub, FakeProvider offender, string kind)
    {
        SlashReportPayload report = Assert.Single(Slashes(hub));
        Assert.Equal("refereed", report.Kind);
        Assert.Equal(offender.Id, report.Offender);
        VerificationVerdict verdict = Assert.Single(report.Evidence, e => e.Type == MessageTypes.VerificationVerdict).PayloadAs<VerificationVerdict>();
        Assert.Equal(kind, verdict.Kind);
        var statements = report.Evidence.Where(e => e.Type != MessageTypes.VerificationVerdict).ToList();
        Assert.NotEmpty(statements);
        Assert.All(statements, s => Assert.Equal(offender.Id, s.Signer.Value));
        Assert.All(statements, s => Assert.True(s.TryVerify(out string? error), error));
        Assert.Equal(statements.Select(s => s.Digest()).Order(), verdict.EvidenceDigests.Order());
        return verdict;
    }

    [Fact]
    public async Task Missed_probes_pause_the_provider_and_an_answer_brings_it_back()
    {
        await using HubFixture hub = await StartAsync();
        await using FakeProvider provider = await JoinGpuAsync(hub);
        await BondAsync(hub, provider);
        Assert.Equal(1, await CheckAsync(hub)); // first sight: the channel just opened, which counts as heard from
        Assert.Equal(1, await OnlineAsync(hub));

        for (int miss = 1; miss <= 3; miss++)
        {
            hub.Clock.Advance(TimeSpan.FromMinutes(1));
            Assert.Equal(1, await CheckAsync(hub));
            Assert.Equal(miss < 3 ? ProviderHealth.Active : ProviderHealth.Paused, Checks(hub).Status(provider.Id)!.Health);
        }

        Assert.True(Checks(hub).IsPaused(provider.Id));
        Assert.Equal(0, await OnlineAsync(hub)); // the market places no work on it
        double lowered = Checks(hub).Reputation(provider.Id);
        Assert.True(lowered < 1, $"missed probes lower the checkers' reputation, got {lowered}");

        hub.Clock.Advance(TimeSpan.FromMinutes(1));
        await HeartbeatAsync(hub, provider);
        Assert.Equal(1, await CheckAsync(hub));

        ProviderCheckStatus status = Checks(hub).Status(provider.Id)!;
        Assert.Equal(ProviderHealth.Active, status.Health);
        Assert.Null(status.PausedSince);
        Assert.True(status.Reputation > lowered);
        Assert.Equal(1, await OnlineAsync(hub));
        Assert.Empty(Slashes(hub));
        Assert.Equal(Stake, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
    }

    [Fact]
    public async Task A_pause_is_kept_in_the_store_so_a_restarted_hub_keeps_the_provider_paused_until_it_answers()
    {
        await using HubFixture hub = await StartAsync();
        await using FakeProvider provider = await JoinGpuAsync(hub);
        await BondAsync(hub, provider);
        DateTimeOffset since = hub.Clock.GetUtcNow().AddHours(-2);
        IHubStore store = hub.Services.GetRequiredService<IHubStore>();
        await using (IHubTransaction tx = await store.BeginAsync(CancellationToken.None))
        {
            // What the hub before a restart left: the provider paused for missed probes two hours ago.
            var standing = new CheckerStanding(ProviderHealth.Paused, 0.9, LivenessPaused: true, CapacityPaused: false, since, null);
            await tx.UpsertProviderCheckAsync(new ProviderCheckRecord(provider.Id, JsonSerializer.Serialize(standing, KumoJson.Options), 0));
            await tx.CommitAsync();
        }

        Assert.True(Checks(hub).Status(provider.Id) is null); // nothing in memory yet
        hub.Clock.Advance(TimeSpan.FromMinutes(1));
        await CheckAsync(hub); // the first pass takes the stored standing back; the probe finds no fresh heartbeat
        ProviderCheckStatus paused = Checks(hub).Status(provider.Id)!;
        Assert.Equal(ProviderHealth.Paused, paused.Health);
        Assert.Equal(since, paused.PausedSince);
        Assert.Equal(0, await OnlineAsync(hub));

        hub.Clock.Advance(TimeSpan.FromMinutes(1));
        await HeartbeatAsync(hub, provider);
        await CheckAsync(hub);
        Assert.Equal(ProviderHealth.Active, Checks(hub).Status(provider.Id)!.Health);
        await using IHubReader reader = await store.OpenReaderAsync(CancellationToken.None);
        CheckerStanding saved = JsonSerializer.Deserialize<CheckerStanding>((await reader.ListProviderChecksAsync()).Single(c => c.ProviderId == provider.Id).StandingJson, KumoJson.Options)!;
        Assert.Equal(ProviderHealth.Active, saved.Health); // what a later restart would take back
        Assert.Empty(Slashes(hub));
    }

    [Fact]
    public async Task A_provider_that_abandons_a_lease_and_stays_away_past_the_limit_is_slashed_once_on_its_signed_acceptance()
    {
        await using HubFixture hub = await StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        await BondAsync(hub, provider);
        await CheckAsync(hub);
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(Specs.Yaml() + "\nretries: 0"));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Running, $"job {accepted.JobId} to run");
        hub.Clock.Advance(TimeSpan.FromMinutes(1));
        await HeartbeatAsync(hub, provider, offer.LeaseId);
        await CheckAsync(hub); // alive, and holding the lease it accepted

        provider.Crash();
        hub.Clock.Advance(hub.Options.HeartbeatTimeout + TimeSpan.FromSeconds(1));
        await hub.SweepAsync(); // the watchdog closes the lease: provider_heartbeat_lost
        // The ledger takes its per-lease fault slash (1%, to the tenant) for the lost lease — before the clock moves on,
        // so the settlement happens at the close and not days later; the desertion is another fault.
        long beforeSlash = (await Eventually.UntilAsync(() => hub.Client.GetAccountAsync(provider.Id), a => a.Bonded < Stake, "the lease's fault slash")).Bonded;
        Assert.Equal(Stake * 99 / 100, beforeSlash);
        for (int miss = 1; miss <= 3; miss++)
        {
            hub.Clock.Advance(TimeSpan.FromMinutes(1));
            await CheckAsync(hub);
        }

        Assert.Equal(ProviderHealth.Paused, Checks(hub).Status(provider.Id)!.Health);
        hub.Clock.Advance(TimeSpan.FromHours(23));
        await CheckAsync(hub);
        Assert.Empty(Slashes(hub)); // within the limit: a machine may take a day to come back

        hub.Clock.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        await CheckAsync(hub);

        VerificationVerdict verdict = SingleVerdict(hub, provider, "liveness");
        Assert.Contains(offer.LeaseId, verdict.Subject);
        Assert.Contains("provider_heartbeat_lost", verdict.Reason);
        Assert.Equal(tenant.AccountId.Value, verdict.Winner); // the bounty compensates the tenant whose work was abandoned
        SlashReportPayload report = Assert.Single(Slashes(hub));
        Assert.Contains(report.Evidence, e => e.Type == MessageTypes.LeaseAccept && e.PayloadAs<LeaseAcceptance>().LeaseId == offer.LeaseId);
        Assert.Equal(beforeSlash * 9 / 10, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
        Assert.StartsWith("liveness: ", Checks(hub).Status(provider.Id)!.LastSlash);

        // Once: days more of absence slash nothing else.
        for (int day = 0; day < 3; day++)
        {
            hub.Clock.Advance(TimeSpan.FromHours(25));
            await CheckAsync(hub);
        }

        Assert.Single(Slashes(hub));
        AuditClean(hub);
    }

    [Fact]
    public async Task Two_failed_capacity_re_tests_in_a_row_are_slashed_on_the_providers_signed_registration()
    {
        await using HubFixture hub = await StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "cpu", autoBid: false); // a CPU: a real device, not simulated
        await BondAsync(hub, provider);
        var challenges = new List<string>();
        for (int test = 1; test <= 2; test++)
        {
            await CheckAsync(hub); // the re-test is due (first sight, then daily): the hub challenges
            HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
            challenges.Add(request.ChallengeId);
            hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices.Max(d => d.DeadlineMs) + 1));
            await hub.ProveHardwareAsync(); // silent past the deadline: the round fails
            await HeartbeatAsync(hub, provider);
            await CheckAsync(hub);
            if (test == 1)
            {
                Assert.True(Checks(hub).IsPaused(provider.Id));
                Assert.Empty(Slashes(hub));
                Assert.Equal(0.8, Checks(hub).Reputation(provider.Id), 3);
                hub.Clock.Advance(TimeSpan.FromDays(1));
                await HeartbeatAsync(hub, provider);
            }
        }

        VerificationVerdict verdict = SingleVerdict(hub, provider, "capacity");
        Assert.All(challenges, c => Assert.Contains(c, verdict.Subject));
        Assert.Contains(ProofCodes.Deadline, verdict.Reason);
        SlashReportPayload report = Assert.Single(Slashes(hub));
        Assert.Contains(report.Evidence, e => e.Type == MessageTypes.ProviderRegister);
        Assert.Equal(Stake * 9 / 10, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);

        // Readmitted on probation: paused until it passes a re-test, its checkers' reputation earned again from 0.
        ProviderCheckStatus status = Checks(hub).Status(provider.Id)!;
        Assert.Equal(ProviderHealth.Paused, status.Health);
        Assert.Equal(0, status.Reputation);
        Assert.Equal(0, await OnlineAsync(hub));
        AuditClean(hub);
    }

    [Fact]
    public async Task A_streak_of_failed_re_tests_survives_a_hub_restart_and_the_slash_cites_the_rounds_from_before_it()
    {
        HubFixture first = await StartAsync();
        FakeProvider provider = await FakeProvider.JoinAsync(first, "cpu", autoBid: false);
        await BondAsync(first, provider);
        await CheckAsync(first);
        HardwareChallengeRequest before = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        first.Clock.Advance(TimeSpan.FromMilliseconds(before.Devices.Max(d => d.DeadlineMs) + 1));
        await first.ProveHardwareAsync(); // silent past the deadline: the first failed re-test
        await HeartbeatAsync(first, provider);
        await CheckAsync(first); // counted and stored
        Assert.True(Checks(first).IsPaused(provider.Id));
        first.Clock.Advance(TimeSpan.FromDays(1));
        provider.Crash();

        await using HubFixture hub = await first.RestartAsync();
        await using FakeProvider back = await FakeProvider.ReconnectAsync(hub, provider);
        await provider.DisposeAsync();
        await HeartbeatAsync(hub, back);
        await CheckAsync(hub); // the pause holds, so the re-test is due at once
        HardwareChallengeRequest after = await back.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        hub.Clock.Advance(TimeSpan.FromMilliseconds(after.Devices.Max(d => d.DeadlineMs) + 1));
        await hub.ProveHardwareAsync(); // the second, after the restart
        await HeartbeatAsync(hub, back);
        await CheckAsync(hub);

        VerificationVerdict verdict = SingleVerdict(hub, back, "capacity"); // two in a row: the restart did not reset the count
        Assert.Contains(before.ChallengeId, verdict.Subject);
        Assert.Contains(after.ChallengeId, verdict.Subject);
        Assert.Contains("failed 2 capacity re-tests in a row", verdict.Reason);
        Assert.Equal(Stake * 9 / 10, (await hub.Client.GetAccountAsync(back.Id)).Bonded);
        AuditClean(hub);
    }

    [Fact]
    public async Task A_slow_round_on_a_simulated_device_is_no_capacity_failure()
    {
        await using HubFixture hub = await StartAsync();
        await using FakeProvider provider = await JoinGpuAsync(hub); // a simulated device proves nothing about speed
        await BondAsync(hub, provider);
        for (int test = 1; test <= 3; test++)
        {
            await CheckAsync(hub);
            HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
            hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices.Max(d => d.DeadlineMs) + 1));
            await hub.ProveHardwareAsync();
            await HeartbeatAsync(hub, provider);
            await CheckAsync(hub);
            hub.Clock.Advance(TimeSpan.FromDays(1));
            await HeartbeatAsync(hub, provider);
        }

        Assert.Equal(1, Checks(hub).Reputation(provider.Id), 3);
        Assert.Empty(Slashes(hub));
        Assert.Equal(Stake, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
    }

    [Fact]
    public async Task A_provider_that_leaves_owing_nothing_is_never_paused_or_slashed()
    {
        await using HubFixture hub = await StartAsync();
        FakeProvider provider = await JoinGpuAsync(hub);
        await BondAsync(hub, provider);
        await CheckAsync(hub);
        await provider.DisposeAsync();
        Control.ProviderSessions sessions = hub.Services.GetRequiredService<Control.ProviderSessions>();
        await Eventually.UntilAsync(() => Task.FromResult(sessions.IsConnected(provider.Id)), c => !c, $"{provider.Name} to disconnect");
        hub.Clock.Advance(TimeSpan.FromMinutes(1));
        await CheckAsync(hub);
        Assert.True(Checks(hub).Status(provider.Id)!.Away);

        for (int day = 0; day < 3; day++)
        {
            hub.Clock.Advance(TimeSpan.FromHours(25));
            await CheckAsync(hub);
            Assert.Equal(ProviderHealth.Active, Checks(hub).Status(provider.Id)!.Health);
        }

        Assert.Empty(Slashes(hub));
        Assert.Equal(Stake, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
    }

    [Fact]
    public async Task An_honest_provider_over_days_is_never_paused_or_slashed_and_keeps_a_high_reputation()
    {
        await using HubFixture hub = await StartAsync(o => o with { Checkers = o.Checkers with { LivenessInterval = TimeSpan.FromMinutes(10) } });
        await using FakeProvider provider = await JoinGpuAsync(hub);
        await BondAsync(hub, provider);
        int proofs = 0;
        for (var elapsed = TimeSpan.Zero; elapsed < TimeSpan.FromDays(3); elapsed += TimeSpan.FromMinutes(10))
        {
            await CheckAsync(hub);
            if (hub.HardwareProofs.IsChallenging(provider.Id))
            {
                await AnswerHonestlyAsync(hub, provider);
                proofs++;
            }

            Assert.False(Checks(hub).IsPaused(provider.Id), $"paused after {elapsed}");
            hub.Clock.Advance(TimeSpan.FromMinutes(10));
            await HeartbeatAsync(hub, provider);
        }

        await CheckAsync(hub);
        Assert.True(proofs >= 3, $"a capacity re-test a day, got {proofs}");
        ProviderCheckStatus status = Checks(hub).Status(provider.Id)!;
        Assert.Equal(ProviderHealth.Active, status.Health);
        Assert.True(status.Reputation > 0.99, $"reputation {status.Reputation}");
        Assert.Equal(1, await OnlineAsync(hub));
        Assert.Empty(Slashes(hub));
        Assert.Equal(Stake, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
        AuditClean(hub);
    }

    private static async Task AnswerHonestlyAsync(HubFixture hub, FakeProvider provider)
    {
        HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        DeviceChallenge device = Assert.Single(request.Devices);
        HardwareProver prover = HardwareProver.Compute(request.ChallengeId, device);
        await provider.SendSignedAsync(ChannelMessageTypes.HardwareCommit, HardwareProofMessageTypes.Commit, prover.Commitment);
        HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);
        await provider.SendSignedAsync(ChannelMessageTypes.HardwareOpen, HardwareProofMessageTypes.Open, prover.Open(reveal));
        await Eventually.UntilAsync(() => Task.FromResult(hub.HardwareProofs.IsChallenging(provider.Id)), c => !c, $"the proof of {provider.Name} to settle");
        Assert.False(hub.HardwareProofs.IsPaused(provider.Id));
    }
}
