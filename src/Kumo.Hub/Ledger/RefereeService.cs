using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hub.Storage;
using Kumo.Ledger;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Ledger;

/// <summary>
/// The hub's referee: the account a new network's genesis names (<see cref="Genesis.Referee"/>), whose key lives in
/// the data directory (<c>referee-key.json</c>, 0600). It signs verification verdicts and files them as slash reports,
/// with the offender's own signed statements, so every verification slash is traceable by <c>kumo audit</c>.
/// </summary>
public sealed class RefereeService : IDisposable
{
    /// <summary>How long a reward or a restitution waits for the ledger to close the job's leases (its pay is final then).</summary>
    private static readonly TimeSpan LeaseCloseWait = TimeSpan.FromSeconds(30);

    private readonly LedgerService _ledger;
    private readonly IHubStore _store;
    private readonly HubSignals _signals;
    private readonly ILogger<RefereeService> _logger;
    private readonly Lazy<AccountKey> _key;
    private readonly Lazy<RequestSigner> _signer;

    public RefereeService(HubOptions options, LedgerService ledger, IHubStore store, HubSignals signals, TimeProvider time, ILogger<RefereeService> logger)
    {
        _store = store;
        _ledger = ledger;
        _signals = signals;
        _logger = logger;
        _key = new(() => LoadKey(options.DataDirectory));
        _signer = new(() => new RequestSigner(_key.Value, time)); // one signer: its nonces never repeat
    }

    /// <summary>
    /// Pays the validator that signed <paramref name="report"/> for its check of job <paramref name="orderId"/> from the
    /// network fee pool: <paramref name="share"/> (the fraction of the job's work it re-did) of what the job paid its
    /// providers, within what the genesis lets a job's checks cost (<see cref="Genesis.ValidationRewardBps"/>) and what the
    /// pool holds. Returns the µKUMO paid, or 0 and why nothing was.
    /// </summary>
    public Task<(long Paid, string? Why)> RewardValidatorAsync(SignedEnvelope report, string orderId, double share, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        return RewardAsync(report.Signer, report.PayloadAs<ValidationReport>().TaskId, report, null, orderId, share, cancellationToken);
    }

    /// <summary>
    /// Pays the provider of an <c>exec</c> replica whose outputs agreed with the majority. The replica re-ran the whole
    /// job, so its due is what the job paid for its work. On a network with replication fees
    /// (<see cref="Genesis.MaxReplicationFeeBps"/>) that comes from the replication pool, which the checked providers'
    /// fees fill, within what it holds; on one without, from the fee pool like a validator, within the validators' cap.
    /// The evidence is its own signed <paramref name="acceptance"/> of the replica lease (at no price) and its signed
    /// <paramref name="result"/> of it.
    /// </summary>
    public async Task<(long Paid, string? Why)> RewardReplicaAsync(SignedEnvelope acceptance, SignedEnvelope result, string orderId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(acceptance);
        ArgumentNullException.ThrowIfNull(result);
        string taskId = result.PayloadAs<LeaseResult>().LeaseId;
        if (!PaysReplicasFromPool)
        {
            return await RewardAsync(result.Signer, taskId, result, acceptance, orderId, 1.0, cancellationToken);
        }

        await WaitForJobLeasesClosedAsync(orderId, null, cancellationToken);
        (long amount, string? why) = _ledger.Read(state =>
        {
            long value = state.WorkValueOf(orderId), room = 2 * value - state.ReplicasPaidFor(orderId);
            long pool = state.Balance(LedgerAddress.ReplicationPool);
            long amount = Math.Min(value, Math.Min(room, pool));
            return amount > 0 ? (amount, (string?)null)
                : value <= 0 ? (0L, "the job paid nothing for its work")
                : room <= 0 ? (0L, "two replicas of the job were paid already")
                : (0L, "the replication pool is empty");
        });
        if (amount == 0)
        {
            return (0, why);
        }

        return await SubmitRewardAsync(result.Signer, taskId, result, acceptance, orderId, amount, cancellationToken);
    }

    private async Task<(long Paid, string? Why)> RewardAsync(AccountId validator, string taskId, SignedEnvelope report, SignedEnvelope? acceptance,
        string orderId, double share, CancellationToken cancellationToken)
    {
        if (!PaysValidators)
        {
            return (0, "this network's genesis pays no validation rewards");
        }

        // What the job paid is final once the ledger has closed its leases.
        await WaitForJobLeasesClosedAsync(orderId, null, cancellationToken);

        (long amount, string? why) = _ledger.Read(state =>
        {
            long paid = state.PaidFrom(orderId);
            long whole = (long)((Int128)paid * state.Genesis.ValidationRewardBps / 10_000), cap = whole - state.RewardedFor(orderId);
            long pool = state.Balance(LedgerAddress.FeePool);
            long due = (long)Math.Floor(paid * Math.Clamp(share, 0, 1));
            long amount = Math.Min(due, Math.Min(cap, pool));
            var invariant = System.Globalization.CultureInfo.InvariantCulture;
            return amount > 0 ? (amount, (string?)null)
                : due <= 0 ? (0L, string.Create(invariant, $"its share, {share * 100:0.##}% of the {paid} µKUMO the job paid its providers, is under 1 µKUMO"))
                : whole <= 0 ? (0L, string.Create(invariant, $"the job's cap, {state.Genesis.ValidationRewardBps / 100.0:0.##}% of the {paid} µKUMO it paid its providers, is under 1 µKUMO"))
                : cap <= 0 ? (0L, "the job's checks were paid their cap already")
                : (0L, "the network fee pool is empty");
        });
        if (amount == 0)
        {
            return (0, why);
        }

        return await SubmitRewardAsync(validator, taskId, report, acceptance, orderId, amount, cancellationToken);
    }

