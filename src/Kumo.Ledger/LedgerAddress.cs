using System.Diagnostics.CodeAnalysis;
using Kumo.Crypto;

namespace Kumo.Ledger;

/// <summary>What an address holds and who controls it.</summary>
public enum AccountKind
{
    /// <summary>A person's or machine's money, spent only by the key it is derived from: <c>kumo1…</c>.</summary>
    User,
    /// <summary>An order's locked payment: <c>escrow:j-…</c>. Pays its lease's provider as time passes; the rest returns to the tenant.</summary>
    Escrow,
    /// <summary>A provider's or validator's bond: <c>stake:kumo1…</c>. Slashable while bonded or unbonding.</summary>
    Stake,
    /// <summary><c>network:reserve</c>, the network's share kept for insurance.</summary>
    Reserve,
    /// <summary><c>network:fees</c>, the network fee of every settlement.</summary>
    FeePool,
    /// <summary><c>network:burn</c>, where burned money goes and stays.</summary>
    Burn,
    /// <summary>
    /// <c>network:issuance</c>: the source of all minted money and the only account whose balance is negative.
    /// Minted = −balance; with it every transaction is a zero-sum set of postings.
    /// </summary>
    Issuance,
    /// <summary>
    /// <c>network:replication</c>: the replication fees <c>exec</c> providers signed for in their acceptances; it pays
    /// the replicas that re-run their jobs to check them (docs/REPLICATION.md, "Who pays for a replica").
    /// </summary>
    ReplicationPool,
}

/// <summary>An account address: a user id, or a kind prefix and its owner.</summary>
public readonly record struct LedgerAddress : IComparable<LedgerAddress>
{
    private LedgerAddress(string value, AccountKind kind)
    {
        Value = value;
        Kind = kind;
    }

    public string Value { get; }

    public AccountKind Kind { get; }

    public static LedgerAddress Reserve { get; } = new("network:reserve", AccountKind.Reserve);

    public static LedgerAddress FeePool { get; } = new("network:fees", AccountKind.FeePool);

    public static LedgerAddress ReplicationPool { get; } = new("network:replication", AccountKind.ReplicationPool);

    public static LedgerAddress Burn { get; } = new("network:burn", AccountKind.Burn);

    public static LedgerAddress Issuance { get; } = new("network:issuance", AccountKind.Issuance);

    public static LedgerAddress User(AccountId id) => new(id.Value, AccountKind.User);

    public static LedgerAddress Stake(AccountId id) => new("stake:" + id.Value, AccountKind.Stake);

    public static LedgerAddress Escrow(string orderId) => new("escrow:" + orderId, AccountKind.Escrow);

    public static bool TryParse([NotNullWhen(true)] string? text, out LedgerAddress address, out string error)
    {
        address = default;
        error = "";
        if (string.IsNullOrEmpty(text))
        {
            error = "the account is empty";
            return false;
        }

        switch (text)
        {
            case "network:reserve": address = Reserve; return true;
            case "network:fees": address = FeePool; return true;
            case "network:replication": address = ReplicationPool; return true;
            case "network:burn": address = Burn; return true;
            case "network:issuance": address = Issuance; return true;
        }

        if (text.StartsWith("stake:", StringComparison.Ordinal))
        {
            if (!AccountId.TryParse(text[6..], out AccountId staker, out string why))
            {
                error = $"'{text}' is not a stake account: {why}";
                return false;
            }

            address = Stake(staker);
            return true;
        }

        if (text.StartsWith("escrow:", StringComparison.Ordinal))
        {
            string order = text[7..];
            if (!OrderIds.IsValid(order))
            {
                error = $"'{text}' is not an escrow account (expected escrow:j-<12 hex>)";
                return false;
            }

            address = Escrow(order);
            return true;
        }

        if (!AccountId.TryParse(text, out AccountId user, out string reason))
        {
            error = reason;
            return false;
        }

        address = User(user);
        return true;
    }

    public int CompareTo(LedgerAddress other) => string.CompareOrdinal(Value, other.Value);

    public override string ToString() => Value;
}

/// <summary>
/// Order (job) ids are derived from the tenant's signed submission — "j-" and the first 12 hex digits of its
/// digest — so anyone replaying the ledger derives the same id from the same signed statement.
/// </summary>
public static class OrderIds
{
    public static string FromSubmissionDigest(string digestHex) => "j-" + digestHex[..12];

    public static bool IsValid(string id) =>
        id.Length == 14 && id.StartsWith("j-", StringComparison.Ordinal) && id.AsSpan(2).IndexOfAnyExcept("0123456789abcdef") < 0;
}
