using Kumo.Signing;

namespace Kumo.Ledger.Transactions;

/// <summary>
/// The signed ledger statements. Each is signed by the account it debits (the signer of a slash report is paid
/// the bounty; the offender's stake is debited on the strength of the evidence it carries).
/// </summary>
public static class LedgerMessageTypes
{
    public const string Transfer = "kumo.ledger.transfer/v1";
    public const string Bond = "kumo.ledger.bond/v1";
    public const string Unbond = "kumo.ledger.unbond/v1";
    public const string Withdraw = "kumo.ledger.withdraw/v1";
    public const string Faucet = "kumo.ledger.faucet/v1";
    public const string EscrowTopUp = "kumo.ledger.escrow_topup/v1";
    public const string EscrowWithdraw = "kumo.ledger.escrow_withdraw/v1";
    public const string SlashReport = "kumo.ledger.slash_report/v1";

    /// <summary>The referee pays a validator from the network fee pool for checking part of a job (<see cref="ValidationRewardPayload"/>).</summary>
    public const string ValidationReward = "kumo.ledger.validation_reward/v1";

    /// <summary>
    /// The referee returns an <c>exec</c> job's replication fees to its providers when no replica could check it
    /// (<see cref="ReplicationRefundPayload"/>).
    /// </summary>
    public const string ReplicationRefund = "kumo.ledger.replication_refund/v1";

    /// <summary>A job submission is also the tenant's signed deposit into the order's escrow.</summary>
    public const string EscrowLock = MessageTypes.JobSubmit;

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        Transfer, Bond, Unbond, Withdraw, Faucet, EscrowTopUp, EscrowWithdraw, SlashReport, ValidationReward, EscrowLock,
        ReplicationRefund,
    };
}

/// <summary>Protocol transactions: the hub writes them, but each follows from signed evidence and a rule.</summary>
public static class ProtocolTypes
{
    /// <summary>A lease starts drawing on its order's escrow; carries the provider's signed acceptance (price).</summary>
    public const string LeaseOpen = "lease_open";

    /// <summary>Pays a running lease for the time since its last settlement.</summary>
    public const string Settle = "settle";

    /// <summary>Final settlement of a lease that ended, at the time it ended.</summary>
    public const string LeaseClose = "lease_close";

    /// <summary>Returns what is left in an order's escrow to its tenant once no lease draws on it.</summary>
    public const string Refund = "refund";

    /// <summary>Takes the genesis fault share of a provider's stake for a lease the ledger closed with a provider-side reason.</summary>
    public const string FaultSlash = "fault_slash";
}

public sealed record TransferPayload(string To, long Amount);

public sealed record BondPayload(long Amount);

public sealed record UnbondPayload(long Amount);

/// <summary>Withdraws every unbonding entry whose release time has passed.</summary>
public sealed record WithdrawPayload;

public sealed record FaucetPayload(long Amount);

public sealed record EscrowTopUpPayload(string OrderId, long Amount);

public sealed record EscrowWithdrawPayload(string OrderId, long Amount);

/// <summary>
/// Proof that <see cref="Offender"/> broke a rule. <see cref="Kind"/> names the proof:
/// <c>double_result</c> — two different signed results for one lease (the provider contradicted itself).
/// </summary>
public sealed record SlashReportPayload(string Offender, string Kind, IReadOnlyList<SignedEnvelope> Evidence);

/// <summary>The lease started drawing at <see cref="At"/>: when the provider's acceptance arrived (not when this was recorded).</summary>
public sealed record LeaseOpenBody(string OrderId, string LeaseId, long At, SignedEnvelope Acceptance);

/// <summary>
/// Pays a lease up to the block time, or up to <paramref name="Until"/> when earlier: a job that checkpoints is paid
/// only for checkpointed progress, so a provider fault never bills work the tenant loses.
/// </summary>
public sealed record SettleBody(string LeaseId, long? Until = null);

public sealed record LeaseCloseBody(string LeaseId, long At, string Reason);

public sealed record RefundBody(string OrderId);

/// <summary>The evidence is in the ledger itself: the lease's close with a <c>provider_*</c> reason.</summary>
public sealed record FaultSlashBody(string LeaseId);

/// <summary>
/// Signed by the genesis referee: job <paramref name="OrderId"/>'s check by replication ended without a replica (none of
/// its hardware class could be had, or it had nothing to compare), so the replication fees its providers paid
/// (<see cref="State.LedgerState.ReplicationFeesFrom"/>) go back to them from the replication pool — once per job, only
/// when no replica of it was paid, once its leases are closed, as far as the pool holds them.
/// </summary>
/// <param name="OrderId">The job whose fees are returned.</param>
/// <param name="Reason">Why no replica checked it, as the job's events say.</param>
public sealed record ReplicationRefundPayload(string OrderId, string Reason);

/// <summary>
/// Signed by the genesis referee: pays <paramref name="Validator"/> <paramref name="Amount"/> µKUMO from the network fee
/// pool for validation task <paramref name="TaskId"/> of job <paramref name="OrderId"/>, on the validator's own signed
/// <paramref name="Report"/> of it (a <c>kumo.verify.report/v1</c> naming that task and job). For an <c>exec</c> replica
/// — a second run of the job on another provider, to compare outputs — the task is the replica lease, the report is that
/// provider's signed result of it (<c>kumo.lease.result/v1</c>, completed) and <paramref name="Acceptance"/> its signed
/// acceptance (<c>kumo.lease.accept/v1</c>: that lease, that job, at no price). Once per task; all of a job's rewards
/// together at most <see cref="Genesis.ValidationRewardBps"/> of what the job paid its providers.
/// </summary>
public sealed record ValidationRewardPayload(string Validator, string OrderId, string TaskId, long Amount, SignedEnvelope Report,
    SignedEnvelope? Acceptance = null);
