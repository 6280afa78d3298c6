using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Provider.Pricing;
using Kumo.Signing;

namespace Kumo.Provider.Market;

/// <summary>
/// Answers the hub's bid requests. It checks the tenant's signature on the order, then lets the market's
/// <see cref="BidEngine"/> — the same code the hub ranks candidates with — choose what this machine can offer beside
/// its running leases and outstanding bids, and price it by the order's mode. An external pricing script, when the
/// operator set one, replaces the auction price for the allocated resources. The price is never below the floor
/// nor above the order's maximum; the capacity is reserved before the bid is returned, so no GPU is promised twice.
/// </summary>
public sealed class BidResponder(AccountId self, HardwareInventory inventory, ProviderRegistration registration, IPricingPolicy pricing,
    Reservations reservations, TimeProvider time)
{
    private readonly MarketProvider _asMarket = ProtocolMapping.ToMarketProvider(self.Value, registration with { Inventory = inventory });

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

        if (request.BidTtlMs <= 0)
        {
            return (null, "the request asks for a bid that expires at once");
        }

        OrderRequest order = ProtocolMapping.ToProviderView(ProtocolMapping.ToOrder(request.OrderId, spec));
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        string bidId = "b-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        IReadOnlyList<Allocation> held = [.. Running(), .. reservations.Held()];
        Bid? quoted = BidEngine.Quote(_asMarket, order, new LocalMarketView(self.Value, Free(held), request.MarketPrices), now, request.BidTtlMs, bidId);
        if (quoted is null)
        {
            return (null, WhyNot(order, held));
        }

        List<Allocation> nodes = [.. quoted.Nodes.Select(ProtocolMapping.ToAllocation)];
        long price = quoted.PricePerHour;
        if (order.Mode == PricingMode.Auction && pricing is not LinearPricing)
        {
            Quote quote = await pricing.QuoteAsync(new QuoteRequest(request.OrderId, nodes, order.MaxPricePerHour, order.Nodes), cancellationToken);
            if (quote.PricePerHour is not { } scripted)
            {
                return (null, quote.Declined ?? "the pricing policy gave no price");
            }

            price = scripted;
        }

        if (price < pricing.FloorPerHour * nodes.Count)
        {
            return (null, $"the price {price} µKUMO/h is below this provider's floor of {pricing.FloorPerHour} per node");
        }

        long allowed = (long)Int128.Min(long.MaxValue, (Int128)order.MaxPerNodeHour * nodes.Count);
        if (price > allowed)
        {
            return (null, $"asks {price} µKUMO/h for {nodes.Count} node(s); the order allows {allowed}");
        }

        var bid = new BidPayload(bidId, request.OrderId, nodes, price, quoted.ExpiresAt);
        bool reserved = reservations.TryReserve(bid.BidId, nodes, bid.ExpiresAt, others => Fits(nodes, [.. Running(), .. others]));
        return reserved ? (bid, null) : (null, "the capacity was promised to another order meanwhile");
    }

    /// <summary>What is free after <paramref name="held"/>.</summary>
    private FreeCapacity Free(IReadOnlyList<Allocation> held)
    {
        var used = held.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        return new FreeCapacity(
            (int)Math.Max(0, (inventory.Cpu.LogicalCores * 1000L) - held.Sum(a => (long)a.CpuMillicores)),
            Math.Max(0, inventory.MemoryBytes - held.Sum(a => a.MemoryBytes)),
            Math.Max(0, inventory.DiskBytes - held.Sum(a => a.DiskBytes)),
            inventory.Gpus.Select(g => g.Uuid).Where(u => !used.Contains(u)).ToHashSet(StringComparer.Ordinal));
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

    /// <summary>Why the engine made no bid: the same quote against an idle machine tells "busy" from "cannot".</summary>
    private string WhyNot(OrderRequest order, IReadOnlyList<Allocation> held)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        Bid? idle = BidEngine.Quote(_asMarket, order, new LocalMarketView(_asMarket.Id, Free([]), new Dictionary<string, long>()), now, 1);
        if (idle is not null)
        {
            return held.Count > 0 ? "busy: what matches is leased or promised to other orders" : "no price within the order's terms";
        }

        if (order.Node.Gpus > 0 && !inventory.Gpus.Any(g => GpuModelPattern.MatchesAny(order.Node.Models, g.Model)))
        {
            return $"no GPU here matches {order.Node.DescribeGpu()}";
        }

        return order.Mode switch
        {
            PricingMode.Performance when _asMarket.PerformanceTier <= 0 => "this machine has no measured performance tier",
            _ => "the machine cannot host a node of this order within its terms (size, floor or maximum price)",
        };
    }
}
