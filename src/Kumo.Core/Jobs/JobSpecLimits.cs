namespace Kumo.Jobs;

/// <summary>
/// The bounds of a sensible request: for one node, for a cluster of them and for the market terms. A spec outside
/// them is refused when it is read, before it can reach a market where no provider could ever take it. The defaults
/// of the optional parts live here too.
/// </summary>
public static class JobSpecLimits
{
    /// <summary>The most accelerators any node offers.</summary>
    public const int MaxGpusPerNode = 16;

    public const int MinCpuMillicores = 1;

    /// <summary>1024 cores.</summary>
    public const int MaxCpuMillicores = 1024 * 1000;

    /// <summary>1 MiB.</summary>
    public const long MinMemoryBytes = 1L << 20;

    /// <summary>64 TiB.</summary>
    public const long MaxMemoryBytes = 64L << 40;

    /// <summary>1 PiB.</summary>
    public const long MaxDiskBytes = 1L << 50;

    /// <summary>1 TiB of memory on one accelerator.</summary>
    public const long MaxVramBytes = 1L << 40;

    /// <summary>10^12 µKUMO = 1,000,000 KUMO per hour.</summary>
    public const long MaxPricePerHourMicros = 1_000_000_000_000;

    public const int MaxNameLength = 63;

    public const int MaxInputNameLength = 255;

    /// <summary>Longest accepted GPU model pattern.</summary>
    public const int MaxModelPatternLength = 128;

    /// <summary>Environment variables starting with this are set by Kumo inside the sandbox.</summary>
    public const string ReservedEnvPrefix = "KUMO_";

    public static readonly TimeSpan MinTimeout = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(30);

    /// <summary>The most nodes one cluster job runs on.</summary>
    public const int MaxClusterNodes = 64;

    /// <summary>The most accelerators one order holds on all its nodes together (nodes × gpu.count).</summary>
    public const int MaxGpusPerOrder = 512;

    /// <summary>10^12 µKUMO = 1,000,000 KUMO per benchmark-unit-hour.</summary>
    public const long MaxPerformanceRatePerHourMicros = 1_000_000_000_000;

    /// <summary>market.minReputation is a number from 0 to 1 with at most this many decimals.</summary>
    public const int ReputationDecimals = 3;

    /// <summary>The most regions one spec may list.</summary>
    public const int MaxRegions = 64;

    public const int MaxRegionNameLength = 32;

    /// <summary>The most attested attributes one spec may ask for.</summary>
    public const int MaxAttestedAttributes = 32;

    /// <summary>Longest attested attribute name, and longest value.</summary>
    public const int MaxAttestedTextLength = 32;

    /// <summary>The directory under /job that holds the inputs; it is read-only, so no checkpoint may live in it.</summary>
    public const string InputsDirectory = "inputs";

    public const int DefaultRetries = 2;

    public const int MaxRetries = 10;

    /// <summary>The largest acceptable cluster.maxRtt; the smallest is anything above 0.</summary>
    public static readonly TimeSpan MaxClusterRtt = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan DefaultMarketWindow = TimeSpan.FromSeconds(10);

    public static readonly TimeSpan MinMarketWindow = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxMarketWindow = TimeSpan.FromMinutes(10);

    public static readonly TimeSpan DefaultCheckpointInterval = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan MinCheckpointInterval = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan MaxCheckpointInterval = TimeSpan.FromHours(24);

    /// <summary>Accepted GPU vendors, lower case.</summary>
    public static IReadOnlyList<string> GpuVendors { get; } = ["nvidia", "amd", "intel"];

    /// <summary>Accepted GPU host interfaces, lower case.</summary>
    public static IReadOnlyList<string> GpuInterfaces { get; } = ["sxm", "pcie"];
}
