using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hub.Control;
using Kumo.Hub.Leases;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Market;

/// <summary>
/// The hub's marketplace. Every open order (a queued job) goes through rounds: the best candidates by
/// reputation-adjusted price are asked to bid (at most <see cref="HubOptions.MaxBidRequests"/>); bids are checked
/// and their capacity reserved in the <see cref="MarketBook"/>; when the spec's window closes — or earlier, once
/// everyone asked has answered — the winning set is chosen (all nodes of a cluster or none) and leased, or the
/// bids wait for the tenant to accept one. A round without an acceptable bid starts again while capable providers
/// are merely busy, and otherwise the order expires with the feasibility explanation. The book is the market's
/// single source of capacity truth; it is kept in step with the store on every pass and guarded by one lock.
/// </summary>
public sealed partial class MarketService(
    IHubStore store,
    Auth.EnvelopeAuthenticator auth,
    LeaseCoordinator leases,
    Ledger.LedgerService ledger,
    ProviderSessions sessions,
    HubSignals signals,
    NetworkMeasurements network,
    Verification.HardwareProofService hardware,
    Verification.ProviderCheckService checks,
    HubOptions options,
    TimeProvider time,
    ILogger<MarketService> logger) : BackgroundService
{
    private readonly Lock _gate = new();
    /// <summary>How many providers a cluster's second round may ask.</summary>
    private const int WidenedAskLimit = 1000;

    private readonly SemaphoreSlim _pass = new(1, 1); // one pass at a time (the loop, and tests driving it)
    private readonly MarketBook _book = new();
    private readonly Dictionary<string, OrderRound> _rounds = new(StringComparer.Ordinal); // by job id
    private readonly Dictionary<string, OrderRound> _byOrder = new(StringComparer.Ordinal); // by order id

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "market pass failed");
            }

            await WaitAsync(stoppingToken);
        }
    }

    /// <summary>One pass: sync the book, expire stale bids, then move every open order on. Returns leases offered.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            return await PassAsync(cancellationToken);
        }
        finally
        {
            _pass.Release();
        }
    }

    private async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken);
        long now = Now();
        await ExpireBidsAsync(now, cancellationToken);

        IReadOnlyList<JobRecord> open;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            open = await reader.ListOpenOrdersAsync(1000);
        }

        await ForgetClosedOrdersAsync(open, cancellationToken);
        int offered = 0;
        foreach (JobRecord job in open)
        {
            try
            {
                offered += await AdvanceAsync(job, now, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError(e, "order {Job} could not be advanced", job.Id);
            }
        }

        return offered;
    }

    /// <summary>Moves one open order on: open its round, ask candidates, then lease, wait, re-bid or expire.</summary>
    private async Task<int> AdvanceAsync(JobRecord job, long now, CancellationToken cancellationToken)
    {
        OrderRound? round = await EnsureRoundAsync(job, now, cancellationToken);
        if (round is null)
        {
            return 0;
        }

        await AskAsync(round, now, cancellationToken);
        DropVanishedBidders(round, now);
        bool windowClosed = now >= round.ClosesAt;
        if (round.Spec.Market.ManualAccept)
        {
            return await AdvanceManualAsync(job, round, now, windowClosed, cancellationToken);
        }

        Selection selection;
        lock (_gate)
        {
            if (!windowClosed && !(round.AllAnswered && round.Bids.Count > 0))
            {
                return 0;
            }

            selection = _book.Select(round.OrderId, [.. round.Bids.Values], Latency(), now);
        }

        if (selection.Succeeded)
        {
            return Math.Max(0, await LeaseAsync(job, round, selection, now, cancellationToken));
        }

        if (!windowClosed)
        {
            // Everyone answered, but the bids make no full set: a cluster asks every capable provider (second round).
            if (round.Order.Nodes > 1 && round.AskLimit < WidenedAskLimit)
            {
                round.AskLimit = WidenedAskLimit;
                await AskAsync(round, now, cancellationToken);
            }

            return 0;
        }

        await EndRoundWithoutLeaseAsync(job, round, selection.Failure, now, cancellationToken);
        return 0;
    }

    private async Task<int> AdvanceManualAsync(JobRecord job, OrderRound round, long now, bool windowClosed, CancellationToken cancellationToken)
    {
        if (!windowClosed)
        {
            return 0;
        }

        int count;
        long cheapest;
        bool announce;
        lock (_gate)
        {
            count = round.Bids.Count;
            cheapest = count == 0 ? 0 : round.Bids.Values.Min(b => b.PricePerHour);
            announce = count > 0 && !round.AwaitingAcceptance;
            round.AwaitingAcceptance |= count > 0;
        }

        if (count > 0)
        {
            if (announce)
            {
                await AddEventAsync(job.Id, now, "bids_ready",
                    $"{count} bid(s), from {cheapest} µKUMO/h; list them with `kumo job bids {job.Id}` and accept with `kumo job accept {job.Id} BID`", cancellationToken);
            }

            return 0;
        }

        await EndRoundWithoutLeaseAsync(job, round, round.AwaitingAcceptance ? "every bid expired before one was accepted" : null, now, cancellationToken);
        return 0;
    }

    /// <summary>The job's current round, opening one (and the book's order) when the job has none for its attempt.</summary>
    private async Task<OrderRound?> EnsureRoundAsync(JobRecord job, long now, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_rounds.TryGetValue(job.Id, out OrderRound? current) && current.Attempt == job.Attempt)
            {
                return current;
            }
        }

        return await OpenRoundAsync(job, number: 1, now, cancellationToken);
    }

    private async Task<OrderRound?> OpenRoundAsync(JobRecord job, int number, long now, CancellationToken cancellationToken)
    {
        JobSpec spec = Jobs.JobService.ParseSpec(job.SpecJson);
        SignedEnvelope submission = JsonSerializer.Deserialize<SignedEnvelope>(job.SubmissionEnvelope, KumoJson.Options)!;
        var excluded = job.ExcludedProviders.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        string orderId = OrderRound.OrderIdFor(job.Id, job.Attempt, number);
        OrderRequest order = ProtocolMapping.ToOrder(orderId, spec, excluded);
        var round = new OrderRound(job.Id, job.Attempt, number, order, spec, submission, now, now + (long)spec.Market.Window.TotalMilliseconds)
        {
            AskLimit = options.MaxBidRequests,
        };
        lock (_gate)
        {
            if (_rounds.Remove(job.Id, out OrderRound? previous))
            {
                CloseInBook(previous);
            }

            _book.OpenOrder(order, now);
            _rounds[job.Id] = round;
            _byOrder[orderId] = round;
        }

        await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
        JobRecord? current = await tx.GetJobAsync(job.Id);
        if (current is null || !current.State.IsOrderOpen())
        {
            return null;
        }

        string mode = Names.Of(spec.Market.Mode);
        await tx.UpdateJobAsync(current with { State = JobState.Bidding, UpdatedAt = now, OrderOpenedAt = current.OrderOpenedAt == 0 ? now : current.OrderOpenedAt });
        await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "bidding",
            $"order {orderId} open for bids ({mode}, window {spec.Market.Window.TotalSeconds:0} s{(spec.NodeCount > 1 ? $", {spec.NodeCount} nodes, all or none" : "")})"));
        await tx.CommitAsync();
        signals.JobChanged(job.Id);
        return round;
    }

    /// <summary>Asks the best candidates not yet asked, up to the limit per round.</summary>
    private async Task AskAsync(OrderRound round, long now, CancellationToken cancellationToken)
    {
        int room = round.AskLimit - round.Asked.Count;
        if (room <= 0 || now >= round.ClosesAt)
        {
            return;
        }

        List<string> ask;
        Dictionary<string, long> prices;
        lock (_gate)
        {
            ask = [.. _book.FindCandidates(round.Order, now, round.AskLimit)
                .Select(c => c.Provider.Id)
                .Where(id => !round.Asked.Contains(id) && sessions.IsConnected(id))
                .Take(room)];
            prices = MarketPrices();
            round.Asked.UnionWith(ask);
        }

        long ttl = round.ClosesAt - now + (long)(round.Spec.Market.ManualAccept ? options.ManualAcceptTime : options.BidValidity).TotalMilliseconds;
        var request = new BidRequest(round.OrderId, round.JobId, round.Submission, prices, round.ClosesAt, ttl);
        foreach (string provider in ask)
        {
            if (!await sessions.TrySendAsync(provider, ChannelMessageTypes.BidRequest, request, cancellationToken))
            {
                lock (_gate)
                {
                    round.Answered.Add(provider); // gone already: it will not answer
                }
            }
        }

        if (ask.Count > 0)
        {
            logger.LogInformation("order {Order}: asked {Count} provider(s) for bids", round.OrderId, ask.Count);
        }
    }

    /// <summary>A provider that disconnected cannot take a lease: its bids are released before selection.</summary>
    private void DropVanishedBidders(OrderRound round, long now)
    {
        List<Bid> gone;
        lock (_gate)
        {
            gone = [.. round.Bids.Values.Where(b => !sessions.IsConnected(b.ProviderId))];
            foreach (Bid bid in gone)
            {
                _book.Release(bid.Id);
                round.Bids.Remove(bid.Id);
                round.Declines.Add($"{bid.ProviderId} disconnected after bidding");
            }
        }

        if (gone.Count > 0)
        {
            _ = MarkBidsAsync([.. gone.Select(b => (b.Id, BidState.Lost, "the provider disconnected before the order chose"))], now, CancellationToken.None);
        }
    }

    /// <summary>Turns the winning bids into leases (one per node) and tells winners and losers.</summary>
    private async Task<int> LeaseAsync(JobRecord job, OrderRound round, Selection selection, long now, CancellationToken cancellationToken)
    {
        IReadOnlyList<LeaseHandle> handles;
        List<Bid> losers;
        var names = new Dictionary<string, (string Name, string Address, bool Simulated)>(StringComparer.Ordinal);
        lock (_gate)
        {
            if (!_byOrder.TryGetValue(round.OrderId, out OrderRound? still) || still != round)
            {
                return -1; // leased or closed meanwhile (an acceptance raced the window)
            }

            int nodes = selection.Winners.Sum(w => w.Nodes.Count);
            List<string> leaseIds = [.. Enumerable.Range(0, nodes).Select(_ => "l-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)))];
            var won = selection.Winners.Select(w => w.Id).ToHashSet(StringComparer.Ordinal);
            losers = [.. round.Bids.Values.Where(b => !won.Contains(b.Id))];
            handles = _book.Lease(round.OrderId, selection.Winners, leaseIds, now);
            foreach (LeaseHandle handle in handles)
            {
                _bookLeases.Add(handle.LeaseId);
                MarketProvider? provider = _book.Get(handle.ProviderId);
                names[handle.ProviderId] = (provider?.Name ?? handle.ProviderId, _addresses.GetValueOrDefault(handle.ProviderId, ""),
                    provider?.Gpus.Any(g => g.Simulated && handle.Allocation.GpuUuids.Contains(g.Uuid)) ?? false);
            }

            Forget(round);
        }

        List<NodeOffer> offers = [.. handles.Select((h, rank) => new NodeOffer(
            rank, h.LeaseId, h.ProviderId, names[h.ProviderId].Name, names[h.ProviderId].Address,
            ProtocolMapping.ToAllocation(h.Allocation), h.PricePerHour, names[h.ProviderId].Simulated, h.BidId))];
        List<(string BidId, string Reason)> lost = [.. losers.Select(b => (b.Id, "another bid won"))];
        IReadOnlyList<LeaseRecord>? created = await leases.OfferGroupAsync(job.Id, round.Attempt, offers, lost, cancellationToken);
        if (created is null)
        {
            lock (_gate)
            {
                foreach (LeaseHandle handle in handles)
                {
                    _book.EndLease(handle.LeaseId);
                    _bookLeases.Remove(handle.LeaseId);
                }
            }

            await TellLosersAsync(selection.Winners, round.OrderId, "the order closed before its leases were offered", cancellationToken);
        }

        await TellLosersAsync(losers, round.OrderId, "another bid won", cancellationToken);
        return created?.Count ?? 0;
    }

    /// <summary>
    /// No lease this round: when capable providers are only busy (and the order is younger than the order timeout), a
    /// new round starts; otherwise the order expires with the explanation — who could run it, what excluded the rest,
    /// why bids were declined or refused.
    /// </summary>
    private async Task EndRoundWithoutLeaseAsync(JobRecord job, OrderRound round, string? selectionFailure, long now, CancellationToken cancellationToken)
    {
        Feasibility feasibility;
        List<Bid> released;
        string explanation;
        lock (_gate)
        {
            released = [.. round.Bids.Values];
            Forget(round);
            CloseInBook(round); // releases the round's reservations, so they do not count as busy below
            feasibility = _book.Explain(round.Order, now);
            explanation = Explain(round, feasibility, selectionFailure);
        }

        await TellLosersAsync(released, round.OrderId, "the round ended without a lease", cancellationToken);
        await MarkBidsAsync([.. released.Select(b => (b.Id, BidState.Lost, "the round ended without a lease"))], now, cancellationToken);
        long age = now - (job.OrderOpenedAt == 0 ? job.CreatedAt : job.OrderOpenedAt);
        // Waiting helps only when capacity is taken by other leases: if enough nodes are free right now and the round
        // still found no acceptable set (latency, price), another round would end the same way.
        bool busyOnly = feasibility.CanRunWhenIdle > 0 && feasibility.NodesWhenIdle >= round.Order.Nodes
            && (feasibility.NodesNow < round.Order.Nodes || released.Count == 0);
        if (busyOnly && age < options.OrderTimeout.TotalMilliseconds)
        {
            await AddEventAsync(job.Id, now, "rebidding", $"no lease in round {round.Number}: {explanation}; bidding again", cancellationToken);
            await ExplainAsync(job.Id, explanation, cancellationToken);
            await OpenRoundAsync(job, round.Number + 1, now, cancellationToken);
            return;
        }

        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            JobRecord? current = await tx.GetJobAsync(job.Id);
            if (current is null || !current.State.IsOrderOpen())
            {
                return;
            }

            string detail = $"the order expired without a lease: {explanation}";
            await tx.UpdateJobAsync(current with { State = JobState.Expired, Explanation = explanation, FailureDetail = Shorten(detail), UpdatedAt = now });
            await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "expired", Shorten(detail)));
            await tx.CommitAsync();
        }

        logger.LogInformation("order {Order} expired: {Explanation}", round.OrderId, explanation);
        signals.JobChanged(job.Id);
        signals.WakeLedger(); // refund the escrow
    }

    private static string Explain(OrderRound round, Feasibility feasibility, string? selectionFailure)
    {
        var parts = new List<string> { feasibility.Explanation.TrimEnd('.') };
        if (round.Asked.Count > 0)
        {
            parts.Add($"{round.Asked.Count} asked to bid, {round.Bids.Count} bid(s) held");
        }

        if (round.Declines.Count > 0)
        {
            parts.Add("declined: " + string.Join("; ", round.Declines.Distinct(StringComparer.Ordinal).Take(5)));
        }

        if (selectionFailure is not null && round.Bids.Count > 0)
        {
            parts.Add(selectionFailure);
        }

        return string.Join("; ", parts);
    }

    /// <summary>Orders that left the open states some other way (leased by acceptance, cancelled): their rounds and bids go.</summary>
    private async Task ForgetClosedOrdersAsync(IReadOnlyList<JobRecord> open, CancellationToken cancellationToken)
    {
        var stillOpen = open.ToDictionary(j => j.Id, j => j.Attempt, StringComparer.Ordinal);
        List<OrderRound> gone;
        lock (_gate)
        {
            gone = [.. _rounds.Values.Where(r => !stillOpen.TryGetValue(r.JobId, out int attempt) || attempt != r.Attempt)];
            foreach (OrderRound round in gone)
            {
                Forget(round);
                CloseInBook(round);
            }
        }

        foreach (OrderRound round in gone)
        {
            await TellLosersAsync([.. round.Bids.Values], round.OrderId, "the order closed", cancellationToken);
            await MarkBidsAsync([.. round.Bids.Values.Select(b => (b.Id, BidState.Lost, "the order closed"))], Now(), cancellationToken);
        }
    }

    private async Task ExpireBidsAsync(long now, CancellationToken cancellationToken)
    {
        IReadOnlyList<Bid> expired;
        lock (_gate)
        {
            expired = _book.ExpireBids(now);
            foreach (Bid bid in expired)
            {
                if (_byOrder.TryGetValue(bid.OrderId, out OrderRound? round))
                {
                    round.Bids.Remove(bid.Id);
                }
            }
        }

        if (expired.Count > 0)
        {
            await MarkBidsAsync([.. expired.Select(b => (b.Id, BidState.Expired, "its validity ran out"))], now, cancellationToken);
            await TellLosersAsync(expired, null, "the bid expired", cancellationToken);
        }
    }

    private async Task TellLosersAsync(IEnumerable<Bid> bids, string? orderId, string reason, CancellationToken cancellationToken)
    {
        foreach (Bid bid in bids)
        {
            await sessions.TrySendAsync(bid.ProviderId, ChannelMessageTypes.BidLost, new BidLost(bid.Id, orderId ?? bid.OrderId, reason), cancellationToken);
        }
    }

    private async Task MarkBidsAsync(IReadOnlyList<(string Id, BidState State, string Detail)> changes, long now, CancellationToken cancellationToken)
    {
        if (changes.Count == 0)
        {
            return;
        }

        await store.WriteBatchedAsync(async tx =>
        {
            foreach ((string id, BidState state, string detail) in changes)
            {
                BidRecord? bid = await tx.GetBidAsync(id);
                if (bid is not null && bid.State == BidState.Open)
                {
                    await tx.UpdateBidStateAsync(id, state, detail);
                }
            }

            return now;
        }, cancellationToken);
    }

    private async Task AddEventAsync(string jobId, long now, string kind, string detail, CancellationToken cancellationToken)
    {
        await store.WriteBatchedAsync(async tx =>
        {
            await tx.AddJobEventAsync(new JobEventRecord(jobId, now, kind, Shorten(detail)));
            return 0;
        }, cancellationToken);
        signals.JobChanged(jobId);
    }

    private async Task ExplainAsync(string jobId, string explanation, CancellationToken cancellationToken)
    {
        await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
        if (await tx.GetJobAsync(jobId) is { } job)
        {
            await tx.UpdateJobAsync(job with { Explanation = Shorten(explanation) });
            await tx.CommitAsync();
        }
    }

    /// <summary>Drops a round from the indexes (the caller holds the lock).</summary>
    private void Forget(OrderRound round)
    {
        if (_rounds.TryGetValue(round.JobId, out OrderRound? current) && current == round)
        {
            _rounds.Remove(round.JobId);
        }

        _byOrder.Remove(round.OrderId);
    }

    /// <summary>Closes the round's order in the book, releasing its reservations (the caller holds the lock).</summary>
    private void CloseInBook(OrderRound round)
    {
        _book.CloseOrder(round.OrderId);
        _byOrder.Remove(round.OrderId);
    }

    /// <summary>Measured round-trip times where both ends of a pair have probed each other, else estimated from regions and zones.</summary>
    private ILatencyMap Latency() => network.LatencyAt(Now(), new ZoneLatencyMap(_book));

    /// <summary>Providers that answer peer probes, with their region and probe address (for <see cref="NetworkProber"/>).</summary>
    internal IReadOnlyList<(string Id, string Region, string ProbeAddress)> ProbeablePeers()
    {
        lock (_gate)
        {
            return [.. _probeAddresses.Select(p => (p.Key, _book.Get(p.Key)?.Region ?? "", p.Value))];
        }
    }

    /// <summary>The current market price of every model that has cleared (the caller holds the lock).</summary>
    private Dictionary<string, long> MarketPrices()
    {
        var prices = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (string model in _book.Providers.SelectMany(p => p.Gpus).Select(g => g.Model).Append("cpu").Distinct(StringComparer.Ordinal))
        {
            if (_book.MarketPrice(model) is { } price)
            {
                prices[model] = price;
            }
        }

        return prices;
    }

    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task delay = Task.Delay(options.SweepInterval, time, wait.Token);
        Task wake = signals.WaitForSchedulerWakeAsync(wait.Token).AsTask();
        await Task.WhenAny(delay, wake);
        await wait.CancelAsync();
        try
        {
            await Task.WhenAll(delay, wake);
        }
        catch (OperationCanceledException)
        {
            // The other waiter, cancelled on purpose.
        }
    }

    private static string Shorten(string text) => text.Length > 2000 ? text[..2000] + "…" : text;

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>One node of a cluster lease about to be offered.</summary>
public sealed record NodeOffer(
    int Rank,
    string LeaseId,
    string ProviderId,
    string ProviderName,
    string Address,
    Allocation Allocation,
    long PricePerHourMicros,
    bool SimulatedGpus,
    string BidId);
