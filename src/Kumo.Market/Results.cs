namespace Kumo.Market;

/// <summary>Gpus and host resources: an inventory, or a part of it.</summary>
public sealed record ResourceCount(int Gpus, int CpuMillicores, long MemoryBytes, long DiskBytes);

/// <summary>
/// How a provider's capacity is split. Free = Inventory − Reserved − Leased per resource, floored at 0; when a
/// re-registration shrank the inventory below what leases hold, <see cref="Conflicts"/> says so and Free is 0.
/// </summary>
public sealed record ProviderLoad(ResourceCount Inventory, ResourceCount Reserved, ResourceCount Leased, ResourceCount Free, IReadOnlyList<string> Conflicts);

/// <summary>The result of <see cref="MarketBook.Upsert"/>.</summary>
/// <param name="Added">True for a new provider, false for an update.</param>
/// <param name="Conflicts">Held capacity the new inventory no longer covers (leases keep running; the hub decides); empty when consistent.</param>
/// <param name="ReleasedReservations">Reservations dropped because their GPUs or resources are gone.</param>
public sealed record UpsertResult(bool Added, IReadOnlyList<string> Conflicts, IReadOnlyList<Bid> ReleasedReservations);

/// <summary>What <see cref="MarketBook.Remove"/> dropped with a provider.</summary>
public sealed record ProviderRemoval(MarketProvider Provider, IReadOnlyList<LeaseHandle> Leases, IReadOnlyList<Bid> Reservations);

/// <summary>Recent clearing prices of a model (µKUMO per GPU-hour, or per core-hour for "cpu").</summary>
/// <param name="Median">The lower middle of the sorted window (see <see cref="MarketBook.MarketPrice"/>).</param>
/// <param name="Count">How many prices the window holds.</param>
/// <param name="LastAt">Unix ms of the newest.</param>
public sealed record PriceRange(long Min, long Median, long Max, int Count, long LastAt);

/// <summary>How many providers a constraint excluded.</summary>
public sealed record Exclusion(string Reason, int Count);

/// <summary>
/// Who could run an order and why the others cannot. <see cref="CanRunNow"/> + Σ <see cref="Exclusions"/> =
/// <see cref="Providers"/>; each excluded provider is counted once, under the first constraint it fails (provider
/// state, then hardware, then price, then what is busy now).
/// </summary>
/// <param name="Providers">Providers in the book.</param>
/// <param name="CanRunNow">Providers that could host at least one node now.</param>
/// <param name="CanRunWhenIdle">Providers that could if nothing were reserved or leased (includes <paramref name="CanRunNow"/>).</param>
/// <param name="NodesNow">Nodes those providers could host now, together (at most the order's nodes each).</param>
/// <param name="NodesWhenIdle">Nodes when idle, together.</param>
/// <param name="Model">The GPU model the order would most likely get ("cpu" for a CPU order), null when nobody can run it.</param>
/// <param name="RecentPrices">Recent clearing prices of that model, null when none.</param>
/// <param name="ExpectedWaitMs">0 when it can run now; else when enough capable providers will be idle from lease end estimates; null = unknown.</param>
/// <param name="Explanation">One sentence for the tenant.</param>
public sealed record Feasibility(
    int Providers,
    int CanRunNow,
    int CanRunWhenIdle,
    int NodesNow,
    int NodesWhenIdle,
    IReadOnlyList<Exclusion> Exclusions,
    string? Model,
    PriceRange? RecentPrices,
    long? ExpectedWaitMs,
    string Explanation);

/// <summary>The outcome of <see cref="MarketBook.Select"/>. All or nothing: winners cover exactly the order's nodes, or none.</summary>
/// <param name="Winners">Reserved bids as taken: a bid taken for fewer nodes than it offered keeps its id and lists only its first nodes at their shares.</param>
/// <param name="TotalPricePerHour">What the tenant pays per hour for all nodes.</param>
/// <param name="AdjustedTotal">Σ of reputation-adjusted node prices (what was minimized).</param>
/// <param name="Failure">Why no set exists; null on success.</param>
public sealed record Selection(bool Succeeded, IReadOnlyList<Bid> Winners, long TotalPricePerHour, double AdjustedTotal, string? Failure)
{
    internal static Selection Fail(string reason) => new(false, [], 0, 0, reason);
}

/// <summary>Network figures for the explorer. Counts cover online providers.</summary>
/// <param name="H100Gpus">GPUs whose model matches "H100".</param>
/// <param name="H100MedianPerGpuHour">Median of recent clearing prices of all H100 models, µKUMO per GPU-hour.</param>
/// <param name="GpuUtilization">Leased GPUs / GPUs (0 when there are none).</param>
/// <param name="CpuUtilization">Leased millicores / millicores.</param>
public sealed record MarketStats(
    int Providers,
    int ProvidersOnline,
    int Gpus,
    int RealGpus,
    int SimulatedGpus,
    int CpuCores,
    int H100Gpus,
    int A100Gpus,
    long? H100MedianPerGpuHour,
    long? A100MedianPerGpuHour,
    int LeasedGpus,
    double GpuUtilization,
    double CpuUtilization,
    int OpenOrders,
    int OpenBids,
    int ActiveLeases);

/// <summary>A provider's free capacity now: what a bid may use.</summary>
public sealed record FreeCapacity(int CpuMillicores, long MemoryBytes, long DiskBytes, IReadOnlySet<string> GpuUuids);

/// <summary>
/// What <see cref="BidEngine"/> needs to know besides the provider and the order: its free capacity and the
/// market prices. <see cref="MarketBook"/> is one; a provider agent builds a <see cref="LocalMarketView"/> from its
/// own state and the prices the hub publishes.
/// </summary>
public interface IMarketView
{
    /// <summary>Free capacity of the provider, null when unknown.</summary>
    FreeCapacity? Free(string providerId);

    /// <summary>The market price of an exact GPU model name (or "cpu", per core-hour), null when nothing cleared.</summary>
    long? MarketPrice(string gpuModel);
}

/// <summary>A provider agent's own view: its free capacity and the market prices it was told.</summary>
public sealed class LocalMarketView(string ownerId, FreeCapacity free, IReadOnlyDictionary<string, long> marketPrices) : IMarketView
{
    public FreeCapacity? Free(string providerId) => string.Equals(providerId, ownerId, StringComparison.Ordinal) ? free : null;

    public long? MarketPrice(string gpuModel) => marketPrices.TryGetValue(gpuModel, out long price) ? price : null;
}
