using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Market;

/// <summary>
/// Translates between the wire protocol (job specs, registrations, allocations) and the market's own types, so the
/// hub and the provider agent build the same <see cref="OrderRequest"/> from one signed spec and price it alike.
/// </summary>
public static class ProtocolMapping
{
    /// <summary>The order a job spec places. Regions, reputation and attestations are the hub's to check, and kept.</summary>
    public static OrderRequest ToOrder(string orderId, JobSpec spec, IReadOnlySet<string>? excludedProviders = null)
    {
        GpuRequest? gpu = spec.Resources.Gpu;
        var node = new NodeRequirement(
            gpu?.Count ?? 0,
            gpu?.Models ?? [],
            gpu?.MinVramBytes ?? 0,
            gpu?.Vendor,
            gpu?.Interface,
            spec.Resources.CpuMillicores,
            spec.Resources.MemoryBytes,
            spec.Resources.DiskBytes);
        MarketTerms terms = spec.Market;
        return new OrderRequest(orderId, node, spec.MaxPricePerHourMicros)
        {
            Nodes = spec.NodeCount,
            MaxRttMs = spec.Cluster?.MaxRtt is { } rtt ? rtt.TotalMilliseconds : null,
            Mode = terms.Mode switch
            {
                MarketMode.Market => PricingMode.Market,
                MarketMode.Performance => PricingMode.Performance,
                _ => PricingMode.Auction,
            },
            PerformanceRatePerTierHour = terms.PerformanceRatePerHourMicros,
            MinReputation = terms.MinReputation,
            Regions = terms.Regions,
            Auditor = terms.Auditor,
            Attested = terms.Attested,
            ExcludedProviders = excludedProviders ?? new HashSet<string>(StringComparer.Ordinal),
            ExpectedDurationMs = (long)spec.Timeout.TotalMilliseconds,
        };
    }

    /// <summary>The same order as a provider judges it for itself: what only the hub knows (reputation, attestations) left out.</summary>
    public static OrderRequest ToProviderView(OrderRequest order) =>
        order with { MinReputation = 0, Auditor = null, Attested = new Dictionary<string, string>(StringComparer.Ordinal), Regions = [] };

    /// <summary>A provider's linear price scale as the market applies it.</summary>
    public static PricingPolicy ToPolicy(ProviderPricing pricing) => new(
        [.. pricing.PerGpuModel.Select(p => new ModelPrice(p.Pattern, p.PerHourMicros))],
        pricing.PerGpuHourMicros,
        pricing.PerCpuCoreHourMicros,
        pricing.PerGibMemoryHourMicros,
        pricing.PerGibDiskHourMicros,
        pricing.FloorPerHourMicros);

    public static MarketGpu ToMarketGpu(GpuDevice device) =>
        new(device.Uuid, device.Vendor, device.Model, device.VramBytes, device.Interface, device.Simulated);

    /// <summary>A registered machine as the market sees it; the caller adds liveness, bond, reputation and attestations.</summary>
    public static MarketProvider ToMarketProvider(string providerId, ProviderRegistration registration) =>
        new(providerId,
            registration.Name,
            [.. registration.Inventory.Gpus.Select(ToMarketGpu)],
            checked(registration.Inventory.Cpu.LogicalCores * 1000),
            registration.Inventory.MemoryBytes,
            registration.Inventory.DiskBytes,
            ToPolicy(registration.Pricing))
        {
            Region = registration.Region,
            LatencyZone = registration.LatencyZone,
            PerformanceTier = registration.PerformanceTier,
        };

    public static NodeAllocation ToNode(Allocation allocation) =>
        new(allocation.CpuMillicores, allocation.MemoryBytes, allocation.DiskBytes, allocation.GpuUuids, allocation.GpuModel);

    public static Allocation ToAllocation(NodeAllocation node) =>
        new(node.CpuMillicores, node.MemoryBytes, node.DiskBytes, node.GpuUuids, node.GpuModel);
}