    /// <summary>
    /// Returns the replication fees that job <paramref name="orderId"/>'s providers paid, from the replication pool,
    /// when no replica could check the job (<paramref name="reason"/>). Returns the µKUMO returned, 0 when there was
    /// nothing to return (the job's leases carried no fee, a replica was paid, it was returned before) or the ledger
    /// refused (logged).
    /// </summary>
    public async Task<long> RefundReplicationFeesAsync(string orderId, string reason, CancellationToken cancellationToken)
    {
        if (!PaysReplicasFromPool)
        {
            return 0;
        }

        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            if (!(await reader.ListLeasesForJobAsync(orderId)).Any(l => l.ReplicationFeeBps > 0 && l.AcceptanceEnvelope is not null))
            {
                return 0; // no lease of the job was offered with a fee: nothing to wait for
            }
        }

        await WaitForJobLeasesClosedAsync(orderId, null, cancellationToken);
        if (_ledger.Read(state => state.ReplicationFeesFrom(orderId) == 0 || state.ReplicationRefunded(orderId) || state.ReplicasPaidFor(orderId) > 0))
        {
            return 0;
        }

        SignedEnvelope refund = _signer.Value.Sign(LedgerMessageTypes.ReplicationRefund, new ReplicationRefundPayload(orderId, reason));
        try
        {
            await _ledger.SubmitAsync(at => LedgerTx.FromSigned(refund, at), null, cancellationToken);
            return _ledger.Read(state => state.ReplicationReturned(orderId));
        }
        catch (LedgerRefusedException e)
        {
            _logger.LogWarning("replication fees of {Job} not returned: {Error}", orderId, e.Message);
            return 0;
        }
    }

    private async Task<(long Paid, string? Why)> SubmitRewardAsync(AccountId validator, string taskId, SignedEnvelope report, SignedEnvelope? acceptance,
        string orderId, long amount, CancellationToken cancellationToken)
    {
        SignedEnvelope reward = _signer.Value.Sign(LedgerMessageTypes.ValidationReward,
            new ValidationRewardPayload(validator.Value, orderId, taskId, amount, report, acceptance));
        try
        {
            await _ledger.SubmitAsync(at => LedgerTx.FromSigned(reward, at), null, cancellationToken);
            return (amount, null);
        }
        catch (LedgerRefusedException e)
        {
            _logger.LogWarning("validation reward for {Validator} on {Job} refused: {Error}", validator, orderId, e.Message);
            return (0, e.Message);
        }
    }

    /// <summary>The referee key of a data directory, created on first use.</summary>
    public static AccountKey LoadKey(string dataDirectory) => KeyFile.LoadOrCreate(Path.Combine(dataDirectory, "referee-key.json"), out _);

    /// <summary>The referee's account (creating its key on first use).</summary>
    public AccountId AccountId => _key.Value.AccountId;

    /// <summary>Whether this hub's ledger accepts its verdicts (its genesis names this referee).</summary>
    public bool CanSlash => _ledger.Genesis.Referee == AccountId.Value;

    /// <summary>Whether this hub pays validators (its genesis names this referee and a validation reward).</summary>
    public bool PaysValidators => CanSlash && _ledger.Genesis.ValidationRewardBps > 0;

    /// <summary>Whether this hub pays <c>exec</c> replicas from the replication pool (its genesis names this referee and takes replication fees).</summary>
    public bool PaysReplicasFromPool => CanSlash && _ledger.Genesis.MaxReplicationFeeBps > 0;

    /// <summary>Whether this hub pays <c>exec</c> replicas at all (from the replication pool, or as validators).</summary>
    public bool PaysReplicas => PaysReplicasFromPool || PaysValidators;

    /// <summary>Signs a verdict.</summary>
    public SignedEnvelope Sign(VerificationVerdict verdict) => _signer.Value.Sign(MessageTypes.VerificationVerdict, verdict);

    /// <summary>
    /// Slashes <paramref name="offender"/> on a verdict citing <paramref name="statements"/> (each signed by the
    /// offender). Returns the ledger receipt, or null when this network cannot (no referee in its genesis) — logged.
    /// </summary>
    /// <exception cref="LedgerRefusedException">The ledger refused (e.g. the fault was already slashed).</exception>
    public Task<LedgerReceipt?> SlashAsync(string kind, AccountId offender, AccountId? winner, string subject, string reason,
        IReadOnlyList<SignedEnvelope> statements, CancellationToken cancellationToken) =>
        SlashAsync(kind, offender, winner, subject, reason, statements, null, cancellationToken);

    /// <summary>
    /// Slashes <paramref name="offender"/> on a verdict citing <paramref name="statements"/>, and — with a
    /// <paramref name="restitution"/> — refunds the job's tenant, in the same ledger transaction, what the offender was
    /// paid out of the job's escrow (the ledger computes it; the receipt's <see cref="Restituted"/> effect says how much).
    /// The restitution first waits (bounded) for the ledger to close the offender's lease on the job, so it covers all of
    /// its pay; it is left out, logged, when the ledger would refuse it (the escrow paid the offender nothing, it was
    /// already refunded, the lease is still open): the slash itself must not be lost.
    /// </summary>
    /// <exception cref="LedgerRefusedException">The ledger refused (e.g. the fault was already slashed).</exception>
    public async Task<LedgerReceipt?> SlashAsync(string kind, AccountId offender, AccountId? winner, string subject, string reason,
        IReadOnlyList<SignedEnvelope> statements, Restitution? restitution, CancellationToken cancellationToken)
    {
        if (!CanSlash)
        {
            _logger.LogWarning("verdict against {Offender} ({Kind}, {Subject}) not slashed: this network's genesis names no referee or another one", offender, kind, subject);
            return null;
        }

        if (restitution is not null && await WhyNoRestitutionAsync(offender, restitution, cancellationToken) is { } why)
        {
            _logger.LogWarning("verdict against {Offender} ({Subject}): no restitution to the tenant of {Job}: {Why}", offender, subject, restitution.JobId, why);
            restitution = null;
        }

        SignedEnvelope verdict = Sign(new VerificationVerdict(kind, offender.Value, winner?.Value, subject, [.. statements.Select(s => s.Digest())], reason, restitution));
        SignedEnvelope report = _signer.Value.Sign(LedgerMessageTypes.SlashReport,
            new SlashReportPayload(offender.Value, "refereed", [verdict, .. statements]));
        LedgerReceipt receipt = await _ledger.SubmitAsync(at => LedgerTx.FromSigned(report, at), null, cancellationToken);
        _logger.LogWarning("slashed {Offender} on a {Kind} verdict ({Subject}): {Reason}", offender, kind, subject, reason);
        return receipt;
    }

    /// <summary>Why the ledger would refuse <paramref name="restitution"/> now, after waiting for the offender's lease on the job to close; null: it would not.</summary>
    private async Task<string?> WhyNoRestitutionAsync(AccountId offender, Restitution restitution, CancellationToken cancellationToken)
    {
        await WaitForJobLeasesClosedAsync(restitution.JobId, offender.Value, cancellationToken);
        return _ledger.Read(state =>
        {
            if (state.Escrow(restitution.JobId) is not { } escrow)
            {
                return "the job has no escrow";
            }

            if (escrow.Owner.Value != restitution.Tenant)
            {
                return $"its escrow belongs to {escrow.Owner}";
            }

            if (state.Restitution(escrow.OrderId, offender) is not null)
            {
                return "already refunded";
            }

            if (escrow.OpenLeaseIds.Any(id => state.Lease(id)!.Provider == offender))
            {
                return "the offender's lease on it is still open in the ledger";
            }

            return state.PaidFrom(escrow.OrderId, offender) == 0 ? "its escrow paid the offender nothing" : null;
        });
    }

    /// <summary>
    /// Waits, at most <see cref="LeaseCloseWait"/>, until the ledger has closed every lease of job
    /// <paramref name="jobId"/> it pays from the escrow (of <paramref name="provider"/> only, when given): what the job
    /// paid is final then. The leases are the hub's — every accepted lease that is not a replica — not the escrow's open
    /// ones: a lease the reconciler has not opened in the ledger yet is not open there, and its pay is still to come.
    /// The reconciler closes a lease that ended on its next pass, so it is woken, and the ledger looked at again shortly.
    /// </summary>
    private async Task WaitForJobLeasesClosedAsync(string jobId, string? provider, CancellationToken cancellationToken)
    {
        List<string> paid;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            paid = [.. (await reader.ListLeasesForJobAsync(jobId))
                .Where(l => l.ReplicaOf is null && l.AcceptanceEnvelope is not null && (provider is null || l.ProviderId == provider))
                .Select(l => l.Id)];
        }

        bool Closed(LedgerState state) => state.Escrow(jobId) is null || paid.All(state.IsLeaseClosed);
        for (long deadline = Environment.TickCount64 + (long)LeaseCloseWait.TotalMilliseconds;
             !_ledger.Read(Closed) && Environment.TickCount64 < deadline;)
        {
            _signals.WakeLedger();
            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value.Dispose();
        }
    }
}
