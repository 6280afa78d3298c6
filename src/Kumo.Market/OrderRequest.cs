namespace Kumo.Market;

/// <summary>How the winning price of an order is set.</summary>
public enum PricingMode
{
    /// <summary>Reverse auction: each provider bids its own policy's quote (at least its floor).</summary>
    Auction,

    /// <summary>Every bidder asks the network's market price of the model (<see cref="MarketBook.MarketPrice"/>), if that meets its floor.</summary>
    Market,

    /// <summary>Pay per unit of measured performance: tier × rate × GPUs (or 1 for a CPU node).</summary>
    Performance,
}

/// <summary>A tenant's order for one node or a cluster of identical nodes. Money in µKUMO.</summary>
/// <param name="Id">Order id (the hub's job or order id).</param>
/// <param name="Node">What each node needs.</param>
/// <param name="MaxPricePerHour">The most the tenant pays per hour for ALL nodes together.</param>
public sealed record OrderRequest(string Id, NodeRequirement Node, long MaxPricePerHour)
{
    private static readonly IReadOnlyDictionary<string, string> NoAttributes = new Dictionary<string, string>(StringComparer.Ordinal);
    private static readonly IReadOnlySet<string> NoProviders = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Nodes in the cluster; 1 for a single machine.</summary>
    public int Nodes { get; init; } = 1;

    /// <summary>Every pair of chosen providers must be within this round-trip time; null = no bound.</summary>
    public double? MaxRttMs { get; init; }

    public PricingMode Mode { get; init; } = PricingMode.Auction;

    /// <summary>µKUMO per benchmark unit per hour; required in <see cref="PricingMode.Performance"/>.</summary>
    public long? PerformanceRatePerTierHour { get; init; }

    /// <summary>Least provider reputation, 0..1.</summary>
    public double MinReputation { get; init; }

    /// <summary>Acceptable regions (case-insensitive); empty = any.</summary>
    public IReadOnlyList<string> Regions { get; init; } = [];

    /// <summary>The auditor whose signature must cover <see cref="Attested"/>; null = any one auditor that attests all of it.</summary>
    public string? Auditor { get; init; }

    /// <summary>Attributes (key → exact value) an auditor must have signed for the machine, e.g. "tee" → "sev-snp".</summary>
    public IReadOnlyDictionary<string, string> Attested { get; init; } = NoAttributes;

    /// <summary>Providers never to use (those that already failed this job).</summary>
    public IReadOnlySet<string> ExcludedProviders { get; init; } = NoProviders;

    /// <summary>How long the tenant expects a lease to run (its job timeout), for wait estimates; null = unknown.</summary>
    public long? ExpectedDurationMs { get; init; }

    /// <summary>A node's per-node share of the maximum: ⌊max / nodes⌋. No node of a bid may ask more.</summary>
    public long MaxPerNodeHour => MaxPricePerHour / Math.Max(1, Nodes);

    /// <summary>Null when the order is usable, else what is wrong with it.</summary>
    public string? Problem()
    {
        if (string.IsNullOrEmpty(Id))
        {
            return "the order has no id";
        }

        if (Node is null)
        {
            return "the order has no node requirement";
        }

        if (Nodes < 1 || Nodes > 4096)
        {
            return $"nodes must be 1..4096, not {Nodes}";
        }

        if (Node.Gpus < 0 || Node.Gpus > 1024 || Node.CpuMillicores < 0 || Node.MemoryBytes < 0 || Node.DiskBytes < 0 || Node.MinVramBytes < 0)
        {
            return "a node requirement is negative or absurd";
        }

        if (Node.Models is null || Node.Models.Any(string.IsNullOrWhiteSpace))
        {
            return "a GPU model pattern is empty";
        }

        if (MaxPricePerHour < 0)
        {
            return "the maximum price is negative";
        }

        if (MaxRttMs is { } rtt && (double.IsNaN(rtt) || rtt < 0))
        {
            return "the maximum round-trip time must be ≥ 0";
        }

        if (double.IsNaN(MinReputation) || MinReputation < 0 || MinReputation > 1)
        {
            return "the minimum reputation must be within 0..1";
        }

        if (!Enum.IsDefined(Mode))
        {
            return $"unknown pricing mode {Mode}";
        }

        if (Mode == PricingMode.Performance && PerformanceRatePerTierHour is not > 0)
        {
            return "a performance-priced order needs a positive rate per tier-hour";
        }

        return Regions is null || Attested is null || ExcludedProviders is null ? "a list of the order is missing" : null;
    }
}
