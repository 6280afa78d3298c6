using Kumo.Crypto;
using Kumo.Jobs;

namespace Kumo.Protocol;

/// <summary>Signed by a tenant (<see cref="Signing.MessageTypes.MarketAccept"/>): the bids it accepts for its job's open order.</summary>
public sealed record BidAcceptance(string JobId, IReadOnlyList<string> BidIds);

/// <summary>
/// Signed by an auditor (<see cref="Signing.MessageTypes.Attestation"/>): attributes it vouches for about a provider
/// machine, e.g. tier=datacenter. Orders may require them, naming the auditor they trust. An empty set withdraws.
/// </summary>
public sealed record AttestationStatement(string ProviderId, IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// A provider's answer to a bid request, as a tenant sees it. <c>State</c> is open, won, lost, expired, declined or
/// refused; <c>Nodes</c> are the allocations offered (the actual GPU model, never the order's pattern); <c>Detail</c>
/// says why it was declined, refused or lost.
/// </summary>
public sealed record BidView(
    string Id,
    string JobId,
    int Attempt,
    AccountId ProviderId,
    string ProviderName,
    string State,
    long PricePerHourMicros,
    IReadOnlyList<Allocation> Nodes,
    double Reputation,
    DateTimeOffset ReceivedAt,
    DateTimeOffset ExpiresAt,
    string Detail);

/// <summary>How many providers one constraint excluded.</summary>
public sealed record ExclusionView(string Reason, int Count);

/// <summary>Recent clearing prices of a GPU model (µKUMO per GPU-hour; per core-hour for "cpu").</summary>
public sealed record PriceRangeView(string Model, long Min, long Median, long Max, int Count);

/// <summary>
/// Feasibility before money: who could run a job now, which constraint excludes how many of the rest, recent
/// prices of the model it would get, and the expected wait.
/// </summary>
public sealed record PlanView(
    int Providers,
    int CanRunNow,
    int CanRunWhenIdle,
    int NodesNow,
    int NodesNeeded,
    IReadOnlyList<ExclusionView> Exclusions,
    PriceRangeView? RecentPrices,
    long? ExpectedWaitMs,
    long MaxPricePerHourMicros,
    string Explanation);

/// <summary>The network at a glance (the seeds' hardware table for this network). Prices in µKUMO per GPU-hour.</summary>
public sealed record NetworkStats(
    int Providers,
    int ProvidersOnline,
    int Gpus,
    int SimulatedGpus,
    int CpuCores,
    int H100Gpus,
    int A100Gpus,
    long? H100MedianPerGpuHour,
    long? A100MedianPerGpuHour,
    double GpuUtilization,
    double CpuUtilization,
    int OpenOrders,
    int OpenBids,
    int ActiveLeases,
    IReadOnlyDictionary<string, long> MarketPrices);

/// <summary>A job's order as the market handles it: the explanation of the last round without a lease, if any.</summary>
public sealed record OrderStatus(string JobId, JobState State, int Attempt, int Failovers, string? Explanation);
