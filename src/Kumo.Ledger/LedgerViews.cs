using System.Text.Json;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;

namespace Kumo.Ledger;

// What the hub's ledger endpoints answer (and the CLI reads).

/// <summary>Where a submitted transaction landed.</summary>
public sealed record TxReceiptView(string Hash, long Height, int Index, string Kind);

/// <summary>One transaction of a batch: its receipt, or why it was refused (the others are unaffected).</summary>
public sealed record BatchItemResult(TxReceiptView? Receipt, string? Code, string? Detail);

/// <summary>An account: its balance, and for a staker its bond and unbonding entries, for a tenant its open escrows.</summary>
public sealed record AccountView(
    string Address,
    AccountKind Kind,
    long Balance,
    long Bonded,
    IReadOnlyList<Unbonding> Unbonding,
    IReadOnlyList<EscrowView> Escrows);

/// <summary>An order's escrow and the leases drawing on it (with their price and what they were paid, together).</summary>
public sealed record EscrowView(string OrderId, long Balance, long Locked, bool Closed, IReadOnlyList<string> LeaseIds, long? PricePerHour, long? GrossPaid);

/// <summary>One transaction's effect on one account. <see cref="Kind"/> is the transaction's (<see cref="Transactions.LedgerTx.Kind"/>), or one of <see cref="HistoryKinds"/>.</summary>
public sealed record HistoryEntry(long Height, long Index, string TxHash, string Kind, long Delta, DateTimeOffset Time);

/// <summary>History entry kinds the history endpoint knows by name: a slash report's, and the restitution it splits out of one.</summary>
public static class HistoryKinds
{
    /// <summary>The kind of a slash report transaction.</summary>
    public const string SlashReport = "slash_report";

    /// <summary>The part of a refereed slash that refunded the tenant what the offender was paid for the job (its own entry).</summary>
    public const string Restitution = "restitution";
}

/// <summary>The ledger at a glance.</summary>
public sealed record LedgerSummary(
    string ChainId,
    long Height,
    string HeadHash,
    LedgerTotals Totals,
    int NetworkFeeBps,
    int ReserveBps,
    long MinBondPerDevice,
    long UnbondingPeriodMs,
    long SettlementIntervalMs,
    bool Faucet);

/// <summary>A block and, when asked for one block, its transactions.</summary>
public sealed record BlockView(string Hash, BlockHeader Header, IReadOnlyList<TxView>? Transactions);

/// <summary>A transaction as stored, with its decoded body.</summary>
public sealed record TxView(string Hash, long Height, long Index, string Kind, string? Signer, JsonElement Transaction);
