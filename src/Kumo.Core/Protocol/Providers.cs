using Kumo.Crypto;
using Kumo.Hardware;

namespace Kumo.Protocol;

/// <summary>Signed by the provider (<see cref="Signing.MessageTypes.ProviderRegister"/>): who it is and what it offers.</summary>
/// <param name="Name">Operator-chosen display name.</param>
/// <param name="Inventory">Detected (or, on devnets, partly simulated) hardware.</param>
/// <param name="Sandbox">Sandbox description, e.g. "bubblewrap+cgroup-v1".</param>
/// <param name="Pricing">Asking prices.</param>
/// <param name="AgentVersion">Version of the agent software.</param>
public sealed record ProviderRegistration(
    string Name,
    HardwareInventory Inventory,
    string Sandbox,
    ProviderPricing Pricing,
    string AgentVersion)
{
    /// <summary>Where the machine is, e.g. "eu-west" (orders may require regions).</summary>
    public string Region { get; init; } = "";

    /// <summary>Machines in one zone (a rack, a site) have sub-millisecond latency to each other.</summary>
    public string LatencyZone { get; init; } = "";

    /// <summary>Benchmark units of one device: declared per model until the hardware proof measures it.</summary>
    public int PerformanceTier { get; init; }

    /// <summary>host:port cluster peers use to reach this machine.</summary>
    public string Address { get; init; } = "";

    /// <summary>
    /// host:port where the agent answers latency and throughput probes from other providers ("" when it does not):
    /// the measured inter-node latency and bandwidth the market uses for clusters come from these probes.
    /// </summary>
    public string ProbeAddress { get; init; } = "";
}

/// <summary>
/// A linear price scale in µKUMO per hour: the asking price of a lease is the sum over what it allocates — each GPU
/// at the first matching entry of <see cref="PerGpuModel"/> (else <see cref="PerGpuHourMicros"/>), each core, each
/// GiB of memory and of disk, every part rounded up to whole µKUMO — and never below <see cref="FloorPerHourMicros"/>.
/// </summary>
public sealed record ProviderPricing(long PerGpuHourMicros, long PerCpuCoreHourMicros, long PerGibMemoryHourMicros)
{
    public static ProviderPricing Default { get; } = new(1_200_000, 20_000, 5_000);

    /// <summary>Per-model GPU prices, first match wins (patterns as in job specs: "H100*", "RTX 4090").</summary>
    public IReadOnlyList<GpuModelPrice> PerGpuModel { get; init; } = [];

    public long PerGibDiskHourMicros { get; init; }

    /// <summary>The least this provider takes per node-hour, whatever it allocates.</summary>
    public long FloorPerHourMicros { get; init; }

    /// <summary>Per GPU-hour of <paramref name="model"/>.</summary>
    public long PerGpuHourFor(string? model) =>
        model is null ? PerGpuHourMicros
        : PerGpuModel.FirstOrDefault(p => Hardware.GpuModelPattern.Matches(p.Pattern, model))?.PerHourMicros ?? PerGpuHourMicros;

    /// <summary>Price per hour of an allocation at the default GPU price; cpu in millicores, memory in bytes.</summary>
    public long PriceFor(int gpus, int cpuMillicores, long memoryBytes) => PriceFor(gpus, null, cpuMillicores, memoryBytes, 0);

    /// <summary>The asking price of one node's allocation. Exact integers throughout (a double loses the fraction of a µKUMO
    /// on large sizes); throws <see cref="OverflowException"/> rather than wrap.</summary>
    public long PriceFor(int gpus, string? gpuModel, int cpuMillicores, long memoryBytes, long diskBytes)
    {
        Int128 gpuPart = (Int128)gpus * PerGpuHourFor(gpuModel);
        Int128 cpuPart = CeilDiv(cpuMillicores * (Int128)PerCpuCoreHourMicros, 1000);
        Int128 memoryPart = CeilDiv(memoryBytes * (Int128)PerGibMemoryHourMicros, 1L << 30);
        Int128 diskPart = CeilDiv(diskBytes * (Int128)PerGibDiskHourMicros, 1L << 30);
        return checked((long)Int128.Max(gpuPart + cpuPart + memoryPart + diskPart, FloorPerHourMicros));
    }

    private static Int128 CeilDiv(Int128 a, long b) => (a / b) + (a % b > 0 ? 1 : 0);
}

/// <summary>A GPU price for models matching <see cref="Pattern"/>.</summary>
public sealed record GpuModelPrice(string Pattern, long PerHourMicros);

/// <summary>Signed by the provider (<see cref="Signing.MessageTypes.ProviderHeartbeat"/>) every few seconds.</summary>
/// <param name="Sequence">Counts up from 1 per agent run.</param>
/// <param name="RunningLeases">Leases the agent is running right now.</param>
public sealed record Heartbeat(long Sequence, IReadOnlyList<string> RunningLeases);

public enum ProviderStatus
{
    Online,
    Offline,
}

/// <summary>A provider as the API shows it.</summary>
public sealed record ProviderView(
    AccountId Id,
    string Name,
    ProviderStatus Status,
    bool Simulated,
    HardwareInventory Inventory,
    string Sandbox,
    ProviderPricing Pricing,
    DateTimeOffset RegisteredAt,
    DateTimeOffset? LastHeartbeatAt,
    int ActiveLeases,
    ResourceAmounts Free)
{
    /// <summary>Where the machine says it is ("" when it did not say).</summary>
    public string Region { get; init; } = "";

    public string LatencyZone { get; init; } = "";

    /// <summary>Benchmark units per device (the performance pricing mode); 0 = unmeasured.</summary>
    public int PerformanceTier { get; init; }

    /// <summary>Beta reputation from lease outcomes (forgetting factor 0.95); 1 for a provider without a record.</summary>
    public double Reputation { get; init; } = 1;

    /// <summary>Lease outcomes behind the reputation.</summary>
    public long Outcomes { get; init; }

    /// <summary>Auditor account → attributes it signed for this machine.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> Attested { get; init; } = new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Median bandwidth to peers in Mbit/s, as both ends of each path measured it (null: not measured yet).</summary>
    public double? MeasuredBandwidthMbps { get; init; }

    /// <summary>Peers with a two-sided latency and bandwidth measurement to this machine.</summary>
    public int MeasuredPeers { get; init; }

    /// <summary>
    /// What the liveness and capacity checkers say (docs/CHECKERS.md): "active", "paused", "slashed" or "away" (left
    /// owing nothing); null before the first check.
    /// </summary>
    public string? Health { get; init; }

    /// <summary>
    /// The latest hardware proof of its devices (docs/VERIFICATION.md): "passed", or the failing device's code
    /// ("deadline", "freivalds", …); null before the first one settles.
    /// </summary>
    public string? HardwareProof { get; init; }

    /// <summary>The performance tier the latest passing hardware proof measured (TFLOP/s × 100 of its slowest device); null when none passed.</summary>
    public int? MeasuredTier { get; init; }

    /// <summary>Its standing as a validator: "active", "dropped" (missed too many deadlines) or "slashed"; null when it does not validate.</summary>
    public string? Validator { get; init; }
}

/// <summary>An amount of node resources.</summary>
public sealed record ResourceAmounts(int CpuMillicores, long MemoryBytes, long DiskBytes, int Gpus);
