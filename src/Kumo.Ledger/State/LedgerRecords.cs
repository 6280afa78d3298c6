using Kumo.Crypto;

namespace Kumo.Ledger.State;

/// <summary>One leg of a transaction. The postings of a transaction add up to zero.</summary>
public readonly record struct Posting(LedgerAddress Account, long Delta);

/// <summary>Stake on its way out: locked, and slashable, until <see cref="ReleaseAt"/>.</summary>
public sealed record Unbonding(long Amount, long ReleaseAt);

/// <summary>An order's escrow: who funds it, what the tenant signed, and which leases draw on it (a cluster's nodes, together).</summary>
public sealed record EscrowInfo(
    string OrderId,
    AccountId Owner,
    string SubmissionDigest,
    long MaxPricePerHour,
    long Locked,
    long CreatedAt,
    bool Closed,
    IReadOnlyList<string> OpenLeaseIds)
{
    public bool Equals(EscrowInfo? other) =>
        other is not null && OrderId == other.OrderId && Owner == other.Owner && SubmissionDigest == other.SubmissionDigest
        && MaxPricePerHour == other.MaxPricePerHour && Locked == other.Locked && CreatedAt == other.CreatedAt
        && Closed == other.Closed && OpenLeaseIds.SequenceEqual(other.OpenLeaseIds);

    public override int GetHashCode() => HashCode.Combine(OrderId, Locked, Closed, OpenLeaseIds.Count);
}

/// <summary>A lease drawing on an escrow, with its running settlement totals.</summary>
public sealed record LeaseCursor(
    string LeaseId,
    string OrderId,
    AccountId Provider,
    long PricePerHour,
    long OpenedAt,
    long SettledUntil,
    long GrossPaid)
{
    /// <summary>The replication fee the provider signed in its acceptance, in basis points of its share (0: none).</summary>
    public int ReplicationFeeBps { get; init; }
}

/// <summary>
/// A refereed slash's restitution: what the offender was paid out of the order's escrow (<see cref="Owed"/>, the
/// provider share of every settlement of its leases on that order) and what it actually paid back to the tenant
/// (<see cref="Amount"/>, less when its balance and remaining stake together held less). One per order and offender.
/// </summary>
public sealed record RestitutionRecord(string OrderId, AccountId Offender, AccountId Tenant, long Owed, long Amount);

/// <summary>A validation reward the fee pool paid: <paramref name="Amount"/> µKUMO to <paramref name="Validator"/> for task <paramref name="TaskId"/> of job <paramref name="OrderId"/>.</summary>
public sealed record ValidationRewardRecord(string OrderId, string TaskId, AccountId Validator, long Amount);

/// <summary>Something other systems must act on, reported by an applied transaction.</summary>
public abstract record LedgerEffect;

/// <summary>The lease's escrow ran dry: the ledger closed it with <c>network_insufficient_funds</c>; the hub must stop it.</summary>
public sealed record LeaseExhausted(string LeaseId, string OrderId) : LedgerEffect;

/// <summary>A refereed slash refunded <see cref="Amount"/> of the offender's pay from the order's escrow to its tenant.</summary>
public sealed record Restituted(string OrderId, AccountId Offender, AccountId Tenant, long Owed, long Amount) : LedgerEffect;

/// <summary>The fee pool paid a validator for checking part of a job.</summary>
public sealed record ValidationRewarded(string OrderId, string TaskId, AccountId Validator, long Amount) : LedgerEffect;

/// <summary>Money by kind; minted = everything else added together (checked on every block).</summary>
public sealed record LedgerTotals(
    long Minted,
    long Users,
    long Escrow,
    long Stake,
    long Reserve,
    long FeePool,
    long Burned,
    long Rewards,
    long ReplicationPool = 0)
{
    /// <summary>Conservation: minted = Σ users + Σ escrow + Σ stake + reserve + fee pool + replication pool + burned.</summary>
    public bool Conserved => Minted == Users + Escrow + Stake + Reserve + FeePool + ReplicationPool + Burned;
}

/// <summary>The outcome of applying one transaction.</summary>
public sealed record ApplyResult(bool Applied, string? Error, IReadOnlyList<Posting> Postings, IReadOnlyList<LedgerEffect> Effects)
{
    public static ApplyResult Refused(string error) => new(false, error, [], []);
}

/// <summary>A transaction the ledger refuses, with the reason in words.</summary>
public sealed class LedgerRefusal(string message) : Exception(message);
