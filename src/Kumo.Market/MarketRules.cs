namespace Kumo.Market;

/// <summary>
/// The market's arithmetic rules in one place, so the book, the bid engine, the hub and the explorer rank and
/// split prices the same way. See docs/MARKET.md.
/// </summary>
public static class MarketRules
{
    /// <summary>Clearing prices kept per model; the market price is their median.</summary>
    public const int ClearingWindow = 64;

    /// <summary>
    /// Reputation weight w(r) = 0.5 + 0.5·r for r clamped to 0..1: a perfect provider's price counts as itself, a
    /// provider at 0 as twice its price. Halving at worst keeps a cheap newcomer with a poor record in the running
    /// without letting a bad record hide behind a slightly lower price.
    /// </summary>
    public static double Weight(double reputation) => 0.5 + (0.5 * Math.Clamp(reputation, 0, 1));

    /// <summary>Reputation-adjusted price: price / w(reputation). Used for ranking only; nobody pays it.</summary>
    public static double Adjusted(long price, double reputation) => price / Weight(reputation);

    /// <summary>
    /// Price of node <paramref name="index"/> (0-based) of a bid of <paramref name="nodes"/> nodes priced
    /// <paramref name="bidPrice"/> together: ⌊price / nodes⌋, plus 1 µKUMO for the first (price mod nodes) nodes,
    /// so all shares add up to the bid price exactly.
    /// </summary>
    public static long NodeShare(long bidPrice, int nodes, int index) =>
        (bidPrice / nodes) + (index < bidPrice % nodes ? 1 : 0);

    /// <summary>Sum of the shares of the first <paramref name="taken"/> nodes of a bid (see <see cref="NodeShare"/>).</summary>
    public static long SharesOfFirst(long bidPrice, int nodes, int taken) =>
        (taken * (bidPrice / nodes)) + Math.Min(taken, bidPrice % nodes);
}
