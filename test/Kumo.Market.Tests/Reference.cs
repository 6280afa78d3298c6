using Kumo.Hardware;

namespace Kumo.Market.Tests;

/// <summary>
/// The matching rules written the naive way, from public API only (the provider's declared GPUs, the book's free
/// capacity, the policy's public quote): what the index, the walk and its shortcuts must agree with.
/// </summary>
internal static class Reference
{
    public sealed record Result(long Quote, int Nodes, string? Model);

    /// <summary>Whether the provider can host a node now (or when idle), its cheapest node quote and how many nodes fit.</summary>
    public static Result? Evaluate(MarketBook book, MarketProvider p, OrderRequest o, bool idle = false)
    {
        if (!p.Online || !p.Bonded || o.ExcludedProviders.Contains(p.Id) || p.Reputation < o.MinReputation)
        {
            return null;
        }

        if (o.Regions.Count > 0 && !o.Regions.Any(r => string.Equals(r, p.Region, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        bool Covers(IReadOnlyDictionary<string, string> attributes) => o.Attested.All(a => attributes.TryGetValue(a.Key, out string? v) && v == a.Value);
        if (o.Auditor is not null ? !(p.Attested.TryGetValue(o.Auditor, out var attrs) && Covers(attrs)) : o.Attested.Count > 0 && !p.Attested.Values.Any(Covers))
        {
            return null;
        }

        FreeCapacity free = idle
            ? new FreeCapacity(p.CpuMillicores, p.MemoryBytes, p.DiskBytes, p.Gpus.Select(g => g.Uuid).ToHashSet())
            : book.Free(p.Id)!;
        NodeRequirement n = o.Node;
        if (free.CpuMillicores < n.CpuMillicores || free.MemoryBytes < n.MemoryBytes || free.DiskBytes < n.DiskBytes)
        {
            return null;
        }

        long share = o.MaxPricePerHour / o.Nodes;
        long best = long.MaxValue;
        string? model = null;
        long nodes;
        if (n.Gpus == 0)
        {
            long? quote = Price(book, p, o, null, 0);
            if (quote is not { } q || q > share)
            {
                return null;
            }

            best = q;
            nodes = o.Nodes;
        }
        else
        {
            nodes = 0;
            var groups = p.Gpus
                .Where(g => (n.Vendor is null || string.Equals(n.Vendor, g.Vendor, StringComparison.OrdinalIgnoreCase))
                    && g.VramBytes >= n.MinVramBytes
                    && (n.Interface is null || string.Equals(n.Interface, g.Interface, StringComparison.OrdinalIgnoreCase))
                    && GpuModelPattern.MatchesAny(n.Models, g.Model))
                .GroupBy(g => (g.Vendor.ToLowerInvariant(), g.Model, g.VramBytes, g.Interface?.ToLowerInvariant(), g.Simulated));
            foreach (var group in groups)
            {
                if (group.Count() < n.Gpus)
                {
                    continue;
                }

                int freeCount = group.Count(g => free.GpuUuids.Contains(g.Uuid));
                if (freeCount < n.Gpus)
                {
                    continue;
                }

                long? quote = Price(book, p, o, group.Key.Model, n.Gpus);
                if (quote is not { } q || q > share)
                {
                    continue;
                }

                nodes += freeCount / n.Gpus;
                if (q < best)
                {
                    best = q;
                    model = group.Key.Model;
                }
            }

            if (nodes == 0)
            {
                return null;
            }
        }

        nodes = Math.Min(nodes, o.Nodes);
        if (n.CpuMillicores > 0)
        {
            nodes = Math.Min(nodes, free.CpuMillicores / n.CpuMillicores);
        }

        if (n.MemoryBytes > 0)
        {
            nodes = Math.Min(nodes, free.MemoryBytes / n.MemoryBytes);
        }

        if (n.DiskBytes > 0)
        {
            nodes = Math.Min(nodes, free.DiskBytes / n.DiskBytes);
        }

        return new Result(best, (int)nodes, model);
    }

    private static long? Price(MarketBook book, MarketProvider p, OrderRequest o, string? model, int gpus)
    {
        long floor = p.Pricing.FloorPerHour;
        NodeRequirement n = o.Node;
        switch (o.Mode)
        {
            case PricingMode.Market when book.MarketPrice(model ?? "cpu") is { } price:
                Int128 q = gpus > 0 ? (Int128)price * gpus : (((Int128)price * n.CpuMillicores) + 999) / 1000;
                return q < floor ? null : (long)Int128.Min(q, long.MaxValue);
            case PricingMode.Performance:
                if (p.PerformanceTier <= 0)
                {
                    return null;
                }

                Int128 perf = (Int128)p.PerformanceTier * o.PerformanceRatePerTierHour!.Value * Math.Max(1, gpus);
                return perf < floor ? null : (long)Int128.Min(perf, long.MaxValue);
            default:
                string[] uuids = [.. Enumerable.Range(0, gpus).Select(i => $"x{i}")];
                return p.Pricing.Quote(new NodeAllocation(n.CpuMillicores, n.MemoryBytes, n.DiskBytes, uuids, model));
        }
    }

    /// <summary>The top <paramref name="limit"/> providers by (adjusted quote, quote, id).</summary>
    public static List<(MarketProvider Provider, Result Result)> Top(MarketBook book, OrderRequest o, int limit) =>
        [.. book.Providers
            .Select(p => (Provider: p, Result: Evaluate(book, p, o)))
            .Where(x => x.Result is not null)
            .Select(x => (x.Provider, Result: x.Result!))
            .OrderBy(x => MarketRules.Adjusted(x.Result.Quote, x.Provider.Reputation))
            .ThenBy(x => x.Result.Quote)
            .ThenBy(x => x.Provider.Id, StringComparer.Ordinal)
            .Take(limit)];
}
