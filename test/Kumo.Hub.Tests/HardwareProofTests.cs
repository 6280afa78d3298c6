using Kumo.Hardware;
using Kumo.Hub.Tests.Support;
using Kumo.Protocol;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>The hardware proof over the real control channel: a provider that answers honestly, lies, forges, or stays silent.</summary>
public class HardwareProofTests
{
    private static Task<FakeProvider> JoinAsync(HubFixture hub) =>
        FakeProvider.JoinAsync(hub, "gpu", FakeProvider.Inventory(4, 8L << 30, FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80)), autoBid: false);

    private static async Task<(HardwareChallengeRequest Request, HardwareProver Prover)> ChallengedAsync(HubFixture hub, FakeProvider provider)
    {
        Assert.Equal(1, await hub.ProveHardwareAsync());
        HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        DeviceChallenge device = Assert.Single(request.Devices);
        Assert.Equal(256, device.N); // a simulated device gets a small challenge
        return (request, HardwareProver.Compute(request.ChallengeId, device));
    }

    /// <summary>100 KUMO of stake, so a slash has something to take.</summary>
    private static async Task BondAsync(HubFixture hub, FakeProvider provider)
    {
        await hub.Client.SubmitLedgerAsync(provider.Signer, Kumo.Ledger.Transactions.LedgerMessageTypes.Faucet, new Kumo.Ledger.Transactions.FaucetPayload(100_000_000));
        await hub.Client.SubmitLedgerAsync(provider.Signer, Kumo.Ledger.Transactions.LedgerMessageTypes.Bond, new Kumo.Ledger.Transactions.BondPayload(100_000_000));
    }

    private static Task CommitAsync(FakeProvider provider, HardwareCommitment commitment) =>
        provider.SendSignedAsync(ChannelMessageTypes.HardwareCommit, HardwareProofMessageTypes.Commit, commitment);

    private static Task OpenAsync(FakeProvider provider, HardwareOpening opening) =>
        provider.SendSignedAsync(ChannelMessageTypes.HardwareOpen, HardwareProofMessageTypes.Open, opening);

    private static Task<IReadOnlyList<ProofOutcome>> SettledAsync(HubFixture hub, FakeProvider provider) =>
        Eventually.UntilAsync(() => Task.FromResult(hub.HardwareProofs.LatestOutcomes(provider.Id)), o => o.Count > 0, $"the proof of {provider.Name} to settle");

    [Fact]
    public async Task An_honest_provider_passes_and_gets_a_measured_tier()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (_, prover) = await ChallengedAsync(hub, provider);

        await CommitAsync(provider, prover.Commitment);
        HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);
        await OpenAsync(provider, prover.Open(reveal));

        ProofOutcome outcome = Assert.Single(await SettledAsync(hub, provider));
        Assert.True(outcome.Passed, outcome.Reason);
        Assert.True(outcome.Simulated);
        Assert.False(hub.HardwareProofs.IsPaused(provider.Id));
        Assert.True(hub.HardwareProofs.MeasuredTier(provider.Id) > 0);
        Assert.Equal(0, await hub.ProveHardwareAsync()); // proven: not due again before the interval

        HardwareProofResult told = await provider.ExpectAsync<HardwareProofResult>(ChannelMessageTypes.HardwareResult); // the operator's verdict
        Assert.True(told.Passed);
        Assert.Equal(hub.HardwareProofs.MeasuredTier(provider.Id), told.Tier);
        Assert.Equal(ProofCodes.Passed, Assert.Single(told.Devices).Code);
    }

    [Fact]
    public async Task A_provider_that_never_answers_fails_at_the_deadline_and_is_paused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (request, _) = await ChallengedAsync(hub, provider);

        hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices[0].DeadlineMs + 1));
        await hub.ProveHardwareAsync();

        ProofOutcome outcome = Assert.Single(hub.HardwareProofs.LatestOutcomes(provider.Id));
        Assert.Equal(ProofCodes.Deadline, outcome.Code);
        Assert.True(hub.HardwareProofs.IsPaused(provider.Id));
        Assert.Null(hub.HardwareProofs.MeasuredTier(provider.Id));

        HardwareProofResult told = await provider.ExpectAsync<HardwareProofResult>(ChannelMessageTypes.HardwareResult);
        Assert.False(told.Passed);
        Assert.Equal(ProofCodes.Deadline, Assert.Single(told.Devices).Code);
    }

    [Fact]
    public async Task A_real_gpu_is_challenged_at_its_claimed_speed_and_a_machine_that_cannot_answer_in_time_is_paused()
    {
        // The fake-GPU case: a machine registers a real (not simulated) T4 and has only a CPU to answer with.
        await using HubFixture hub = await HubFixture.StartAsync();
        GpuDevice t4 = FakeProvider.Gpu(0, "NVIDIA T4", 16, simulated: false);
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "claims-t4", FakeProvider.Inventory(4, 8L << 30, t4), autoBid: false);

        Assert.Equal(1, await hub.ProveHardwareAsync());
        HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        DeviceChallenge device = Assert.Single(request.Devices);
        var claim = new DeviceClaim(t4.Uuid, true, t4.Model, t4.VramBytes, 0, Simulated: false);
        Assert.Equal(t4.Uuid, device.DeviceId);
        Assert.Equal(HardwareProofPolicy.Default.SizeFor(claim), device.N);
        Assert.True(device.N >= 8192, $"n = {device.N}: a T4 gets a GPU-sized product (2n³ ≈ 8 TFLOP), not a devnet one");
        Assert.True(device.DeadlineMs < 10_000, $"{device.DeadlineMs} ms: a 2-core CPU would need minutes for it");

        hub.Clock.Advance(TimeSpan.FromMilliseconds(device.DeadlineMs + 1));
        await hub.ProveHardwareAsync();
        ProofOutcome outcome = Assert.Single(hub.HardwareProofs.LatestOutcomes(provider.Id));
        Assert.Equal(ProofCodes.Deadline, outcome.Code);
        Assert.False(outcome.Simulated);
        Assert.True(hub.HardwareProofs.IsPaused(provider.Id));
        Assert.Null(hub.HardwareProofs.MeasuredTier(provider.Id));
    }

    [Fact]
    public async Task A_round_that_expired_while_the_provider_was_gone_is_tried_again_as_soon_as_it_is_back()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        FakeProvider provider = await JoinAsync(hub);
        var (request, _) = await ChallengedAsync(hub, provider);
        provider.Crash(); // gone mid-round, as an agent killed before it answered
        await Eventually.UntilAsync(() => Task.FromResult(hub.Services.GetRequiredService<Kumo.Hub.Control.ProviderSessions>().IsConnected(provider.Id)),
            connected => !connected, "the hub to see the channel gone");
        hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices[0].DeadlineMs + 1));
        await hub.ProveHardwareAsync();
        Assert.True(hub.HardwareProofs.IsPaused(provider.Id)); // it did not answer: paused, the market offers it nothing

        await using FakeProvider back = await FakeProvider.ReconnectAsync(hub, provider);
        await back.HeartbeatAsync();

        Assert.Equal(1, await hub.ProveHardwareAsync()); // at once, not after the five-minute retry delay
        HardwareChallengeRequest again = await back.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        HardwareProver prover = HardwareProver.Compute(again.ChallengeId, Assert.Single(again.Devices));
        await CommitAsync(back, prover.Commitment);
        await OpenAsync(back, prover.Open(await back.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal)));
        await Eventually.UntilAsync(() => Task.FromResult(hub.HardwareProofs.IsPaused(provider.Id)), paused => !paused, "the new round to pass");
        await provider.DisposeAsync();
    }

    [Fact]
    public async Task A_commitment_that_arrives_after_the_deadline_fails()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (request, prover) = await ChallengedAsync(hub, provider);

        hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices[0].DeadlineMs + 1));
        await CommitAsync(provider, prover.Commitment);

        Assert.Equal(ProofCodes.Deadline, Assert.Single(await SettledAsync(hub, provider)).Code);
        Assert.True(hub.HardwareProofs.IsPaused(provider.Id));
    }

    [Fact]
    public async Task An_opening_under_another_root_than_the_committed_one_fails()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (request, prover) = await ChallengedAsync(hub, provider);
        await CommitAsync(provider, prover.Commitment);
        HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);

        // A different product, consistently proven against its own root.
        HardwareProver other = HardwareProver.Compute(request.ChallengeId, request.Devices[0] with { Seed = "00000000000000ff" });
        await OpenAsync(provider, other.Open(reveal));

        Assert.Equal(ProofCodes.RootChanged, Assert.Single(await SettledAsync(hub, provider)).Code);
        Assert.True(hub.HardwareProofs.IsPaused(provider.Id));
    }

    [Fact]
    public async Task A_provably_wrong_answer_is_slashed_through_the_ledger_on_the_providers_own_signed_statements()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        await BondAsync(hub, provider);
        var (request, prover) = await ChallengedAsync(hub, provider);
        await CommitAsync(provider, prover.Commitment);
        HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);

        HardwareProver other = HardwareProver.Compute(request.ChallengeId, request.Devices[0] with { Seed = "00000000000000ff" });
        await OpenAsync(provider, other.Open(reveal));

        Assert.Equal(ProofCodes.RootChanged, Assert.Single(await SettledAsync(hub, provider)).Code);
        var account = await Eventually.UntilAsync(() => hub.Client.GetAccountAsync(provider.Id), a => a.Bonded < 100_000_000, "the slash");
        Assert.Equal(90_000_000, account.Bonded); // 10% of the stake (genesis slashBps)
        using var source = new Kumo.Hub.Storage.Sqlite.SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        Assert.True(new Kumo.Ledger.Audit.Auditor().Run(source).Ok);
    }

    [Fact]
    public async Task Silence_pauses_but_is_not_slashed()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        await BondAsync(hub, provider);
        var (request, _) = await ChallengedAsync(hub, provider);

        hub.Clock.Advance(TimeSpan.FromMilliseconds(request.Devices[0].DeadlineMs + 1));
        await hub.ProveHardwareAsync();
        await Task.Delay(300);

        Assert.True(hub.HardwareProofs.IsPaused(provider.Id));
        Assert.Equal(100_000_000, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
    }

    [Fact]
    public async Task A_proof_for_the_wrong_leaf_fails()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (_, prover) = await ChallengedAsync(hub, provider);
        await CommitAsync(provider, prover.Commitment);
        HardwareOpening honest = prover.Open(await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal));

        await OpenAsync(provider, honest with { Rows = [honest.Rows[0] with { Path = honest.Rows[1].Path }, .. honest.Rows.Skip(1)] });

        Assert.Equal(ProofCodes.BadProof, Assert.Single(await SettledAsync(hub, provider)).Code);
    }

    [Fact]
    public async Task A_commitment_signed_by_another_account_is_refused_and_the_challenge_stays_open()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (_, prover) = await ChallengedAsync(hub, provider);

        var forger = HubFixture.NewSigner();
        await provider.SendAsync(ChannelMessageTypes.HardwareCommit, forger.Sign(HardwareProofMessageTypes.Commit, prover.Commitment));

        ChannelError error = await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("wrong_signer", error.Code);
        Assert.True(hub.HardwareProofs.IsChallenging(provider.Id));
        Assert.False(hub.HardwareProofs.IsPaused(provider.Id));

        // The real answer still counts.
        await CommitAsync(provider, prover.Commitment);
        await OpenAsync(provider, prover.Open(await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal)));
        Assert.True(Assert.Single(await SettledAsync(hub, provider)).Passed);
    }

    [Fact]
    public async Task A_stale_answer_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        var (_, prover) = await ChallengedAsync(hub, provider);
        await CommitAsync(provider, prover.Commitment);
        HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);
        HardwareOpening opening = prover.Open(reveal);
        await OpenAsync(provider, opening);
        Assert.True(Assert.Single(await SettledAsync(hub, provider)).Passed);

        // Replaying the finished challenge's answers: its id is no longer open.
        await CommitAsync(provider, prover.Commitment);
        Assert.Equal("unknown_challenge", (await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Code);
        await OpenAsync(provider, opening);
        Assert.Equal("unknown_challenge", (await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Code);
        Assert.False(hub.HardwareProofs.IsPaused(provider.Id));
    }

    /// <summary>Answers the challenge the provider has been sent, honestly, and waits for the round to pass.</summary>
    private static async Task AnswerAsync(HubFixture hub, FakeProvider provider)
    {
        HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        var provers = request.Devices.Select(d => HardwareProver.Compute(request.ChallengeId, d)).ToList();
        foreach (HardwareProver prover in provers)
        {
            await CommitAsync(provider, prover.Commitment);
        }

        foreach (HardwareProver prover in provers)
        {
            HardwareReveal reveal = await provider.ExpectAsync<HardwareReveal>(ChannelMessageTypes.HardwareReveal);
            await OpenAsync(provider, provers.Single(p => p.Commitment.DeviceId == reveal.DeviceId).Open(reveal));
        }

        await Eventually.UntilAsync(() => Task.FromResult(hub.HardwareProofs.Describe(provider.Id)), d => d == ProofCodes.Passed, $"{provider.Name}'s round to pass");
    }

    private static async Task<Kumo.Hub.Storage.ProviderRecord> RecordAsync(HubFixture hub, FakeProvider provider)
    {
        await using Kumo.Hub.Storage.IHubReader reader = await hub.Services.GetRequiredService<Kumo.Hub.Storage.IHubStore>().OpenReaderAsync(CancellationToken.None);
        return (await reader.GetProviderAsync(provider.Id))!;
    }

    /// <summary>Periodic proofs on (the hub's default), without the background passes: the test runs them.</summary>
    private static Task<HubFixture> ProvingHubAsync() => HubFixture.StartAsync(o => o with { HardwareProofInterval = TimeSpan.FromHours(1) });

    [Fact]
    public async Task A_new_provider_gets_no_work_until_it_passes_and_one_that_registers_other_devices_is_challenged_again_at_once()
    {
        await using HubFixture hub = await ProvingHubAsync();
        await using FakeProvider provider = await JoinAsync(hub);
        Assert.False(hub.HardwareProofs.MayWork(await RecordAsync(hub, provider))); // joined, not proven yet

        Assert.Equal(1, await hub.ProveHardwareAsync());
        await AnswerAsync(hub, provider);
        Assert.True(hub.HardwareProofs.MayWork(await RecordAsync(hub, provider)));
        int? tier = hub.HardwareProofs.MeasuredTier(provider.Id);
        Assert.NotNull(tier);
        Assert.Equal(0, await hub.ProveHardwareAsync()); // proven: not due again

        // The same account now claims a second H100. The first round said nothing about it.
        await hub.Client.RegisterProviderAsync(provider.Signer, provider.Registration with
        {
            Inventory = FakeProvider.Inventory(4, 8L << 30, FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(1, "NVIDIA H100 80GB HBM3", 80)),
        });
        Assert.False(hub.HardwareProofs.MayWork(await RecordAsync(hub, provider)));
        Assert.Null(hub.HardwareProofs.MeasuredTier(provider.Id));
        Assert.Equal("claims_changed", hub.HardwareProofs.Describe(provider.Id));
        Assert.Equal("claims_changed", (await hub.Client.ListProvidersAsync()).Single(p => p.Id.Value == provider.Id).HardwareProof);

        Assert.Equal(1, await hub.ProveHardwareAsync()); // at once, not in an hour
        await AnswerAsync(hub, provider);
        Assert.True(hub.HardwareProofs.MayWork(await RecordAsync(hub, provider)));
        Assert.Equal(2, hub.HardwareProofs.LatestOutcomes(provider.Id).Count);
    }

    [Fact]
    public async Task A_restarted_hub_keeps_each_verdict_and_tier_and_challenges_nobody_early()
    {
        HubFixture first = await ProvingHubAsync();
        FakeProvider honest = await JoinAsync(first);
        FakeProvider silent = await FakeProvider.JoinAsync(first, "silent", FakeProvider.Inventory(4, 8L << 30, FakeProvider.Gpu(0, "NVIDIA A100 80GB PCIe", 80)), autoBid: false);
        Assert.Equal(2, await first.ProveHardwareAsync());
        await AnswerAsync(first, honest);
        HardwareChallengeRequest unanswered = await silent.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        first.Clock.Advance(TimeSpan.FromMilliseconds(unanswered.Devices[0].DeadlineMs + 1));
        await first.ProveHardwareAsync();
        Assert.True(first.HardwareProofs.IsPaused(silent.Id));
        int? tier = first.HardwareProofs.MeasuredTier(honest.Id);
        await first.HardwareProofs.SaveAsync(CancellationToken.None);
        honest.Crash(); // the agents' channels drop with the hub
        silent.Crash();

        await using HubFixture hub = await first.RestartAsync();
        await using FakeProvider honestBack = await FakeProvider.ReconnectAsync(hub, honest);
        await using FakeProvider silentBack = await FakeProvider.ReconnectAsync(hub, silent);
        await honestBack.HeartbeatAsync();
        await silentBack.HeartbeatAsync();
        await honest.DisposeAsync();
        await silent.DisposeAsync();

        Assert.Equal(0, await hub.ProveHardwareAsync()); // neither is due: the restart proves nobody again
        Assert.Equal(tier, hub.HardwareProofs.MeasuredTier(honest.Id));
        Assert.True(hub.HardwareProofs.MayWork(await RecordAsync(hub, honest)));
        Assert.True(hub.HardwareProofs.IsPaused(silent.Id)); // a failure stays a failure
        Assert.False(hub.HardwareProofs.MayWork(await RecordAsync(hub, silent)));
        Assert.Equal(ProofCodes.Deadline, Assert.Single(hub.HardwareProofs.LatestOutcomes(silent.Id)).Code);

        hub.Clock.Advance(TimeSpan.FromMinutes(5)); // the failure's retry delay, kept across the restart
        Assert.Equal(1, await hub.ProveHardwareAsync());
        Assert.Single((await silentBack.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge)).Devices);
    }

    [Fact]
    public async Task A_round_the_restart_cut_short_is_asked_again_at_once_and_its_answers_to_the_old_hub_are_refused()
    {
        HubFixture first = await ProvingHubAsync();
        FakeProvider provider = await JoinAsync(first);
        Assert.Equal(1, await first.ProveHardwareAsync());
        await AnswerAsync(first, provider);
        Assert.True(await first.HardwareProofs.ChallengeAsync(provider.Id, CancellationToken.None)); // a capacity re-test: open when the hub stops
        HardwareChallengeRequest request = await provider.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge);
        HardwareProver prover = HardwareProver.Compute(request.ChallengeId, Assert.Single(request.Devices));
        provider.Crash();

        await using HubFixture hub = await first.RestartAsync();
        await using FakeProvider back = await FakeProvider.ReconnectAsync(hub, provider);
        await back.HeartbeatAsync();
        await provider.DisposeAsync();

        await CommitAsync(back, prover.Commitment); // to a round the new hub never issued
        Assert.Equal("unknown_challenge", (await back.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Code);
        Assert.True(hub.HardwareProofs.MayWork(await RecordAsync(hub, back))); // its earlier pass stands meanwhile
        Assert.Equal(1, await hub.ProveHardwareAsync()); // asked again now, not in an hour
        await AnswerAsync(hub, back);
    }

    [Fact]
    public async Task A_stored_standing_that_does_not_read_is_proven_again_and_blocks_nobody_else()
    {
        HubFixture first = await ProvingHubAsync();
        FakeProvider broken = await JoinAsync(first);
        FakeProvider fine = await FakeProvider.JoinAsync(first, "fine", FakeProvider.Inventory(4, 8L << 30, FakeProvider.Gpu(0, "NVIDIA A100 80GB PCIe", 80)), autoBid: false);
        Assert.Equal(2, await first.ProveHardwareAsync());
        await AnswerAsync(first, broken);
        await AnswerAsync(first, fine);
        await first.HardwareProofs.SaveAsync(CancellationToken.None);
        await using (Kumo.Hub.Storage.IHubTransaction tx = await first.Services.GetRequiredService<Kumo.Hub.Storage.IHubStore>().BeginAsync(CancellationToken.None))
        {
            await tx.UpsertHardwareProofAsync(new Kumo.Hub.Storage.HardwareProofRecord(broken.Id, "{\"passed\": true, \"fromAnOlderHub\": 1}", 0));
            await tx.CommitAsync();
        }

        broken.Crash();
        fine.Crash();
        await using HubFixture hub = await first.RestartAsync();
        await using FakeProvider brokenBack = await FakeProvider.ReconnectAsync(hub, broken);
        await using FakeProvider fineBack = await FakeProvider.ReconnectAsync(hub, fine);
        await brokenBack.HeartbeatAsync();
        await fineBack.HeartbeatAsync();
        await broken.DisposeAsync();
        await fine.DisposeAsync();

        Assert.Equal(1, await hub.ProveHardwareAsync()); // only the one whose row did not read
        Assert.Single((await brokenBack.ExpectAsync<HardwareChallengeRequest>(ChannelMessageTypes.HardwareChallenge)).Devices);
        Assert.Equal(ProofCodes.Passed, hub.HardwareProofs.Describe(fine.Id));
    }
}
