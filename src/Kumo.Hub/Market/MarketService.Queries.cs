using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Leases;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Serialization;

namespace Kumo.Hub.Market;

public sealed partial class MarketService
{
    /// <summary>
    /// Feasibility before money: how many providers could run <paramref name="spec"/> now, what excludes the rest, recent
    /// clearing prices of the model it would get, and the expected wait. Changes nothing.
    /// </summary>
    public async Task<PlanView> PlanAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken);
        OrderRequest order = ProtocolMapping.ToOrder("plan", spec);
        Feasibility feasibility;
        lock (_gate)
        {
            feasibility = _book.Explain(order, Now());
        }

        return ToPlan(feasibility, order);
    }

    /// <summary>Whether anyone registered could ever run the spec (the submission check): false with the explanation when not.</summary>
    internal async Task<(bool Possible, PlanView Plan)> CheckPossibleAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        PlanView plan = await PlanAsync(spec, cancellationToken);
        // Providers that are offline might run it once they are back; one that has not bonded its stake is not a
        // provider the market offers work to.
        bool someAbsent = plan.Exclusions.Any(e => e.Reason.Contains("offline", StringComparison.Ordinal));
        return (plan.CanRunWhenIdle > 0 || someAbsent, plan);
    }

    private static PlanView ToPlan(Feasibility f, OrderRequest order) => new(
        f.Providers,
        f.CanRunNow,
        f.CanRunWhenIdle,
        f.NodesNow,
        order.Nodes,
        [.. f.Exclusions.Select(e => new ExclusionView(e.Reason, e.Count))],
        f.RecentPrices is { } p && f.Model is { } model ? new PriceRangeView(model, p.Min, p.Median, p.Max, p.Count) : null,
        f.ExpectedWaitMs,
        order.MaxPricePerHour,
        f.Explanation);

    /// <summary>The network at a glance: hardware, median clearing prices of H100 and A100, utilization, open orders.</summary>
    public async Task<NetworkStats> StatsAsync(CancellationToken cancellationToken)
    {
        await SyncAsync(cancellationToken);
        MarketStats stats;
        Dictionary<string, long> prices;
        lock (_gate)
        {
            stats = _book.Stats(Now());
            prices = MarketPrices();
        }

        int openOrders;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            IReadOnlyDictionary<JobState, long> counts = await reader.CountJobsByStateAsync();
            openOrders = (int)(counts.GetValueOrDefault(JobState.Queued) + counts.GetValueOrDefault(JobState.Bidding));
        }

        return new NetworkStats(
            stats.Providers, stats.ProvidersOnline, stats.Gpus, stats.SimulatedGpus, stats.CpuCores, stats.H100Gpus, stats.A100Gpus,
            stats.H100MedianPerGpuHour, stats.A100MedianPerGpuHour, stats.GpuUtilization, stats.CpuUtilization,
            openOrders, stats.OpenBids, stats.ActiveLeases, prices);
    }

    /// <summary>A job's bids and declines, every attempt, oldest first.</summary>
    public async Task<IReadOnlyList<BidView>> ListBidsAsync(string jobId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        _ = await reader.GetJobAsync(jobId) ?? throw ApiProblem.NotFound("unknown_job", $"no job {jobId}");
        var names = (await reader.ListProvidersAsync()).ToDictionary(p => p.Id, p => p.Name, StringComparer.Ordinal);
        var reputation = (await reader.ListReputationAsync()).ToDictionary(r => r.ProviderId, ReputationKeeper.Score, StringComparer.Ordinal);
        return [.. (await reader.ListBidsAsync(jobId)).Select(b => new BidView(
            b.Id,
            b.JobId,
            b.Attempt,
            Crypto.AccountId.Parse(b.ProviderId),
            names.GetValueOrDefault(b.ProviderId, "?"),
            Names.Of(b.State),
            b.PricePerHourMicros,
            JsonSerializer.Deserialize<List<Allocation>>(b.NodesJson, KumoJson.Options)!,
            reputation.GetValueOrDefault(b.ProviderId, 1),
            DateTimeOffset.FromUnixTimeMilliseconds(b.ReceivedAt),
            DateTimeOffset.FromUnixTimeMilliseconds(b.ExpiresAt),
            b.Detail))];
    }
}
