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
}

/// <summary>A linear price scale in µKUMO per hour: the asking price of a lease is the sum over what it allocates.</summary>
public sealed record ProviderPricing(long PerGpuHourMicros, long PerCpuCoreHourMicros, long PerGibMemoryHourMicros)
{
    public static ProviderPricing Default { get; } = new(1_200_000, 20_000, 5_000);

    /// <summary>Price per hour of an allocation; cpu in millicores, memory in bytes. Rounds up to whole µKUMO.</summary>
    public long PriceFor(int gpus, int cpuMillicores, long memoryBytes)
    {
        checked
        {
            long gpuPart = gpus * PerGpuHourMicros;
            long cpuPart = (long)CeilDiv(cpuMillicores * (Int128)PerCpuCoreHourMicros, 1000);
            // Exact integers: a double loses the fraction of a µKUMO on large memory sizes and would round down.
            long memPart = (long)CeilDiv(memoryBytes * (Int128)PerGibMemoryHourMicros, 1L << 30);
            return gpuPart + cpuPart + memPart;
        }
    }

    private static Int128 CeilDiv(Int128 a, long b) => (a / b) + (a % b > 0 ? 1 : 0);
}

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
    ResourceAmounts Free);

/// <summary>An amount of node resources.</summary>
public sealed record ResourceAmounts(int CpuMillicores, long MemoryBytes, long DiskBytes, int Gpus);
