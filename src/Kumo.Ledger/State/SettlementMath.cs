namespace Kumo.Ledger.State;

/// <summary>
/// Exact settlement arithmetic. Every figure is computed on a lease's running totals, never per step, so a
/// lease settled in a thousand small steps pays exactly what one settlement at the end would, and no µKUMO is
/// created or lost to rounding.
/// <list type="bullet">
/// <item><b>Gross owed</b> after t ms at a price of P µKUMO/hour: ⌊P·t / 3,600,000⌋.</item>
/// <item><b>Network part</b> of a running gross G: ⌊G·(fee+reserve) / 10,000⌋ (basis points).</item>
/// <item><b>Fee</b>: ⌊network·fee / (fee+reserve)⌋ of the running network part; <b>reserve</b>: the rest of it.</item>
/// <item><b>Replication fee</b> (an <c>exec</c> lease whose provider signed one): ⌊(gross − network)·bps / 10,000⌋ of
/// the running rest, to the replication pool that pays the replicas checking the provider.</item>
/// <item><b>Provider</b>: everything else. The odd µKUMO of every floor goes to the provider.</item>
/// </list>
/// Because the network part is one floor of the running gross, each step's provider share is never negative.
/// </summary>
public static class SettlementMath
{
    public const long MillisecondsPerHour = 3_600_000;

    /// <summary>⌊price·elapsed / 1 h⌋, exact for any long inputs; throws if the result exceeds a long.</summary>
    public static long GrossOwed(long pricePerHour, long elapsedMs)
    {
        if (pricePerHour < 0 || elapsedMs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(elapsedMs), "price and elapsed time cannot be negative");
        }

        return checked((long)((Int128)pricePerHour * elapsedMs / MillisecondsPerHour));
    }

    /// <summary>The lock an order needs: ⌈price·timeout / 1 h⌉ (rounded up, so a full-length run is always covered).</summary>
    public static long EscrowFor(long pricePerHour, long timeoutMs) =>
        checked((long)(((Int128)pricePerHour * timeoutMs + MillisecondsPerHour - 1) / MillisecondsPerHour));

    /// <summary>
    /// The running split of a running gross total (see the class remarks). Each part is a non-decreasing function of
    /// the gross, so no settlement step pays any party a negative amount.
    /// </summary>
    public static Split SplitTotal(long gross, int feeBps, int reserveBps, int replicationFeeBps = 0)
    {
        int networkBps = feeBps + reserveBps;
        long network = (long)((Int128)gross * networkBps / 10_000);
        long fee = networkBps == 0 ? 0 : (long)((Int128)network * feeBps / networkBps);
        long rest = gross - network;
        long replication = (long)((Int128)rest * replicationFeeBps / 10_000);
        return new Split(rest - replication, fee, network - fee, replication);
    }

    /// <summary>What one settlement moving the running gross from <paramref name="before"/> to <paramref name="after"/> pays each party.</summary>
    public static Split Step(long before, long after, int feeBps, int reserveBps, int replicationFeeBps = 0)
    {
        Split from = SplitTotal(before, feeBps, reserveBps, replicationFeeBps);
        Split to = SplitTotal(after, feeBps, reserveBps, replicationFeeBps);
        return new Split(to.Provider - from.Provider, to.Fee - from.Fee, to.Reserve - from.Reserve, to.Replication - from.Replication);
    }

    /// <summary>Reward minted for a provider share: rewardBps of it, halved per elapsed halving period, floored.</summary>
    public static long Reward(long providerShare, int rewardBps, long sinceGenesisMs, long halvingEveryMs)
    {
        long halvings = Math.Max(0, sinceGenesisMs) / halvingEveryMs;
        if (halvings >= 62)
        {
            return 0;
        }

        return (long)((Int128)providerShare * rewardBps / 10_000 >> (int)halvings);
    }

    /// <summary>A slash: ⌊stake·slashBps⌋, of which ⌊·bountyBps⌋ goes to the prover and the rest is burned.</summary>
    public static (long Slashed, long Bounty, long Burned) Slash(long stake, int slashBps, int bountyBps)
    {
        long slashed = (long)((Int128)stake * slashBps / 10_000);
        long bounty = (long)((Int128)slashed * bountyBps / 10_000);
        return (slashed, bounty, slashed - bounty);
    }
}

/// <summary>Where a payment goes; the parts add up to the payment exactly. <see cref="Replication"/> is the replication fee (0 on most leases).</summary>
public readonly record struct Split(long Provider, long Fee, long Reserve, long Replication = 0)
{
    public long Total => Provider + Fee + Reserve + Replication;
}
