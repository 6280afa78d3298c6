using System.Globalization;
using Kumo.Market.Internal;

namespace Kumo.Market;

public sealed partial class MarketBook
{
    /// <summary>Most seeds the cluster heuristic grows (bounds its worst case at O(MaxSeeds × bids × nodes) RTT look-ups).</summary>
    public const int MaxSeeds = 256;

    /// <summary>
    /// Chooses the winning bids of an open order among <paramref name="bids"/>, using only those holding an
    /// unexpired reservation for it (the reserved copy counts, not what is passed). One node: the lowest
    /// reputation-adjusted price (ties: lower price, then bid id). A cluster: bids covering exactly the order's
    /// nodes, every pair of providers within <see cref="OrderRequest.MaxRttMs"/>, total within the maximum,
    /// minimizing the total adjusted price by a seeded greedy heuristic (docs/MARKET.md). All or nothing: when no
    /// full set is found the result says why. Changes nothing.
    /// </summary>
    public Selection Select(string orderId, IReadOnlyList<Bid> bids, ILatencyMap latency, long now)
    {
        if (!_orders.TryGetValue(orderId, out OrderState? open))
        {
            return Selection.Fail($"order {orderId} is not open");
        }

        OrderRequest order = open.Order;
        if (order.Nodes == 1)
        {
            return SelectOne(orderId, bids, now);
        }

        var usable = new List<Item>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        int unreserved = 0, expired = 0;
        foreach (Bid bid in bids)
        {
            if (bid is null || !seen.Add(bid.Id))
            {
                continue;
            }

            if (!_reservations.TryGetValue(bid.Id, out Hold? hold) || !string.Equals(hold.OrderId, orderId, StringComparison.Ordinal))
            {
                unreserved++;
                continue;
            }

            if (hold.ExpiresAt <= now)
            {
                expired++;
                continue;
            }

            usable.Add(new Item(hold.Bid!, hold.Provider!.Weight));
        }

        string skipped = (unreserved, expired) switch
        {
            (0, 0) => "",
            _ => $"; {unreserved} not reserved for this order, {expired} expired",
        };
        if (usable.Count == 0)
        {
            return Selection.Fail($"no usable bid among {bids.Count}{skipped}");
        }

        usable.Sort(Item.Compare);
        return SelectCluster(order, usable, latency, skipped);
    }

    /// <summary>One node: the usable bid of least adjusted price, then price, then id (a repeated bid is harmless here).</summary>
    private Selection SelectOne(string orderId, IReadOnlyList<Bid> bids, long now)
    {
        Bid? best = null;
        double bestAdjusted = 0;
        int unreserved = 0, expired = 0;
        foreach (Bid bid in bids)
        {
            if (bid is null || !_reservations.TryGetValue(bid.Id, out Hold? hold) || !string.Equals(hold.OrderId, orderId, StringComparison.Ordinal))
            {
                unreserved++;
                continue;
            }

            if (hold.ExpiresAt <= now)
            {
                expired++;
                continue;
            }

            Bid reserved = hold.Bid!;
            double adjusted = reserved.PricePerHour / hold.Provider!.Weight;
            if (best is null || adjusted < bestAdjusted
                || (adjusted == bestAdjusted && (reserved.PricePerHour < best.PricePerHour
                    || (reserved.PricePerHour == best.PricePerHour && string.CompareOrdinal(reserved.Id, best.Id) < 0))))
            {
                best = reserved;
                bestAdjusted = adjusted;
            }
        }

        return best is null
            ? Selection.Fail($"no usable bid among {bids.Count}{(unreserved + expired == 0 ? "" : $"; {unreserved} not reserved for this order, {expired} expired")}")
            : new Selection(true, [best], best.PricePerHour, bestAdjusted, null);
    }

