namespace Kumo.Market;

/// <summary>
/// A provider machine (or a rack registered as one machine: one zone, one price list) as the market sees it.
/// The hub builds it from the signed registration, the ledger (bond) and the verification record (reputation,
/// benchmark tier, auditors' signed attributes, which the hub checks before passing them in).
/// </summary>
/// <param name="Id">Account id (kumo1…).</param>
/// <param name="Name">Display name.</param>
/// <param name="Gpus">Every GPU, free or not.</param>
/// <param name="CpuMillicores">Logical CPU capacity offered, 1000 per core.</param>
/// <param name="MemoryBytes">Memory offered.</param>
/// <param name="DiskBytes">Disk offered.</param>
/// <param name="Pricing">Its price scale (auction mode prices by it; every mode respects its floor).</param>
public sealed record MarketProvider(
    string Id,
    string Name,
    IReadOnlyList<MarketGpu> Gpus,
    int CpuMillicores,
    long MemoryBytes,
    long DiskBytes,
    PricingPolicy Pricing)
{
    private static readonly IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> NoAttestations =
        new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);

    /// <summary>Region, e.g. "eu-central"; "" when unknown (then it is near nobody and matches no region list).</summary>
    public string Region { get; init; } = "";

    /// <summary>Auditor account id → the attributes that auditor signed for this machine (signatures already checked).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Attested { get; init; } = NoAttestations;

    /// <summary>0..1; see <see cref="Market.Reputation"/>. New providers start at 1.</summary>
    public double Reputation { get; init; } = 1;

    /// <summary>Connected and heartbeating.</summary>
    public bool Online { get; init; } = true;

    /// <summary>Stake ≥ the network's minimum for this machine.</summary>
    public bool Bonded { get; init; } = true;

    /// <summary>Benchmark units from the hardware challenge; 0 = unmeasured (no performance-mode bids).</summary>
    public int PerformanceTier { get; init; }

    /// <summary>Finer than a region: a data centre or a rack row; "" when unknown.</summary>
    public string LatencyZone { get; init; } = "";
}
