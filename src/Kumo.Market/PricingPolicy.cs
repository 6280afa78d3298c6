namespace Kumo.Market;

/// <summary>A per-GPU price for GPU models matching <paramref name="Pattern"/> (<see cref="Hardware.GpuModelPattern"/>).</summary>
public sealed record ModelPrice(string Pattern, long PerGpuHour);

/// <summary>
/// A provider's linear price scale in µKUMO per hour. A node's quote is the sum of its parts — GPUs × the per-GPU
/// price of their model, CPU cores, GiB of memory, GiB of disk — each part rounded up to a whole µKUMO on its own,
/// and raised to <see cref="FloorPerHour"/> when below it. Exact integers throughout (Int128 inside, checked).
/// </summary>
/// <param name="PerGpuModelHour">Per-GPU prices by model pattern, tried in order; the first pattern that matches wins.</param>
/// <param name="DefaultPerGpuHour">Per-GPU price of a model no pattern matches.</param>
/// <param name="PerCpuCoreHour">Per CPU core (1000 millicores).</param>
/// <param name="PerGibMemoryHour">Per GiB (2³⁰ bytes) of memory.</param>
/// <param name="PerGibDiskHour">Per GiB of disk.</param>
/// <param name="FloorPerHour">The least the provider takes for any node.</param>
public sealed record PricingPolicy(
    IReadOnlyList<ModelPrice> PerGpuModelHour,
    long DefaultPerGpuHour,
    long PerCpuCoreHour,
    long PerGibMemoryHour,
    long PerGibDiskHour,
    long FloorPerHour)
{
    private const long Gib = 1L << 30;

    /// <summary>One price for every GPU model and nothing else charged: handy for tests and simple providers.</summary>
    public static PricingPolicy Flat(long perGpuHour, long perCpuCoreHour = 0, long perGibMemoryHour = 0, long perGibDiskHour = 0, long floorPerHour = 0) =>
        new([], perGpuHour, perCpuCoreHour, perGibMemoryHour, perGibDiskHour, floorPerHour);

    /// <summary>The per-GPU price of <paramref name="gpuModel"/>: the first matching pattern's, else the default (also for null).</summary>
    public long PerGpuHourFor(string? gpuModel)
    {
        if (gpuModel is not null)
        {
            foreach (ModelPrice price in PerGpuModelHour)
            {
                if (Hardware.GpuModelPattern.Matches(price.Pattern, gpuModel))
                {
                    return price.PerGpuHour;
                }
            }
        }

        return DefaultPerGpuHour;
    }

    /// <summary>The hourly price of one node of <paramref name="a"/> with its GPUs priced as <paramref name="gpuModel"/>.</summary>
    /// <exception cref="OverflowException">The price does not fit a <c>long</c>.</exception>
    public long Quote(NodeAllocation a, string? gpuModel) =>
        Quote(a.GpuUuids.Count, PerGpuHourFor(gpuModel), a.CpuMillicores, a.MemoryBytes, a.DiskBytes);

    /// <summary>The hourly price of one node of <paramref name="a"/>, its GPUs priced as the allocated model.</summary>
    public long Quote(NodeAllocation a) => Quote(a, a.GpuModel);

    /// <summary>The quote of <paramref name="gpus"/> GPUs at <paramref name="perGpuHour"/> plus the host parts, floored.</summary>
    internal long Quote(int gpus, long perGpuHour, int cpuMillicores, long memoryBytes, long diskBytes) =>
        Floored(checked(((Int128)gpus * perGpuHour) + HostPart(cpuMillicores, memoryBytes, diskBytes)));

    /// <summary>CPU, memory and disk parts of a quote, each rounded up on its own.</summary>
    internal Int128 HostPart(int cpuMillicores, long memoryBytes, long diskBytes)
    {
        if (cpuMillicores < 0 || memoryBytes < 0 || diskBytes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(cpuMillicores), "an allocation cannot be negative");
        }

        return MulDivCeil(cpuMillicores, PerCpuCoreHour, 1000)
            + MulDivCeil(memoryBytes, PerGibMemoryHour, Gib)
            + MulDivCeil(diskBytes, PerGibDiskHour, Gib);
    }

    /// <summary>A GPU part plus a host part, raised to the floor; checked into a long.</summary>
    internal long Floored(Int128 total) => checked((long)(total < FloorPerHour ? FloorPerHour : total));

    /// <summary>Null when every price is usable, else what is wrong.</summary>
    public string? Problem()
    {
        if (PerGpuModelHour is null)
        {
            return "per-model GPU prices are missing";
        }

        foreach (ModelPrice price in PerGpuModelHour)
        {
            if (string.IsNullOrWhiteSpace(price.Pattern))
            {
                return "a per-model GPU price has an empty pattern";
            }

            if (price.PerGpuHour < 0)
            {
                return $"the price of {price.Pattern} is negative";
            }
        }

        return DefaultPerGpuHour < 0 || PerCpuCoreHour < 0 || PerGibMemoryHour < 0 || PerGibDiskHour < 0 || FloorPerHour < 0
            ? "a price is negative"
            : null;
    }

    /// <summary>The highest per-GPU price the policy can charge (for the overflow check of a whole machine).</summary>
    internal long MaxPerGpuHour() => PerGpuModelHour.Select(p => p.PerGpuHour).Append(DefaultPerGpuHour).Max();

    /// <summary>
    /// ⌈a × b / d⌉ exactly, for a, b ≥ 0 and d &gt; 0. Products that fit a long (all realistic ones) stay in 64-bit
    /// arithmetic; the rest go through Int128, whose division is software and some hundred times slower.
    /// </summary>
    internal static Int128 MulDivCeil(long a, long b, long d)
    {
        long high = Math.BigMul(a, b, out long low);
        if (high == 0 && low >= 0)
        {
            return (low / d) + (low % d > 0 ? 1 : 0);
        }

        Int128 product = (Int128)a * b;
        return (product / d) + (product % d > 0 ? 1 : 0);
    }
}