    /// <summary>
    /// Seeded greedy: bids sorted by adjusted price per node; each seed (cheapest first) grows a set by adding, in
    /// that order, every bid within the RTT bound of all bids already in the set, taking from the last one only
    /// the nodes still needed (its first ones, at <see cref="MarketRules.SharesOfFirst"/>). The cheapest full set
    /// wins. A bid already placed in some seed's set is not used as a seed again (under a latency map where
    /// "within the bound" is transitive — zones and regions — it would grow the same group), and a seed whose
    /// lower bound (its own nodes + the cheapest remaining nodes of all bids) cannot beat the best set is skipped.
    /// </summary>
    private static Selection SelectCluster(OrderRequest order, List<Item> items, ILatencyMap latency, string skipped)
    {
        int need = order.Nodes;
        int providers = items.Select(i => i.Bid.ProviderId).Distinct(StringComparer.Ordinal).Count();
        long offered = items.Sum(i => (long)i.Nodes);
        string context = $"{items.Count} usable bid{(items.Count == 1 ? "" : "s")} from {providers} provider{(providers == 1 ? "" : "s")}{skipped}";
        if (offered < need)
        {
            return Selection.Fail($"only {offered} of {need} nodes offered ({context})");
        }

        // Lower bounds: the n cheapest adjusted node prices over all bids, as prefix sums.
        double[] nodePrices = [.. items.SelectMany(i => Enumerable.Range(0, i.Nodes).Select(n => MarketRules.NodeShare(i.Bid.PricePerHour, i.Nodes, n) / i.Weight))];
        Array.Sort(nodePrices);
        double[] cheapest = new double[need + 1];
        for (int n = 1; n <= need; n++)
        {
            cheapest[n] = cheapest[n - 1] + nodePrices[n - 1];
        }

        double? bound = order.MaxRttMs;
        bool[] covered = new bool[items.Count];
        int[] members = new int[need];
        int[] takes = new int[need];
        int[]? bestMembers = null, bestTakes = null;
        int bestCount = 0;
        double bestCost = double.PositiveInfinity;
        long bestPrice = long.MaxValue;
        int mostNodes = 0, seeds = 0, overMax = 0;
        string? mostAround = null;
        for (int seed = 0; seed < items.Count && seeds < MaxSeeds; seed++)
        {
            if (covered[seed])
            {
                continue;
            }

            Item first = items[seed];
            int firstTake = Math.Min(first.Nodes, need);
            if (first.AdjustedFirst(firstTake) + cheapest[need - firstTake] >= bestCost)
            {
                continue;
            }

            seeds++;
            covered[seed] = true;
            members[0] = seed;
            takes[0] = firstTake;
            int count = 1, missing = need - firstTake;
            double cost = first.AdjustedFirst(firstTake);
            long price = first.PriceOfFirst(firstTake);
            for (int j = 0; j < items.Count && missing > 0; j++)
            {
                if (j == seed || (bound is { } max && !WithinBound(items, members, count, j, latency, max)))
                {
                    continue;
                }

                int take = Math.Min(items[j].Nodes, missing);
                members[count] = j;
                takes[count++] = take;
                missing -= take;
                cost += items[j].AdjustedFirst(take);
                price += items[j].PriceOfFirst(take);
                covered[j] = true;
            }

            if (missing > 0)
            {
                if (need - missing > mostNodes)
                {
                    mostNodes = need - missing;
                    mostAround = first.Bid.ProviderId;
                }

                continue;
            }

            if (price > order.MaxPricePerHour)
            {
                overMax++;
                continue;
            }

            if (cost < bestCost || (cost == bestCost && price < bestPrice))
            {
                bestCost = cost;
                bestPrice = price;
                bestMembers = members[..count];
                bestTakes = takes[..count];
                bestCount = count;
            }
        }

        if (bestMembers is null)
        {
            string rtt = bound is { } b ? b.ToString("0.###", CultureInfo.InvariantCulture) : "∞";
            return overMax > 0
                ? Selection.Fail($"every set of {need} nodes within {rtt} ms found costs more than the maximum {order.MaxPricePerHour} µKUMO/h ({context})")
                : Selection.Fail($"only {mostNodes} of {need} nodes within {rtt} ms of each other (the largest group, around provider {mostAround}; {context})");
        }

        var winners = new List<Bid>(bestCount);
        for (int m = 0; m < bestCount; m++)
        {
            Item item = items[bestMembers[m]];
            int take = bestTakes![m];
            winners.Add(take == item.Nodes
                ? item.Bid
                : item.Bid with { Nodes = [.. item.Bid.Nodes.Take(take)], PricePerHour = item.PriceOfFirst(take) });
        }

        return new Selection(true, winners, bestPrice, bestCost, null);
    }

    private static bool WithinBound(List<Item> items, int[] members, int count, int candidate, ILatencyMap latency, double max)
    {
        string provider = items[candidate].Bid.ProviderId;
        for (int m = 0; m < count; m++)
        {
            if (latency.RttMs(items[members[m]].Bid.ProviderId, provider) > max)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A usable bid with its provider's reputation weight.</summary>
    private sealed class Item(Bid bid, double weight)
    {
        public Bid Bid { get; } = bid;
        public double Weight { get; } = weight;
        public int Nodes { get; } = bid.Nodes.Count;
        public double AdjustedPerNode { get; } = bid.PricePerHour / (double)bid.Nodes.Count / weight;

        public long PriceOfFirst(int taken) => MarketRules.SharesOfFirst(Bid.PricePerHour, Nodes, taken);

        public double AdjustedFirst(int taken) => PriceOfFirst(taken) / Weight;

        /// <summary>Adjusted price per node, then price, then bid id.</summary>
        public static int Compare(Item? x, Item? y)
        {
            int c = x!.AdjustedPerNode.CompareTo(y!.AdjustedPerNode);
            if (c != 0)
            {
                return c;
            }

            c = x.Bid.PricePerHour.CompareTo(y.Bid.PricePerHour);
            return c != 0 ? c : string.CompareOrdinal(x.Bid.Id, y.Bid.Id);
        }
    }
}
