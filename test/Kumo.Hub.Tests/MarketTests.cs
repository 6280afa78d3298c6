using Kumo.Client;
using Kumo.Content;
using Kumo.Hardware;
using Kumo.Hub.Tests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Ledger;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Hub.Tests;

/// <summary>
/// The market against a real hub: orders, bids, reservations, clusters, failover billing, reputation, plans,
/// statistics and attestations — and every kind of bad input the issue names, each with its reason and nothing left
/// dangling (no reservation, no escrow).
/// </summary>
public class MarketTests
{
    private const long K = Amounts.MicrosPerKumo;

    private static Task<JobView> WaitForJobAsync(HubFixture hub, string jobId, Func<JobView, bool> done, string what) =>
        Eventually.UntilAsync(() => hub.Client.GetJobAsync(jobId), done, $"job {jobId} {what}");

    private static string Spec(string extra = "", string price = "1", string resources = "cpu: 1\n  memory: 64Mi\n  disk: 16Mi") =>
        Specs.Wire(Specs.Yaml(resources: resources, price: price) + (extra.Length > 0 ? "\n" + extra : ""));

    private static async Task<IReadOnlyList<BidView>> BidsAsync(HubFixture hub, string jobId, Func<IReadOnlyList<BidView>, bool> done, string what) =>
        await Eventually.UntilAsync(() => hub.Client.ListBidsAsync(jobId), done, what);

    // ---- the order lifecycle -----------------------------------------------------------------------------

