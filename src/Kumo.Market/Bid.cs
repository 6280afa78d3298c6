namespace Kumo.Market;

/// <summary>
/// A provider's offer for one or more nodes of an order. The price is for its nodes together; where fewer
/// nodes are taken than offered, node i (0-based, in list order) costs <see cref="MarketRules.NodeShare"/>.
/// </summary>
/// <param name="PricePerHour">µKUMO per hour for all <paramref name="Nodes"/> together.</param>
/// <param name="ExpiresAt">Unix ms; the bid and its reservation lapse at this instant.</param>
public sealed record Bid(string Id, string OrderId, string ProviderId, IReadOnlyList<NodeAllocation> Nodes, long PricePerHour, long ExpiresAt);

/// <summary>A provider that could host at least one node of an order now, with its first node and quote.</summary>
/// <param name="Allocation">The first (cheapest) node it would offer.</param>
/// <param name="QuotePerNodeHour">What it would ask for that node (as <see cref="BidEngine"/> would bid).</param>
/// <param name="NodesPossible">How many nodes of the order it could host now (at most the order's node count).</param>
public sealed record Candidate(MarketProvider Provider, NodeAllocation Allocation, long QuotePerNodeHour, int NodesPossible)
{
    /// <summary>The quote adjusted for reputation (<see cref="MarketRules.Adjusted"/>): what candidates are ranked by.</summary>
    public double AdjustedQuote => MarketRules.Adjusted(QuotePerNodeHour, Provider.Reputation);
}

/// <summary>One leased node.</summary>
/// <param name="PricePerHour">This node's price (its share of the winning bid).</param>
/// <param name="StartedAt">Unix ms of the lease.</param>
/// <param name="ExpectedEndAt">StartedAt + the order's expected duration, when it has one (feeds wait estimates).</param>
public sealed record LeaseHandle(
    string LeaseId,
    string OrderId,
    string BidId,
    string ProviderId,
    NodeAllocation Allocation,
    long PricePerHour,
    long StartedAt,
    long? ExpectedEndAt);
