namespace Kumo.Jobs;

/// <summary>
/// The bounds of a sensible request for one node. A spec outside them is refused when it is read, before it can
/// reach a market where no provider could ever take it.
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

    /// <summary>Accepted GPU vendors, lower case.</summary>
    public static IReadOnlyList<string> GpuVendors { get; } = ["nvidia", "amd", "intel"];
}