    [Fact]
    public async Task The_lowest_reputation_adjusted_bid_wins_and_the_losers_are_released()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider cheap = await FakeProvider.JoinAsync(hub, "cheap", pricing: new ProviderPricing(0, 100_000, 0));
        await using FakeProvider dear = await FakeProvider.JoinAsync(hub, "dear", pricing: new ProviderPricing(0, 300_000, 0));
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec());

        LeaseOffer offer = await cheap.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        BidLost lost = await dear.ExpectAsync<BidLost>(ChannelMessageTypes.BidLost);

        Assert.Equal(100_000, offer.PricePerHourMicros);
        Assert.Equal(cheap.SentBids.Single().BidId, offer.BidId);
        Assert.Equal(dear.SentBids.Single().BidId, lost.BidId);
        IReadOnlyList<BidView> bids = await hub.Client.ListBidsAsync(accepted.JobId);
        Assert.Equal("won", bids.Single(b => b.ProviderName == "cheap").State);
        Assert.Equal("lost", bids.Single(b => b.ProviderName == "dear").State);
        Assert.Equal(0, (await hub.Client.GetStatsAsync()).OpenBids); // nothing reserved is left behind
    }

    [Fact]
    public async Task An_order_no_provider_can_take_now_expires_with_the_explanation_and_its_escrow_comes_back()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "p");
        provider.Crash(); // registered, but gone
        hub.Clock.Advance(hub.Options.HeartbeatTimeout + TimeSpan.FromSeconds(1));
        await hub.SweepAsync();
        RequestSigner tenant = await hub.TenantAsync();
        long before = (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance;

        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Spec()); // it may come back: accepted
        await hub.ScheduleAsync();
        Assert.Equal(JobState.Bidding, (await hub.Client.GetJobAsync(accepted.JobId)).State);
        hub.Clock.Advance(TimeSpan.FromSeconds(11)); // the window closes
        await hub.ScheduleAsync();

        JobView expired = await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Expired, "to expire");
        Assert.Contains("1 provider", expired.Explanation, StringComparison.Ordinal);
        Assert.Contains("is offline", expired.Explanation, StringComparison.Ordinal);
        Assert.Contains(expired.Events, e => e.Kind == "expired");
        Assert.Empty(expired.Leases);
        await hub.ReconcileAsync();
        Assert.True(hub.Ledger.Read(s => s.Escrow(accepted.JobId)!.Closed));
        Assert.Equal(before, (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance); // every µKUMO back
    }

    [Fact]
    public async Task Manual_acceptance_lists_the_bids_after_the_window_and_leases_the_one_accepted()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider one = await FakeProvider.JoinAsync(hub, "one", pricing: new ProviderPricing(0, 100_000, 0));
        await using FakeProvider two = await FakeProvider.JoinAsync(hub, "two", pricing: new ProviderPricing(0, 200_000, 0));
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Spec(extra: "market:\n  accept: manual"));

        IReadOnlyList<BidView> bids = await BidsAsync(hub, accepted.JobId, b => b.Count(x => x.State == "open") == 2, "two bids");
        await hub.ScheduleAsync();
        Assert.Equal(JobState.Bidding, (await hub.Client.GetJobAsync(accepted.JobId)).State); // nothing chosen for the tenant
        hub.Clock.Advance(TimeSpan.FromSeconds(11));
        await hub.ScheduleAsync();
        JobView waiting = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Contains(waiting.Events, e => e.Kind == "bids_ready" && e.Detail.Contains("kumo job accept", StringComparison.Ordinal));

        // The tenant prefers the dearer one.
        BidView chosen = bids.Single(b => b.ProviderName == "two");
        JobView leased = await hub.Client.AcceptBidsAsync(tenant, accepted.JobId, [chosen.Id]);
        Assert.Equal(JobState.Leased, leased.State);
        LeaseOffer offer = await two.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(200_000, offer.PricePerHourMicros);
        await one.ExpectAsync<BidLost>(ChannelMessageTypes.BidLost);

        var again = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.AcceptBidsAsync(tenant, accepted.JobId, [chosen.Id]));
        Assert.Equal("order_closed", again.Code);
        var stranger = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.AcceptBidsAsync(HubFixture.NewSigner(), accepted.JobId, [chosen.Id]));
        Assert.Equal("not_your_job", stranger.Code);
    }

    // ---- bad input: bids ----------------------------------------------------------------------------------

    [Fact]
    public async Task A_bid_above_the_orders_maximum_is_refused_with_the_reason_and_the_provider_told_to_release_it()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider greedy = await FakeProvider.JoinAsync(hub, "greedy", autoBid: false);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(price: "1"));
        BidRequest request = await greedy.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);

        BidPayload bid = (await greedy.BidAsync(request, price: 5 * K))!;

        Assert.Equal(bid.BidId, (await greedy.ExpectAsync<BidLost>(ChannelMessageTypes.BidLost)).BidId); // release it
        ChannelError error = await greedy.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("bid_refused", error.Code);
        Assert.Contains("above the order's maximum", error.Message, StringComparison.Ordinal);
        BidView stored = (await BidsAsync(hub, accepted.JobId, b => b.Count > 0, "the refused bid")).Single();
        Assert.Equal("refused", stored.State);
        Assert.Contains("above the order's maximum", stored.Detail, StringComparison.Ordinal);
        Assert.Equal(0, (await hub.Client.GetStatsAsync()).OpenBids);
    }

    [Fact]
    public async Task A_bid_for_capacity_already_promised_to_another_order_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "one-gpu",
            FakeProvider.Inventory(cores: 8, gpus: FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80)), autoBid: false);
        string gpuSpec = Spec(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: H100* }", price: "5", extra: "market:\n  accept: manual");
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted first = await hub.Client.SubmitJobAsync(tenant, gpuSpec);
        BidRequest r1 = await provider.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);
        JobAccepted second = await hub.Client.SubmitJobAsync(tenant, gpuSpec.Replace("test-job", "other", StringComparison.Ordinal));
        BidRequest r2 = await provider.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);

        await provider.BidAsync(r1);
        await BidsAsync(hub, first.JobId, b => b.Any(x => x.State == "open"), "the first bid");
        await provider.BidAsync(r2); // the same (only) GPU again

        ChannelError error = await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Contains("already promised to bid", error.Message, StringComparison.Ordinal);
        Assert.Equal("refused", (await BidsAsync(hub, second.JobId, b => b.Count > 0, "the refused bid")).Single().State);
        Assert.Equal(1, (await hub.Client.GetStatsAsync()).OpenBids);
    }

    [Fact]
    public async Task A_bid_from_a_provider_that_is_no_longer_bonded_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { Genesis = o.Genesis! with { MinBondPerDevice = 10 * K } });
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "bonded", autoBid: false);
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Faucet, new FaucetPayload(10 * K));
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Bond, new BondPayload(10 * K));
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec());
        BidRequest request = await provider.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);

        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Unbond, new UnbondPayload(10 * K));
        await hub.Market.SyncAsync(CancellationToken.None);
        await provider.BidAsync(request);

        ChannelError error = await provider.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Contains("too little stake bonded", error.Message, StringComparison.Ordinal);
        Assert.Equal("refused", (await BidsAsync(hub, accepted.JobId, b => b.Count > 0, "the refused bid")).Single().State);
    }

    [Fact]
    public async Task Bids_nobody_asked_for_for_no_open_order_signed_by_someone_else_or_replayed_are_refused()
    {
        // One bid request per order: only the cheaper provider is asked.
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { MaxBidRequests = 1 });
        await using FakeProvider asked = await FakeProvider.JoinAsync(hub, "asked", pricing: new ProviderPricing(0, 100_000, 0), autoBid: false);
        await using FakeProvider other = await FakeProvider.JoinAsync(hub, "other", pricing: new ProviderPricing(0, 900_000, 0), autoBid: false);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(extra: "market:\n  accept: manual"));
        BidRequest request = await asked.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);

        // Unsolicited.
        await other.BidAsync(request);
        Assert.Contains("was not asked", (await other.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Message, StringComparison.Ordinal);

        // For an order that is not open.
        await asked.BidAsync(request with { OrderId = "j-000000000000.0.1" });
        Assert.Contains("is not open for bids", (await asked.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Message, StringComparison.Ordinal);

        // Signed by an account that never registered, sent on a registered provider's channel.
        RequestSigner stranger = HubFixture.NewSigner();
        var forged = new BidPayload("b-forged", request.OrderId, [new Allocation(1000, 64 << 20, 16 << 20, [], null)], 1000, DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds());
        await asked.SendAsync(ChannelMessageTypes.Bid, stranger.Sign(MessageTypes.MarketBid, forged));
        Assert.Equal("wrong_signer", (await asked.ExpectAsync<ChannelError>(ChannelMessageTypes.Error)).Code);

        // A replay of a valid bid.
        BidPayload bid = (await asked.BidAsync(request))!;
        await BidsAsync(hub, accepted.JobId, b => b.Any(x => x.Id == bid.BidId && x.State == "open"), "the bid");
        SignedEnvelope envelope = asked.Signer.Sign(MessageTypes.MarketBid, bid with { BidId = "b-replayed" });
        await asked.SendAsync(ChannelMessageTypes.Bid, envelope); // a second bid (there is room for two nodes): fine
        await BidsAsync(hub, accepted.JobId, b => b.Any(x => x.Id == "b-replayed"), "the second bid");
        await asked.SendAsync(ChannelMessageTypes.Bid, envelope); // the very same signed message again
        ChannelError replay = await asked.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Contains("replay", replay.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(2, (await hub.Client.GetStatsAsync()).OpenBids);
    }

    [Fact]
    public async Task An_order_for_a_model_nobody_has_is_refused_before_any_money_moves()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a100 = await FakeProvider.JoinAsync(hub, "a100", FakeProvider.Inventory(cores: 8, gpus: FakeProvider.Gpu(0, "NVIDIA A100-SXM4-40GB", 40)));
        RequestSigner tenant = await hub.TenantAsync();
        long before = (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance;

        var error = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.SubmitJobAsync(tenant,
            Spec(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: [B200, \"H200*\"] }", price: "5")));

        Assert.Equal("infeasible", error.Code);
        Assert.Contains("lacks a GPU matching B200 or H200*", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance);
        Assert.Empty(await hub.Client.ListJobsAsync(null));
    }

    // ---- clusters -----------------------------------------------------------------------------------------

    [Fact]
    public async Task A_cluster_across_providers_is_leased_all_at_once_and_every_node_knows_its_peers()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await FakeProvider.JoinAsync(hub, "a", FakeProvider.Inventory(cores: 1), registration: r => r with { Address = "10.0.0.1:7000" });
        await using FakeProvider b = await FakeProvider.JoinAsync(hub, "b", FakeProvider.Inventory(cores: 1), registration: r => r with { Address = "10.0.0.2:7000" });
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(extra: "cluster:\n  nodes: 2", price: "1"));

        LeaseOffer toA = await a.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        LeaseOffer toB = await b.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal([0, 1], new[] { toA.NodeRank, toB.NodeRank }.Order());
        Assert.Equal(toA.Peers, toB.Peers);
        Assert.Equal(["10.0.0.1:7000", "10.0.0.2:7000"], toA.Peers.Select(p => p.Address).Order());

        foreach ((FakeProvider p, LeaseOffer o) in new[] { (a, toA), (b, toB) })
        {
            await p.AcceptAsync(o);
            await p.StartedAsync(o.LeaseId);
        }

        string cid = UnixFsImporter.Import("x"u8.ToArray()).Root.ToString();
        await a.ResultAsync(toA.LeaseId, CloseReason.Completed, 0, new OutputFile("out/r.txt", cid, 1));
        await Task.Delay(200);
        Assert.Equal(JobState.Running, (await hub.Client.GetJobAsync(accepted.JobId)).State); // one node still runs
        await b.ResultAsync(toB.LeaseId, CloseReason.Completed, 0, new OutputFile("out/r.txt", cid, 1));

        JobView done = await WaitForJobAsync(hub, accepted.JobId, j => j.State.IsFinal(), "to end");
        Assert.Equal(JobState.Succeeded, done.State);
        Assert.Equal(["node-1/out/r.txt", "out/r.txt"], done.Outputs.Select(o => o.Path).Order());
    }

    [Fact]
    public async Task A_cluster_that_can_only_be_half_filled_leases_no_node_and_releases_every_bid()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await FakeProvider.JoinAsync(hub, "a", FakeProvider.Inventory(cores: 1));
        await using FakeProvider b = await FakeProvider.JoinAsync(hub, "b", FakeProvider.Inventory(cores: 1));
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Spec(extra: "cluster:\n  nodes: 3\nretries: 0", price: "1"));

        await BidsAsync(hub, accepted.JobId, bids => bids.Count(x => x.State == "open") == 2, "two one-node bids");
        await hub.ScheduleAsync();
        Assert.Equal(JobState.Bidding, (await hub.Client.GetJobAsync(accepted.JobId)).State);
        hub.Clock.Advance(TimeSpan.FromSeconds(11)); // the window closes; only 2 nodes exist, so waiting cannot help
        await hub.ScheduleAsync();

        JobView expired = await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Expired, "to expire");
        Assert.Empty(expired.Leases); // not one node leased
        Assert.Contains("only 2 of 3 nodes", expired.Explanation, StringComparison.Ordinal);
        await a.ExpectAsync<BidLost>(ChannelMessageTypes.BidLost);
        await b.ExpectAsync<BidLost>(ChannelMessageTypes.BidLost);
        Assert.All(await hub.Client.ListBidsAsync(accepted.JobId), bid => Assert.Equal("lost", bid.State));
        Assert.Equal(0, (await hub.Client.GetStatsAsync()).OpenBids);
        await hub.ReconcileAsync();
        Assert.True(hub.Ledger.Read(s => s.Escrow(accepted.JobId)!.Closed)); // refunded: nothing dangling
    }

    [Fact]
    public async Task A_provider_that_vanishes_between_bid_and_lease_is_passed_over_for_the_next_bid()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider cheap = await FakeProvider.JoinAsync(hub, "cheap", pricing: new ProviderPricing(0, 100_000, 0), autoBid: false);
        await using FakeProvider other = await FakeProvider.JoinAsync(hub, "other", pricing: new ProviderPricing(0, 300_000, 0), autoBid: false);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec());
        BidRequest r1 = await cheap.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);
        BidRequest r2 = await other.ExpectAsync<BidRequest>(ChannelMessageTypes.BidRequest);
        await cheap.BidAsync(r1);
        await BidsAsync(hub, accepted.JobId, b => b.Count == 1, "the cheap bid");
        cheap.Crash(); // the best bidder is gone before the order chooses
        await Task.Delay(200);
        await other.BidAsync(r2);

        LeaseOffer offer = await other.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(300_000, offer.PricePerHourMicros);
        // The passed-over bid is marked in the same pass, possibly just after the offer went out.
        IReadOnlyList<BidView> bids = await BidsAsync(hub, accepted.JobId,
            b => b.Single(x => x.ProviderName == "cheap").Detail?.Contains("disconnected", StringComparison.Ordinal) == true, "the cheap bid marked");
        Assert.Contains("disconnected", bids.Single(b => b.ProviderName == "cheap").Detail, StringComparison.Ordinal);
        Assert.Equal(0, (await hub.Client.GetStatsAsync()).OpenBids);
    }

    // ---- failover, billing, reputation ---------------------------------------------------------------------

    [Fact]
    public async Task After_a_provider_fault_the_tenant_pays_only_up_to_the_last_checkpoint_and_the_job_is_reordered_without_it()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "flaky", pricing: new ProviderPricing(0, 3_600_000, 0)); // 1 µKUMO per ms
        await using FakeProvider spare = await FakeProvider.JoinAsync(hub, "spare", pricing: new ProviderPricing(0, 3_600_000 * 2, 0));
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(extra: "checkpoint:\n  path: ckpt\n  every: 1s", price: "10"));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await WaitForJobAsync(hub, accepted.JobId, j => j.State == JobState.Running, "to run");
        await hub.ReconcileAsync();
        long acceptedAt = hub.Ledger.Read(s => s.Lease(offer.LeaseId)!.OpenedAt);

        long escrowBefore = hub.Ledger.Read(s => s.Balance(LedgerAddress.Escrow(accepted.JobId)));
        hub.Clock.Advance(TimeSpan.FromSeconds(3));
        string file = Path.Combine(hub.Options.DataDirectory, "state");
        await File.WriteAllTextAsync(file, "step 3");
        ContentManifest state = await hub.Client.UploadFileAsync(provider.Signer, file);
        await provider.SendSignedAsync(ChannelMessageTypes.LeaseCheckpoint, MessageTypes.LeaseCheckpoint,
            new LeaseCheckpointReport(offer.LeaseId, [new OutputFile("ckpt/state", state.Root.ToString(), state.Size)], 0));
        JobView checkpointed = await WaitForJobAsync(hub, accepted.JobId, j => j.Events.Any(e => e.Kind == "checkpoint"), "to checkpoint");
        long checkpointAt = checkpointed.Events.Single(e => e.Kind == "checkpoint").At.ToUnixTimeMilliseconds();

        hub.Clock.Advance(TimeSpan.FromSeconds(4)); // 4 s of work after the checkpoint, then the provider dies
        provider.Crash();
        hub.Clock.Advance(hub.Options.HeartbeatTimeout + TimeSpan.FromSeconds(1));
        await spare.HeartbeatAsync(); // the spare is alive
        await Eventually.UntilAsync(() => hub.Client.ListProvidersAsync(),
            ps => ps.Single(p => p.Name == "spare").LastHeartbeatAt >= hub.Clock.GetUtcNow().AddSeconds(-1), "the spare's heartbeat");
        await hub.SweepAsync();
        await hub.ReconcileAsync();
        await hub.ReconcileAsync(); // the close, then the fault slash

        // Billed from acceptance to the checkpoint only (1 µKUMO per ms): the 4 s after it are lost work the tenant does
        // not pay for. The slash of the faulty provider's bond went to the tenant on top.
        Assert.True(hub.Ledger.Read(s => s.IsLeaseClosed(offer.LeaseId)));
        long paid = escrowBefore - hub.Ledger.Read(s => s.Balance(LedgerAddress.Escrow(accepted.JobId)));
        Assert.Equal(checkpointAt - acceptedAt, paid);

        LeaseOffer again = await spare.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal([new OutputFile("ckpt/state", state.Root.ToString(), state.Size)], again.Checkpoint);
        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Equal(1, job.Failovers);
        Assert.Contains("from the checkpoint", job.Events.Single(e => e.Kind == "failover").Detail, StringComparison.Ordinal);
        ProviderView flaky = (await hub.Client.ListProvidersAsync()).Single(p => p.Name == "flaky");
        Assert.True(flaky.Reputation < 0.6, $"reputation {flaky.Reputation} after a fault");
        Assert.True(hub.Ledger.Read(s => s.PendingFaults.Count) == 0); // slashed already
    }

    [Fact]
    public async Task Orders_that_require_reputation_pass_over_a_provider_with_a_fault_on_record()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider flaky = await FakeProvider.JoinAsync(hub, "flaky");
        JobAccepted first = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(extra: "retries: 0"));
        LeaseOffer offer = await flaky.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await flaky.AcceptAsync(offer);
        await flaky.HeartbeatAsync(); // forgets the lease: unstable
        await WaitForJobAsync(hub, first.JobId, j => j.State == JobState.Failed, "to fail");

        PlanView plan = await hub.Client.PlanAsync(Spec(extra: "market:\n  minReputation: 0.9"));
        Assert.Equal(0, plan.CanRunNow);
        Assert.Contains(plan.Exclusions, e => e.Reason.Contains("below reputation 0.9", StringComparison.Ordinal) && e.Count == 1);
    }

    // ---- plans, statistics, attestations, pricing modes ----------------------------------------------------

    [Fact]
    public async Task A_plan_counts_who_could_run_a_job_and_what_excludes_the_rest_and_changes_nothing()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider h100 = await FakeProvider.JoinAsync(hub, "h100", FakeProvider.Inventory(cores: 8, gpus: FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80)));
        await using FakeProvider a100 = await FakeProvider.JoinAsync(hub, "a100", FakeProvider.Inventory(cores: 8, gpus: FakeProvider.Gpu(0, "NVIDIA A100-SXM4-40GB", 40)));
        await using FakeProvider cpu = await FakeProvider.JoinAsync(hub, "cpu", FakeProvider.Inventory(cores: 8));
        await using FakeProvider small = await FakeProvider.JoinAsync(hub, "small", FakeProvider.Inventory(cores: 8, memory: 1L << 30, FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80)));

        PlanView plan = await hub.Client.PlanAsync(Spec(resources: "cpu: 1\n  memory: 4Gi\n  disk: 16Mi\n  gpu: { count: 1, model: H100* }", price: "5"));

        Assert.Equal(4, plan.Providers);
        Assert.Equal(1, plan.CanRunNow);
        Assert.Equal(0, plan.ExpectedWaitMs);
        Assert.Contains(plan.Exclusions, e => e.Count == 2 && e.Reason.StartsWith("lack a GPU matching H100*", StringComparison.Ordinal));
        Assert.Contains(plan.Exclusions, e => e.Count == 1 && e.Reason == "have too little memory");
        Assert.Empty(await hub.Client.ListJobsAsync(null));
    }

    [Fact]
    public async Task Statistics_count_the_hardware_and_report_the_median_clearing_price_of_h100s()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "h100s",
            FakeProvider.Inventory(cores: 16, gpus: [FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(1, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(2, "NVIDIA A100-SXM4-40GB", 40)]),
            pricing: new ProviderPricing(2_000_000, 0, 0));
        await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Spec(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: H100* }", price: "5"));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);

        NetworkStats stats = await hub.Client.GetStatsAsync();

        Assert.Equal(3, stats.Gpus);
        Assert.Equal(3, stats.SimulatedGpus);
        Assert.Equal(2, stats.H100Gpus);
        Assert.Equal(1, stats.A100Gpus);
        Assert.Equal(16, stats.CpuCores);
        Assert.Equal(2_000_000, stats.H100MedianPerGpuHour);
        Assert.Null(stats.A100MedianPerGpuHour);
        Assert.Equal(1, stats.ActiveLeases);
        Assert.Equal(1.0 / 3, stats.GpuUtilization, 3);
        Assert.Equal(2_000_000, stats.MarketPrices["NVIDIA H100 80GB HBM3"]);
    }

    [Fact]
    public async Task An_order_that_requires_an_auditors_attestation_runs_only_on_a_machine_that_auditor_vouched_for()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider plain = await FakeProvider.JoinAsync(hub, "plain");
        await using FakeProvider audited = await FakeProvider.JoinAsync(hub, "audited");
        RequestSigner auditor = HubFixture.NewSigner();
        string spec = Spec(extra: $"market:\n  auditor: {auditor.AccountId}\n  attested:\n    tier: datacenter");

        Assert.Equal("infeasible", (await Assert.ThrowsAsync<HubApiException>(() => hub.Client.SubmitJobAsync(HubFixture.NewSigner(), spec))).Code);
        await hub.Client.AttestAsync(auditor, audited.Id, new Dictionary<string, string> { ["tier"] = "datacenter" });
        await hub.Client.AttestAsync(HubFixture.NewSigner(), plain.Id, new Dictionary<string, string> { ["tier"] = "datacenter" }); // not the auditor named

        await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec);
        LeaseOffer offer = await audited.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.NotNull(offer);
        Assert.Equal("datacenter", (await hub.Client.ListProvidersAsync()).Single(p => p.Name == "audited").Attested[auditor.AccountId.Value]["tier"]);
        var bad = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.AttestAsync(auditor, audited.Id, new Dictionary<string, string> { ["tier"] = "a b" }));
        Assert.Equal("invalid_attestation", bad.Code);
    }

    [Fact]
    public async Task A_market_mode_order_pays_the_networks_clearing_price_of_the_model()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        GpuDevice[] gpus = [FakeProvider.Gpu(0, "NVIDIA H100 80GB HBM3", 80), FakeProvider.Gpu(1, "NVIDIA H100 80GB HBM3", 80)];
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "h100s", FakeProvider.Inventory(cores: 16, gpus: gpus), pricing: new ProviderPricing(2_000_000, 0, 0));
        string gpu = "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: H100* }";
        RequestSigner tenant = await hub.TenantAsync();
        await hub.Client.SubmitJobAsync(tenant, Spec(resources: gpu, price: "5"));
        await provider.AcceptAsync(await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer)); // clears at 2 KUMO

        await hub.Client.SubmitJobAsync(tenant, Spec(resources: gpu, price: "5", extra: "market:\n  mode: market").Replace("test-job", "second", StringComparison.Ordinal));
        LeaseOffer second = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(2_000_000, second.PricePerHourMicros);
    }
}
