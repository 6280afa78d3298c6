using Kumo.Market.Internal;

namespace Kumo.Market;

/// <summary>
/// How a provider bids, as a pure function — providers run it for themselves, the simulator for simulated
/// providers, the hub to check a bid is plausible. It uses the same evaluation as
/// <see cref="MarketBook.FindCandidates"/>, so a candidate bids exactly what it was found at.
/// </summary>
public static class BidEngine
{
    /// <summary>
    /// The provider's bid for the order now, or null when it should not bid. Allocation: the cheapest fitting GPU
    /// group (one model per node, lowest-numbered free GPUs), and as many nodes as it can host up to the order's
    /// node count (one for a single-node order). Price per node by the order's mode — auction: the provider's
    /// policy quote (at least its floor); market: the model's market price × GPUs if at least the floor (no bid
    /// otherwise; no market price yet: the policy quote); performance: tier × rate × GPUs (1 for a CPU node), no
    /// bid at tier 0 or below the floor — and never above the order's per-node share of its maximum. The bid price
    /// is the sum of its nodes' prices; it expires at now + <paramref name="bidTtlMs"/>.
    /// </summary>
    /// <param name="market">The book (fast path), or an agent's <see cref="LocalMarketView"/>.</param>
    /// <param name="bidId">Defaults to "{orderId}/{providerId}".</param>
    public static Bid? Quote(MarketProvider provider, OrderRequest order, IMarketView market, long now, long bidTtlMs, string? bidId = null)
    {
        if (order.Problem() is { } problem)
        {
            throw new ArgumentException($"order {order.Id}: {problem}", nameof(order));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bidTtlMs);
        string id = bidId ?? $"{order.Id}/{provider.Id}";
        if (market is MarketBook book && book.TryQuoteInBook(provider, order, now + bidTtlMs, id, out Bid? bid))
        {
            return bid;
        }

        if (market.Free(provider.Id) is not { } free)
        {
            return null;
        }

        try
        {
            var table = new ModelTable();
            ProviderState state = ProviderState.ForView(provider, free, table);
            return Build(new OrderQuery(order, table, market.MarketPrice), state, now + bidTtlMs, id);
        }
        catch (OverflowException)
        {
            // Prices so large that a quote does not fit a long: such a provider does not bid.
            return null;
        }
    }

    internal static Bid? Build(OrderQuery query, ProviderState state, long expiresAt, string bidId)
    {
        Evaluation e = query.Evaluate(state, idle: false);
        if (!e.Ok)
        {
            return null;
        }

        if (e.Nodes == 1)
        {
            return new Bid(bidId, query.Order.Id, state.Provider.Id, [query.FirstNode(state, e)], e.Quote, expiresAt);
        }

        List<(NodeAllocation Node, long Quote)> nodes = query.BuildNodes(state, e.Nodes);
        long price = 0;
        var allocations = new NodeAllocation[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            allocations[i] = nodes[i].Node;
            price += nodes[i].Quote;
        }

        return new Bid(bidId, query.Order.Id, state.Provider.Id, allocations, price, expiresAt);
    }
}
