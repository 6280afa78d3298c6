using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Provider.Pricing;
using Kumo.Signing;

namespace Kumo.Provider.Market;

/// <summary>
/// Answers the hub's bid requests: checks the tenant's signature on the order, finds what this machine can offer
/// beside its running leases and outstanding bids (GPUs of one model per node), prices it — auction: the pricing
/// policy; market: the network's price per GPU-hour; performance: this machine's tier × the order's rate — never
/// below the floor nor above the order's maximum, reserves it, and returns the bid (or the reason it will not bid).
/// </summary>
public sealed class BidResponder(HardwareInventory inventory, IPricingPolicy pricing, int performanceTier, Reservations reservations, TimeProvider time)
{
    /// <summary>Leases running now (their allocations are not offered again).</summary>
    public Func<IReadOnlyList<Allocation>> Running { get; init; } = () => [];

    public async Task<(BidPayload? Bid, string? Declined)> RespondAsync(BidRequest request, CancellationToken cancellationToken)
    {
        if (request.Submission.Type != MessageTypes.JobSubmit || !request.Submission.TryVerify(out _))
        {
            return (null, "the order's submission is not validly signed by its tenant");
        }

        JobSpec spec;
        try
        {
            JobSpecReadResult read = JobSpecReader.ReadWireForm(request.Submission.PayloadAs<JobSubmission>().Spec.GetRawText(), "spec");
            if (!read.Succeeded)
            {
                return (null, $"the order's spec is invalid: {read.Errors[0]}");
            }

            spec = read.Spec;
        }
        catch (JsonException e)
        {
            return (null, $"the order's submission is malformed: {e.Message}");
        }

        List<Allocation> held = [.. Running(), .. reservations.Held()];
        List<Allocation> nodes = Allocate(spec.Resources, request.Nodes, held);
        if (nodes.Count == 0)
        {
            return (null, "no room: " + WhyNot(spec.Resources, held));
        }

        (long? price, string? declined) = await PriceAsync(request, nodes, cancellationToken);
        if (price is not { } perHour)
        {
            return (null, declined ?? "no price");
        }

        if (perHour < pricing.FloorPerHour)
        {
            return (null, $"the price {perHour} µKUMO/h is below this provider's floor {pricing.FloorPerHour}");
        }

        long maxForMyNodes = (long)((Int128)request.MaxPricePerHour * nodes.Count / request.Nodes);
        if (perHour > maxForMyNodes)
        {
            return (null, $"asks {perHour} µKUMO/h for {nodes.Count} node(s); the order allows {maxForMyNodes}");
        }

        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var bid = new BidPayload("b-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), request.OrderId, nodes, perHour, now + request.BidTtlMs);
        bool reserved = reservations.TryReserve(bid.BidId, nodes, bid.ExpiresAt, others => Fits(nodes, [.. Running(), .. others]));
        return reserved ? (bid, null) : (null, "the capacity was promised to another order meanwhile");
    }

    /// <summary>The price for <paramref name="nodes"/> in the order's mode, or why there is none. Market mode without a
    /// market price yet (or for CPU-only orders) falls back to the policy.</summary>
    private async Task<(long? Price, string? Declined)> PriceAsync(BidRequest request, List<Allocation> nodes, CancellationToken cancellationToken)
    {
        int gpus = nodes.Sum(n => n.GpuUuids.Count);
        switch (request.Mode)
        {
            case "market" when request.MarketPricePerGpuHour is { } market && gpus > 0:
                return (checked(market * gpus), null);
            case "performance":
                return performanceTier <= 0 || request.PerformanceRatePerTierHour is not { } rate
                    ? (null, "this machine has no measured performance tier")
                    : (checked(performanceTier * rate * Math.Max(1, gpus)), null);
            default:
                Quote quote = await pricing.QuoteAsync(new QuoteRequest(request.OrderId, nodes, request.MaxPricePerHour, request.Nodes), cancellationToken);
                return (quote.PricePerHour, quote.Declined);
        }
    }

    /// <summary>As many nodes as this machine can host (up to <paramref name="wanted"/>), each with GPUs of one model.</summary>
    internal List<Allocation> Allocate(ResourceRequest want, int wanted, IReadOnlyList<Allocation> held)
    {
        var nodes = new List<Allocation>();
        var usedGpus = held.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        long cpu = (inventory.Cpu.LogicalCores * 1000L) - held.Sum(a => (long)a.CpuMillicores);
        long memory = inventory.MemoryBytes - held.Sum(a => a.MemoryBytes);
        long disk = inventory.DiskBytes - held.Sum(a => a.DiskBytes);
        while (nodes.Count < wanted && cpu >= want.CpuMillicores && memory >= want.MemoryBytes && disk >= want.DiskBytes)
        {
            List<GpuDevice> gpus = [];
            if (want.Gpu is { } gpu)
            {
                List<GpuDevice>? group = inventory.Gpus
                    .Where(d => !usedGpus.Contains(d.Uuid) && Suits(gpu, d))
                    .GroupBy(d => d.Model, StringComparer.Ordinal)
                    .Select(g => g.OrderBy(d => d.Index).Take(gpu.Count).ToList())
                    .FirstOrDefault(g => g.Count == gpu.Count);
                if (group is null)
                {
                    break;
                }

                gpus = group;
            }

            nodes.Add(new Allocation(want.CpuMillicores, want.MemoryBytes, want.DiskBytes, [.. gpus.Select(g => g.Uuid)], gpus.FirstOrDefault()?.Model));
            usedGpus.UnionWith(gpus.Select(g => g.Uuid));
            cpu -= want.CpuMillicores;
            memory -= want.MemoryBytes;
            disk -= want.DiskBytes;
        }

        return nodes;
    }

    private bool Fits(IReadOnlyList<Allocation> mine, IReadOnlyList<Allocation> others)
    {
        var used = others.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        if (mine.SelectMany(a => a.GpuUuids).Any(u => !used.Add(u)))
        {
            return false;
        }

        List<Allocation> all = [.. others, .. mine];
        return all.Sum(a => (long)a.CpuMillicores) <= inventory.Cpu.LogicalCores * 1000L
            && all.Sum(a => a.MemoryBytes) <= inventory.MemoryBytes
            && all.Sum(a => a.DiskBytes) <= inventory.DiskBytes;
    }

    private static bool Suits(GpuRequest gpu, GpuDevice device) =>
        (gpu.Vendor is null || string.Equals(device.Vendor, gpu.Vendor, StringComparison.OrdinalIgnoreCase))
        && GpuModelPattern.MatchesAny(gpu.Models, device.Model)
        && device.VramBytes >= gpu.MinVramBytes
        && (gpu.Interface is null || string.Equals(device.Interface, gpu.Interface, StringComparison.OrdinalIgnoreCase));

    private string WhyNot(ResourceRequest want, IReadOnlyList<Allocation> held)
    {
        if (want.Gpu is { } gpu && !inventory.Gpus.Any(d => Suits(gpu, d)))
        {
            return "no GPU here matches";
        }

        return held.Count > 0 ? "what matches is leased or promised to other orders" : "the machine is too small for one node";
    }
}
