using System.Globalization;
using System.Text;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Ledger.Transactions;
using Kumo.Merkle;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Ledger.State;

/// <summary>
/// The ledger's state and the rules that change it. <see cref="Apply"/> takes one transaction and either applies
/// all of it or none of it: every handler checks everything — signer, replay window, amounts, the balances that
/// would result — before it changes anything. Signatures are checked by the caller (the hub on arrival, the
/// auditor in parallel), through <see cref="LedgerTx.RequiredSignatures"/>; everything else is checked here.
/// </summary>
public sealed partial class LedgerState
{
    private readonly Dictionary<LedgerAddress, long> _balances = [];
    private readonly Dictionary<string, EscrowInfo> _escrows = new(StringComparer.Ordinal);
    private readonly Dictionary<string, LeaseCursor> _leases = new(StringComparer.Ordinal);
    private readonly HashSet<string> _closedLeases = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (AccountId Provider, string OrderId, string Reason)> _faults = new(StringComparer.Ordinal);
    private readonly Dictionary<AccountId, List<Unbonding>> _unbonding = [];
    private readonly Dictionary<AccountId, long> _faucetUsed = [];
    private readonly HashSet<string> _slashKeys = new(StringComparer.Ordinal);
    private readonly Dictionary<(string OrderId, AccountId Provider), long> _paid = [];
    private readonly Dictionary<(string OrderId, AccountId Offender), RestitutionRecord> _restitutions = [];
    private readonly Dictionary<(string OrderId, string TaskId), ValidationRewardRecord> _validationRewards = [];
    private readonly Dictionary<string, long> _paidByOrder = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _rewardedByOrder = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _replicationFeesByOrder = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _replicasPaidByOrder = new(StringComparer.Ordinal);
    private readonly Dictionary<(string OrderId, AccountId Provider), long> _replicationFees = [];
    private readonly Dictionary<string, long> _replicationRefunds = new(StringComparer.Ordinal);
    private readonly Dictionary<(AccountId, long), long> _nonces = [];
    private readonly Queue<(AccountId Account, long Nonce, long At)> _nonceOrder = new();

    public LedgerState(Genesis genesis)
    {
        IReadOnlyList<string> errors = genesis.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException("invalid genesis: " + string.Join("; ", errors), nameof(genesis));
        }

        Genesis = genesis;
        Time = genesis.Time;
        foreach (GenesisAllocation allocation in genesis.Allocations)
        {
            LedgerAddress.TryParse(allocation.Account, out LedgerAddress to, out _);
            Add(LedgerAddress.Issuance, -allocation.Amount);
            Add(to, allocation.Amount);
        }
    }

    public Genesis Genesis { get; }

    /// <summary>When the last transaction was applied (the genesis time before any).</summary>
    public long Time { get; private set; }

    /// <summary>Leases closed with a provider-side reason and not yet fault-slashed.</summary>
    public IReadOnlyCollection<string> PendingFaults => _faults.Keys;

    /// <summary>Rewards minted so far (bounded by the emission cap).</summary>
    public long Emitted { get; private set; }

    public long Balance(LedgerAddress address) => _balances.GetValueOrDefault(address);

    /// <summary>Stake that counts for bidding: the stake account less what is unbonding.</summary>
    public long Bonded(AccountId staker) => Balance(LedgerAddress.Stake(staker)) - Unbonding(staker).Sum(u => u.Amount);

    /// <summary>
    /// The kinds of the referee's verdicts <paramref name="offender"/> was slashed on ("canary", "proof_of_learning", …),
    /// each once, in ordinal order: a record that outlives any hub's memory, since the ledger is replayed from its blocks.
    /// </summary>
    public IReadOnlyList<string> RefereedFaultKinds(AccountId offender)
    {
        string prefix = $"{SlashKinds.Refereed}:{offender.Value}:";
        return [.. _slashKeys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal))
            .Select(k => k[prefix.Length..].Split(':', 2)[0]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    public IReadOnlyList<Unbonding> Unbonding(AccountId staker) => _unbonding.GetValueOrDefault(staker) ?? [];

    public EscrowInfo? Escrow(string orderId) => _escrows.GetValueOrDefault(orderId);

    public LeaseCursor? Lease(string leaseId) => _leases.GetValueOrDefault(leaseId);

    public bool IsLeaseClosed(string leaseId) => _closedLeases.Contains(leaseId);

    /// <summary>
    /// What <paramref name="provider"/> has been paid out of the escrow of <paramref name="orderId"/>: the provider share of
    /// every settlement of its leases on that order (not the network's fee and reserve, not the minted reward).
    /// </summary>
    public long PaidFrom(string orderId, AccountId provider) => _paid.GetValueOrDefault((orderId, provider));

    /// <summary>The restitution a refereed slash made of <paramref name="offender"/>'s pay from <paramref name="orderId"/>, if any.</summary>
    public RestitutionRecord? Restitution(string orderId, AccountId offender) => _restitutions.GetValueOrDefault((orderId, offender));

    public IEnumerable<RestitutionRecord> Restitutions => _restitutions.Values;

    /// <summary>What all providers have been paid out of the escrow of <paramref name="orderId"/> (their shares of its settlements).</summary>
    public long PaidFrom(string orderId) => _paidByOrder.GetValueOrDefault(orderId);

    /// <summary>What the providers of <paramref name="orderId"/> paid the replication pool out of their shares of its settlements.</summary>
    public long ReplicationFeesFrom(string orderId) => _replicationFeesByOrder.GetValueOrDefault(orderId);

    /// <summary>
    /// What the job of <paramref name="orderId"/> paid for its work: its providers' shares before their replication
    /// fees. A replica that re-ran the whole job is due this much.
    /// </summary>
    public long WorkValueOf(string orderId) => PaidFrom(orderId) + ReplicationFeesFrom(orderId);

    /// <summary>Whether <paramref name="orderId"/>'s replication fees were returned to its providers (no replica checked it).</summary>
    public bool ReplicationRefunded(string orderId) => _replicationRefunds.ContainsKey(orderId);

    /// <summary>What went back to <paramref name="orderId"/>'s providers when its replication fees were returned (0: not returned).</summary>
    public long ReplicationReturned(string orderId) => _replicationRefunds.GetValueOrDefault(orderId);

    /// <summary>What the replication pool has paid replicas for checking <paramref name="orderId"/>'s job, in all.</summary>
    public long ReplicasPaidFor(string orderId) => _replicasPaidByOrder.GetValueOrDefault(orderId);

    /// <summary>What the fee pool has paid validators for checking <paramref name="orderId"/>'s job, in all.</summary>
    public long RewardedFor(string orderId) => _rewardedByOrder.GetValueOrDefault(orderId);

    /// <summary>The validation rewards paid for checking <paramref name="orderId"/>'s job, by task.</summary>
    public IEnumerable<ValidationRewardRecord> ValidationRewards(string orderId) => _validationRewards.Values.Where(r => r.OrderId == orderId);

    public IReadOnlyCollection<LeaseCursor> OpenLeases => _leases.Values;

    public IEnumerable<EscrowInfo> Escrows => _escrows.Values;

    public IEnumerable<KeyValuePair<LedgerAddress, long>> Balances => _balances;

    public LedgerTotals Totals()
    {
        long users = 0, escrow = 0, stake = 0;
        foreach ((LedgerAddress address, long balance) in _balances)
        {
            switch (address.Kind)
            {
                case AccountKind.User: users += balance; break;
                case AccountKind.Escrow: escrow += balance; break;
                case AccountKind.Stake: stake += balance; break;
            }
        }

        return new LedgerTotals(-Balance(LedgerAddress.Issuance), users, escrow, stake,
            Balance(LedgerAddress.Reserve), Balance(LedgerAddress.FeePool), Balance(LedgerAddress.Burn), Emitted, Balance(LedgerAddress.ReplicationPool));
    }

    /// <summary>Applies <paramref name="tx"/> completely, or refuses it and changes nothing.</summary>
    public ApplyResult Apply(LedgerTx tx)
    {
        if (tx.AppliedAt < Time)
        {
            return ApplyResult.Refused($"applied at {tx.AppliedAt}, before the previous transaction ({Time}); time cannot go backwards");
        }

        var change = new Change(this, tx.AppliedAt);
        try
        {
            if (tx.Signed is { } signed)
            {
                ApplySigned(change, signed);
            }
            else
            {
                ApplyProtocol(change, tx);
            }

            return change.Commit();
        }
        catch (LedgerRefusal refusal)
        {
            return ApplyResult.Refused(refusal.Message);
        }
        catch (JsonException e)
        {
            return ApplyResult.Refused($"malformed {tx.Kind}: {e.Message}");
        }
        catch (OverflowException)
        {
            return ApplyResult.Refused($"{tx.Kind}: amounts overflow");
        }
    }

    // ---- signed transactions -------------------------------------------------------------------------------

    private void ApplySigned(Change change, SignedEnvelope envelope)
    {
        if (!LedgerMessageTypes.All.Contains(envelope.Type))
        {
            throw new LedgerRefusal($"'{envelope.Type}' is not a ledger transaction");
        }

        long skew = Math.Abs(change.At - envelope.Timestamp);
        if (skew > Genesis.ClockSkewMs)
        {
            throw new LedgerRefusal($"signed {skew / 1000} s away from the time it was applied; the ledger accepts ±{Genesis.ClockSkewMs / 1000} s");
        }

        if (_nonces.ContainsKey((envelope.Signer, envelope.Nonce)))
        {
            throw new LedgerRefusal($"nonce {envelope.Nonce} of {envelope.Signer} was already used: a replay");
        }

        change.RecordNonce(envelope.Signer, envelope.Nonce);
        AccountId signer = envelope.Signer;
        switch (envelope.Type)
        {
            case LedgerMessageTypes.Transfer:
            {
                TransferPayload p = envelope.PayloadAs<TransferPayload>();
                RequireAmount(p.Amount, "transfer");
                if (!LedgerAddress.TryParse(p.To, out LedgerAddress to, out string why) || to.Kind != AccountKind.User)
                {
                    throw new LedgerRefusal($"cannot transfer to '{Shorten(p.To)}': {(why.Length > 0 ? why : "not a user account")}");
                }

                if (to == LedgerAddress.User(signer))
                {
                    throw new LedgerRefusal("a transfer to yourself moves nothing");
                }

                change.Move(LedgerAddress.User(signer), to, p.Amount, "transfer");
                break;
            }

            case LedgerMessageTypes.Bond:
            {
                BondPayload p = envelope.PayloadAs<BondPayload>();
                RequireAmount(p.Amount, "bond");
                change.Move(LedgerAddress.User(signer), LedgerAddress.Stake(signer), p.Amount, "bond");
                break;
            }

            case LedgerMessageTypes.Unbond:
            {
                UnbondPayload p = envelope.PayloadAs<UnbondPayload>();
                RequireAmount(p.Amount, "unbond");
                long bonded = Bonded(signer);
                if (p.Amount > bonded)
                {
                    throw new LedgerRefusal($"cannot unbond {Amounts.Format(p.Amount)}: only {Amounts.Format(bonded)} is bonded");
                }

                long release = checked(change.At + Genesis.UnbondingPeriodMs);
                change.Then(() => UnbondingList(signer).Add(new Unbonding(p.Amount, release)));
                break;
            }

            case LedgerMessageTypes.Withdraw:
            {
                envelope.PayloadAs<WithdrawPayload>();
                List<Unbonding> entries = _unbonding.GetValueOrDefault(signer) ?? [];
                long released = entries.Where(u => u.ReleaseAt <= change.At).Sum(u => u.Amount);
                if (released == 0)
                {
                    string when = entries.Count == 0 ? "nothing is unbonding" :
                        $"{Amounts.Format(entries.Sum(u => u.Amount))} is unbonding; the first release is at {DateTimeOffset.FromUnixTimeMilliseconds(entries.Min(u => u.ReleaseAt)):u}";
                    throw new LedgerRefusal($"nothing to withdraw yet: {when}");
                }

                change.Move(LedgerAddress.Stake(signer), LedgerAddress.User(signer), released, "withdraw");
                change.Then(() => entries.RemoveAll(u => u.ReleaseAt <= change.At));
                break;
            }

            case LedgerMessageTypes.Faucet:
            {
                FaucetRule rule = Genesis.Faucet ?? throw new LedgerRefusal("this network has no faucet (devnet only)");
                FaucetPayload p = envelope.PayloadAs<FaucetPayload>();
                RequireAmount(p.Amount, "faucet");
                if (p.Amount > rule.MaxPerRequest)
                {
                    throw new LedgerRefusal($"the faucet gives at most {Amounts.Format(rule.MaxPerRequest)} per request");
                }

                long used = _faucetUsed.GetValueOrDefault(signer);
                if (checked(used + p.Amount) > rule.MaxPerAccount)
                {
                    throw new LedgerRefusal($"the faucet gives at most {Amounts.Format(rule.MaxPerAccount)} per account; {Amounts.Format(used)} already given");
                }

                change.Move(LedgerAddress.Issuance, LedgerAddress.User(signer), p.Amount, "faucet");
                change.Then(() => _faucetUsed[signer] = used + p.Amount);
                break;
            }

            case LedgerMessageTypes.EscrowLock:
                LockEscrow(change, envelope);
                break;

            case LedgerMessageTypes.EscrowTopUp:
            {
                EscrowTopUpPayload p = envelope.PayloadAs<EscrowTopUpPayload>();
                RequireAmount(p.Amount, "top-up");
                EscrowInfo escrow = OwnEscrow(p.OrderId, signer);
                SettleOpenLease(change, escrow, change.At);
                change.Move(LedgerAddress.User(signer), LedgerAddress.Escrow(escrow.OrderId), p.Amount, "top-up");
                break;
            }

            case LedgerMessageTypes.EscrowWithdraw:
            {
                EscrowWithdrawPayload p = envelope.PayloadAs<EscrowWithdrawPayload>();
                RequireAmount(p.Amount, "escrow withdrawal");
                EscrowInfo escrow = OwnEscrow(p.OrderId, signer);
                SettleOpenLease(change, escrow, change.At); // the provider is paid for time already run, first
                change.Move(LedgerAddress.Escrow(escrow.OrderId), LedgerAddress.User(signer), p.Amount, "escrow withdrawal");
                break;
            }

            case LedgerMessageTypes.SlashReport:
                ApplySlash(change, envelope);
                break;

            case LedgerMessageTypes.ValidationReward:
                ApplyValidationReward(change, envelope);
                break;

            case LedgerMessageTypes.ReplicationRefund:
                ApplyReplicationRefund(change, envelope);
                break;
        }
    }

    /// <summary>
    /// The referee pays a validator from the fee pool for one validation task, on the validator's signed report of it:
    /// once per task, never the job's own provider, and all of a job's rewards at most
    /// <see cref="Genesis.ValidationRewardBps"/> of what the job paid its providers. The pool cannot go below zero.
    /// An <c>exec</c> replica (its acceptance and result as evidence) on a network with replication fees
    /// (<see cref="Genesis.MaxReplicationFeeBps"/> &gt; 0) is paid from the replication pool instead: at most the job's
    /// <see cref="WorkValueOf"/> for each replica, and two of them (a replica and a tie-breaker) per job.
    /// </summary>
    private void ApplyValidationReward(Change change, SignedEnvelope envelope)
    {
        if (Genesis.Referee is null || envelope.Signer.Value != Genesis.Referee)
        {
            throw new LedgerRefusal($"validation reward: only the genesis referee pays validators, not {envelope.Signer}");
        }

        ValidationRewardPayload p = envelope.PayloadAs<ValidationRewardPayload>();
        bool fromReplicationPool = p.Acceptance is not null && Genesis.MaxReplicationFeeBps > 0;
        if (Genesis.ValidationRewardBps == 0 && !fromReplicationPool)
        {
            throw new LedgerRefusal("validation reward: this network's genesis pays no validation rewards");
        }

        RequireAmount(p.Amount, "validation reward");
        if (!AccountId.TryParse(p.Validator, out AccountId validator, out string why))
        {
            throw new LedgerRefusal($"validation reward: validator: {why}");
        }

        if (p.Acceptance is not null)
        {
            CheckReplicaEvidence(p, validator);
        }
        else
        {
            if (p.Report is null || p.Report.Type != ValidationMessageTypes.Report || p.Report.Signer != validator)
            {
                throw new LedgerRefusal($"validation reward: the evidence must be a validation report signed by {validator}");
            }

            ValidationReport report = p.Report.PayloadAs<ValidationReport>();
            if (report.JobId != p.OrderId || report.TaskId != p.TaskId)
            {
                throw new LedgerRefusal($"validation reward: the report is of task {Shorten(report.TaskId)} of job {Shorten(report.JobId)}, not task {Shorten(p.TaskId)} of {Shorten(p.OrderId)}");
            }
        }

        if (!_escrows.ContainsKey(p.OrderId))
        {
            throw new LedgerRefusal($"validation reward: no job {Shorten(p.OrderId)} has an escrow");
        }

        if (_paid.ContainsKey((p.OrderId, validator)))
        {
            throw new LedgerRefusal($"validation reward: {validator} was paid to run job {p.OrderId}; it cannot be paid to check it");
        }

        if (_validationRewards.ContainsKey((p.OrderId, p.TaskId)))
        {
            throw new LedgerRefusal($"validation reward: task {Shorten(p.TaskId)} of job {p.OrderId} was already rewarded");
        }

        var record = new ValidationRewardRecord(p.OrderId, p.TaskId, validator, p.Amount);
        change.Effect(new ValidationRewarded(record.OrderId, record.TaskId, validator, record.Amount));
        if (fromReplicationPool)
        {
            long value = WorkValueOf(p.OrderId), paidBefore = ReplicasPaidFor(p.OrderId);
            if (p.Amount > value)
            {
                throw new LedgerRefusal($"replica reward: {p.Amount} µKUMO is more than the {value} the job paid for its work, which a replica re-did once");
            }

            if (paidBefore + p.Amount > 2 * value)
            {
                throw new LedgerRefusal($"replica reward: {paidBefore} + {p.Amount} µKUMO would pay more than two replicas (a replica and a tie-breaker) of a job whose work cost {value}");
            }

            if (Balance(LedgerAddress.ReplicationPool) < p.Amount)
            {
                throw new LedgerRefusal($"replica reward: the replication pool holds {Balance(LedgerAddress.ReplicationPool)} µKUMO, less than {p.Amount}");
            }

            change.Move(LedgerAddress.ReplicationPool, LedgerAddress.User(validator), p.Amount, "replica reward");
            change.Then(() =>
            {
                _validationRewards[(record.OrderId, record.TaskId)] = record;
                _replicasPaidByOrder[record.OrderId] = ReplicasPaidFor(record.OrderId) + record.Amount;
            });
            return;
        }

        long paid = PaidFrom(p.OrderId), cap = (long)((Int128)paid * Genesis.ValidationRewardBps / 10_000);
        long before = RewardedFor(p.OrderId);
        if (before + p.Amount > cap)
        {
            throw new LedgerRefusal($"validation reward: {before} + {p.Amount} µKUMO would pass the job's cap of {cap} ({Genesis.ValidationRewardBps} bps of the {paid} it paid its providers)");
        }

        change.Move(LedgerAddress.FeePool, LedgerAddress.User(validator), p.Amount, "validation reward");
        change.Then(() =>
        {
            _validationRewards[(record.OrderId, record.TaskId)] = record;
            _rewardedByOrder[record.OrderId] = RewardedFor(record.OrderId) + record.Amount;
        });
    }

    /// <summary>
    /// The referee returns a job's replication fees to the providers that paid them, from the replication pool: the job
    /// was not checked by any replica. Refused when a replica of it was paid (the fees paid for that check), before its
    /// leases are closed (the fees are not final), a second time, or when its providers paid no fee. Each provider gets
    /// back what it paid, as far as the pool holds it.
    /// </summary>
    private void ApplyReplicationRefund(Change change, SignedEnvelope envelope)
    {
        if (Genesis.Referee is null || envelope.Signer.Value != Genesis.Referee)
        {
            throw new LedgerRefusal($"replication refund: only the genesis referee returns replication fees, not {envelope.Signer}");
        }

        ReplicationRefundPayload p = envelope.PayloadAs<ReplicationRefundPayload>();
        EscrowInfo escrow = _escrows.GetValueOrDefault(p.OrderId) ?? throw new LedgerRefusal($"replication refund: no job {Shorten(p.OrderId)} has an escrow");
        if (escrow.OpenLeaseIds.Count > 0)
        {
            throw new LedgerRefusal($"replication refund: job {p.OrderId} still has open leases; its fees are not final");
        }

        if (_replicationRefunds.ContainsKey(p.OrderId))
        {
            throw new LedgerRefusal($"replication refund: job {p.OrderId}'s replication fees were already returned");
        }

        if (ReplicasPaidFor(p.OrderId) > 0)
        {
            throw new LedgerRefusal($"replication refund: a replica of job {p.OrderId} was paid; its fees paid for that check");
        }

        List<(AccountId Provider, long Fee)> paid = [.. _replicationFees.Where(f => f.Key.OrderId == p.OrderId && f.Value > 0)
            .Select(f => (f.Key.Provider, f.Value)).OrderBy(f => f.Provider.Value, StringComparer.Ordinal)];
        if (paid.Count == 0)
        {
            throw new LedgerRefusal($"replication refund: job {p.OrderId}'s providers paid no replication fee");
        }

        long left = Balance(LedgerAddress.ReplicationPool), returned = 0;
        foreach ((AccountId provider, long fee) in paid)
        {
            long back = Math.Min(fee, left);
            change.Move(LedgerAddress.ReplicationPool, LedgerAddress.User(provider), back, "replication fee returned");
            left -= back;
            returned += back;
        }

        change.Then(() => _replicationRefunds[p.OrderId] = returned);
    }

    /// <summary>
    /// The evidence of an <c>exec</c> replica's check: the provider's signed acceptance of lease <c>TaskId</c> of this
    /// job at no price (a replica is not paid from the job's escrow) and its signed result of that lease, completed. The
    /// lease must not be one the ledger follows: the job's own leases are paid from its escrow.
    /// </summary>
    private void CheckReplicaEvidence(ValidationRewardPayload p, AccountId validator)
    {
        SignedEnvelope accept = p.Acceptance!;
        if (accept.Type != MessageTypes.LeaseAccept || accept.Signer != validator || p.Report is null || p.Report.Type != MessageTypes.LeaseResult
            || p.Report.Signer != validator)
        {
            throw new LedgerRefusal($"validation reward: a replica's evidence must be a lease acceptance and a lease result, both signed by {validator}");
        }

        LeaseAcceptance acceptance = accept.PayloadAs<LeaseAcceptance>();
        LeaseResult result = p.Report.PayloadAs<LeaseResult>();
        if (acceptance.JobId != p.OrderId || acceptance.LeaseId != p.TaskId || result.LeaseId != p.TaskId)
        {
            throw new LedgerRefusal($"validation reward: the replica evidence is of lease {Shorten(acceptance.LeaseId)} (result: {Shorten(result.LeaseId)}) of job {Shorten(acceptance.JobId)}, not lease {Shorten(p.TaskId)} of {Shorten(p.OrderId)}");
        }

        if (acceptance.PricePerHourMicros != 0)
        {
            throw new LedgerRefusal($"validation reward: lease {Shorten(p.TaskId)} was accepted at {acceptance.PricePerHourMicros} µKUMO/h; a replica runs at no price");
        }

        if (result.Reason != CloseReason.Completed)
        {
            throw new LedgerRefusal($"validation reward: replica lease {Shorten(p.TaskId)} ended {JsonNamingPolicy.SnakeCaseLower.ConvertName(result.Reason.ToString())}, not completed");
        }

        if (_leases.ContainsKey(p.TaskId) || _closedLeases.Contains(p.TaskId))
        {
            throw new LedgerRefusal($"validation reward: lease {Shorten(p.TaskId)} is a lease the ledger pays from an escrow, not a replica");
        }
    }

    /// <summary>A job submission locks max price × timeout from the tenant into the order's new escrow.</summary>
    private void LockEscrow(Change change, SignedEnvelope submission)
    {
        JobSubmission payload = submission.PayloadAs<JobSubmission>();
        JobSpecReadResult read = JobSpecReader.ReadWireForm(payload.Spec.GetRawText(), "spec");
        if (!read.Succeeded)
        {
            throw new LedgerRefusal($"the job spec is invalid: {read.Errors[0]}");
        }

        string digest = submission.Digest();
        string orderId = OrderIds.FromSubmissionDigest(digest);
        if (_escrows.ContainsKey(orderId))
        {
            throw new LedgerRefusal($"order {orderId} already has an escrow");
        }

        long amount = SettlementMath.EscrowFor(read.Spec.MaxPricePerHourMicros, (long)read.Spec.Timeout.TotalMilliseconds);
        RequireAmount(amount, "escrow lock");
        change.Move(LedgerAddress.User(submission.Signer), LedgerAddress.Escrow(orderId), amount, "escrow lock (max price × timeout)");
        var escrow = new EscrowInfo(orderId, submission.Signer, digest, read.Spec.MaxPricePerHourMicros, amount, change.At, Closed: false, OpenLeaseIds: []);
        change.Then(() => _escrows[orderId] = escrow);
    }

    private EscrowInfo OwnEscrow(string orderId, AccountId signer)
    {
        EscrowInfo escrow = _escrows.GetValueOrDefault(orderId) ?? throw new LedgerRefusal($"order {orderId} has no escrow");
        if (escrow.Owner != signer)
        {
            throw new LedgerRefusal($"the escrow of {orderId} belongs to {escrow.Owner}");
        }

        return escrow.Closed ? throw new LedgerRefusal($"the escrow of {orderId} is closed (the order ended and was refunded)") : escrow;
    }

    // ---- protocol transactions -----------------------------------------------------------------------------

    private void ApplyProtocol(Change change, LedgerTx tx)
    {
        switch (tx.Protocol)
        {
            case ProtocolTypes.LeaseOpen:
            {
                LeaseOpenBody body = tx.ReadBody<LeaseOpenBody>();
                EscrowInfo escrow = _escrows.GetValueOrDefault(body.OrderId) ?? throw new LedgerRefusal($"order {body.OrderId} has no escrow");
                if (escrow.Closed)
                {
                    throw new LedgerRefusal($"the escrow of {body.OrderId} is closed");
                }

                if (_leases.ContainsKey(body.LeaseId) || _closedLeases.Contains(body.LeaseId))
                {
                    throw new LedgerRefusal($"lease {body.LeaseId} was already opened");
                }

                SignedEnvelope acceptance = body.Acceptance;
                if (acceptance.Type != MessageTypes.LeaseAccept)
                {
                    throw new LedgerRefusal("the evidence of a lease is the provider's signed acceptance");
                }

                LeaseAcceptance accepted = acceptance.PayloadAs<LeaseAcceptance>();
                if (accepted.LeaseId != body.LeaseId || accepted.JobId != body.OrderId || accepted.SubmissionDigest != escrow.SubmissionDigest)
                {
                    throw new LedgerRefusal("the provider's acceptance is for another lease, order or submission");
                }

                if (accepted.PricePerHourMicros < 0 || accepted.PricePerHourMicros > escrow.MaxPricePerHour)
                {
                    throw new LedgerRefusal($"the accepted price {accepted.PricePerHourMicros} µKUMO/h is above the tenant's signed maximum {escrow.MaxPricePerHour}");
                }

                // A cluster's nodes draw on one escrow: together they may not cost more than the tenant signed for.
                long together = checked(escrow.OpenLeaseIds.Sum(id => _leases[id].PricePerHour) + accepted.PricePerHourMicros);
                if (together > escrow.MaxPricePerHour)
                {
                    throw new LedgerRefusal($"the order's leases together would cost {together} µKUMO/h, above the tenant's signed maximum {escrow.MaxPricePerHour}");
                }

                if (body.At > change.At || body.At < escrow.CreatedAt)
                {
                    throw new LedgerRefusal("a lease opens after its escrow was locked and not in the future");
                }

                if (accepted.ReplicationFeeBps is { } feeBps && (feeBps < 1 || feeBps > Genesis.MaxReplicationFeeBps))
                {
                    throw new LedgerRefusal(Genesis.MaxReplicationFeeBps == 0
                        ? "the acceptance signs a replication fee, and this network's genesis takes none"
                        : $"the acceptance's replication fee of {feeBps} bps is outside 1..{Genesis.MaxReplicationFeeBps} (maxReplicationFeeBps)");
                }

                var cursor = new LeaseCursor(body.LeaseId, body.OrderId, acceptance.Signer, accepted.PricePerHourMicros, body.At, body.At, 0)
                {
                    ReplicationFeeBps = accepted.ReplicationFeeBps ?? 0,
                };
                change.Then(() =>
                {
                    _leases[body.LeaseId] = cursor;
                    EscrowInfo current = _escrows[body.OrderId];
                    _escrows[body.OrderId] = current with { OpenLeaseIds = [.. current.OpenLeaseIds.Append(body.LeaseId).Order(StringComparer.Ordinal)] };
                });
                break;
            }

            case ProtocolTypes.Settle:
            {
                SettleBody body = tx.ReadBody<SettleBody>();
                LeaseCursor lease = _leases.GetValueOrDefault(body.LeaseId) ?? throw new LedgerRefusal($"lease {body.LeaseId} is not open");
                if (body.Until is { } until && until < lease.OpenedAt)
                {
                    throw new LedgerRefusal($"lease {body.LeaseId} cannot be settled until {until}, before it opened at {lease.OpenedAt}");
                }

                Settle(change, lease, Math.Min(body.Until ?? change.At, change.At), close: false, reason: null);
                break;
            }

            case ProtocolTypes.LeaseClose:
            {
                LeaseCloseBody body = tx.ReadBody<LeaseCloseBody>();
                LeaseCursor lease = _leases.GetValueOrDefault(body.LeaseId) ?? throw new LedgerRefusal($"lease {body.LeaseId} is not open");
                if (body.At > change.At)
                {
                    throw new LedgerRefusal("a lease cannot be closed in the future");
                }

                // Already settled past the end (a settlement raced the close): nothing more is owed, nothing is taken back.
                Settle(change, lease, Math.Max(body.At, lease.SettledUntil), close: true, reason: body.Reason);
                break;
            }

            case ProtocolTypes.Refund:
            {
                RefundBody body = tx.ReadBody<RefundBody>();
                EscrowInfo escrow = _escrows.GetValueOrDefault(body.OrderId) ?? throw new LedgerRefusal($"order {body.OrderId} has no escrow");
                if (escrow.Closed)
                {
                    throw new LedgerRefusal($"the escrow of {body.OrderId} was already refunded");
                }

                if (escrow.OpenLeaseIds.Count > 0)
                {
                    throw new LedgerRefusal($"lease {escrow.OpenLeaseIds[0]} still draws on the escrow of {body.OrderId}");
                }

                long rest = Balance(LedgerAddress.Escrow(body.OrderId));
                if (rest > 0)
                {
                    change.Move(LedgerAddress.Escrow(body.OrderId), LedgerAddress.User(escrow.Owner), rest, "refund");
                }

                change.Then(() => _escrows[body.OrderId] = escrow with { Closed = true });
                break;
            }

            case ProtocolTypes.FaultSlash:
            {
                FaultSlashBody body = tx.ReadBody<FaultSlashBody>();
                if (!_faults.TryGetValue(body.LeaseId, out var fault))
                {
                    throw new LedgerRefusal($"lease {body.LeaseId} was not closed with a provider-side reason in this ledger, or was already slashed for it");
                }

                LedgerAddress stake = LedgerAddress.Stake(fault.Provider);
                long total = Balance(stake);
                long take = (long)((Int128)total * Genesis.FaultSlashBps / 10_000);
                AccountId tenant = _escrows[fault.OrderId].Owner;
                change.Move(stake, LedgerAddress.User(tenant), take, "fault slash (compensation)");
                long fromUnbonding = Math.Max(0, take - Bonded(fault.Provider));
                change.Then(() =>
                {
                    _faults.Remove(body.LeaseId);
                    TakeFromUnbonding(fault.Provider, fromUnbonding);
                });
                break;
            }

            default:
                throw new LedgerRefusal($"'{tx.Protocol}' is not a protocol transaction");
        }
    }

    private void SettleOpenLease(Change change, EscrowInfo escrow, long until)
    {
        foreach (string leaseId in escrow.OpenLeaseIds)
        {
            Settle(change, _leases[leaseId], until, close: false, reason: null);
        }
    }

    /// <summary>
    /// Pays a lease up to <paramref name="until"/> from its escrow, split between provider, fee pool and reserve, plus
    /// the provider's reward. If the escrow cannot cover what is owed, it pays what there is and closes the lease.
    /// </summary>
    private void Settle(Change change, LeaseCursor lease, long until, bool close, string? reason)
    {
        LedgerAddress escrowAccount = LedgerAddress.Escrow(lease.OrderId);
        long owed = SettlementMath.GrossOwed(lease.PricePerHour, until - lease.OpenedAt);
        long due = Math.Max(0, owed - lease.GrossPaid);
        long available = change.BalanceAfter(escrowAccount);
        bool exhausted = due > available;
        long pay = Math.Min(due, available);
        Split split = SettlementMath.Step(lease.GrossPaid, lease.GrossPaid + pay, Genesis.NetworkFeeBps, Genesis.ReserveBps, lease.ReplicationFeeBps);
        change.Move(escrowAccount, LedgerAddress.User(lease.Provider), split.Provider, "settlement: provider");
        change.Move(escrowAccount, LedgerAddress.FeePool, split.Fee, "settlement: network fee");
        change.Move(escrowAccount, LedgerAddress.Reserve, split.Reserve, "settlement: reserve");
        change.Move(escrowAccount, LedgerAddress.ReplicationPool, split.Replication, "settlement: replication fee");
        if (split.Replication > 0)
        {
            string order = lease.OrderId;
            (string, AccountId) key = (order, lease.Provider);
            change.Then(() =>
            {
                _replicationFeesByOrder[order] = ReplicationFeesFrom(order) + split.Replication;
                _replicationFees[key] = _replicationFees.GetValueOrDefault(key) + split.Replication;
            });
        }

        if (split.Provider > 0)
        {
            // What the provider earned from this order, kept for a restitution should its work be proven bad.
            (string, AccountId) paidKey = (lease.OrderId, lease.Provider);
            change.Then(() =>
            {
                _paid[paidKey] = _paid.GetValueOrDefault(paidKey) + split.Provider;
                _paidByOrder[lease.OrderId] = _paidByOrder.GetValueOrDefault(lease.OrderId) + split.Provider;
            });
        }

        long reward = Math.Min(
            SettlementMath.Reward(split.Provider, Genesis.Rewards.RewardBps, until - Genesis.Time, Genesis.Rewards.HalvingEveryMs),
            Genesis.Rewards.Cap - Emitted - change.Emitted);
        if (reward > 0)
        {
            change.Move(LedgerAddress.Issuance, LedgerAddress.User(lease.Provider), reward, "reward");
            change.Emitted += reward;
            change.Then(() => Emitted += reward);
        }

        LeaseCursor settled = lease with { SettledUntil = Math.Max(lease.SettledUntil, until), GrossPaid = lease.GrossPaid + pay };
        if (close || exhausted)
        {
            if (exhausted)
            {
                change.Effect(new LeaseExhausted(lease.LeaseId, lease.OrderId));
            }

            string closeReason = exhausted ? "network_insufficient_funds" : reason ?? "";
            change.Then(() =>
            {
                _leases.Remove(lease.LeaseId);
                _closedLeases.Add(lease.LeaseId);
                EscrowInfo current = _escrows[lease.OrderId];
                _escrows[lease.OrderId] = current with { OpenLeaseIds = [.. current.OpenLeaseIds.Where(id => id != lease.LeaseId)] };
                if (closeReason.StartsWith("provider_", StringComparison.Ordinal))
                {
                    // The provider is at fault: its stake becomes slashable for this lease (see fault_slash).
                    _faults[lease.LeaseId] = (lease.Provider, lease.OrderId, closeReason);
                }
            });
        }
        else
        {
            change.Then(() => _leases[lease.LeaseId] = settled);
        }
    }

    // ---- bookkeeping ---------------------------------------------------------------------------------------

    private List<Unbonding> UnbondingList(AccountId staker)
    {
        if (!_unbonding.TryGetValue(staker, out List<Unbonding>? list))
        {
            list = [];
            _unbonding[staker] = list;
        }

        return list;
    }

    private void Add(LedgerAddress address, long delta)
    {
        long balance = checked(_balances.GetValueOrDefault(address) + delta);
        if (balance == 0)
        {
            _balances.Remove(address);
        }
        else
        {
            _balances[address] = balance;
        }
    }

    private static void RequireAmount(long amount, string what)
    {
        if (amount <= 0)
        {
            throw new LedgerRefusal($"{what} amount must be positive, not {amount}");
        }

        if (amount > Amounts.MaxAmount)
        {
            throw new LedgerRefusal($"{what} amount {amount} is above the largest amount, 2^53−1 µKUMO");
        }
    }

    private static string Shorten(string text) => text.Length > 60 ? text[..60] + "…" : text;

    private void PruneNonces(long now)
    {
        long horizon = now - (2 * Genesis.ClockSkewMs);
        while (_nonceOrder.Count > 0 && _nonceOrder.Peek().At < horizon)
        {
            (AccountId account, long nonce, _) = _nonceOrder.Dequeue();
            _nonces.Remove((account, nonce));
        }
    }

    // ---- state root ----------------------------------------------------------------------------------------

    /// <summary>
    /// The canonical description of the state: one line per balance, unbonding entry, escrow, open lease, closed
    /// lease, faucet use, slash, restitution and validation reward, sorted. Two replays agree on the state exactly when these bytes agree.
    /// (The replay window of nonces is not part of it: it follows from the last ten minutes of history. Nor is what each
    /// provider was paid per order (<see cref="PaidFrom(string, AccountId)"/>): it follows from the settlements, so chains sealed before
    /// restitution existed keep their state roots; a restitution it decides shows in the balances and its own line.)
    /// </summary>
    public IReadOnlyList<string> StateLines()
    {
        var lines = new List<string>(_balances.Count + _escrows.Count + _leases.Count + 4);
        foreach ((LedgerAddress address, long balance) in _balances)
        {
            lines.Add(Inv($"b|{address.Value}|{balance}"));
        }

        foreach ((AccountId staker, List<Unbonding> entries) in _unbonding)
        {
            foreach (Unbonding u in entries)
            {
                lines.Add(Inv($"u|{staker.Value}|{u.ReleaseAt}|{u.Amount}"));
            }
        }

        foreach (EscrowInfo e in _escrows.Values)
        {
            lines.Add(Inv($"e|{e.OrderId}|{e.Owner.Value}|{e.SubmissionDigest}|{e.MaxPricePerHour}|{e.Locked}|{e.CreatedAt}|{(e.Closed ? 1 : 0)}|{string.Join(',', e.OpenLeaseIds)}"));
        }

        foreach (LeaseCursor l in _leases.Values)
        {
            // The replication fee only when there is one: state lines of leases without keep their bytes.
            lines.Add(l.ReplicationFeeBps == 0
                ? Inv($"l|{l.LeaseId}|{l.OrderId}|{l.Provider.Value}|{l.PricePerHour}|{l.OpenedAt}|{l.SettledUntil}|{l.GrossPaid}")
                : Inv($"l|{l.LeaseId}|{l.OrderId}|{l.Provider.Value}|{l.PricePerHour}|{l.OpenedAt}|{l.SettledUntil}|{l.GrossPaid}|{l.ReplicationFeeBps}"));
        }

        foreach (string closed in _closedLeases)
        {
            lines.Add("c|" + closed);
        }

        foreach ((string leaseId, (AccountId provider, string order, string reason)) in _faults)
        {
            lines.Add($"x|{leaseId}|{provider.Value}|{order}|{reason}");
        }

        foreach ((AccountId account, long used) in _faucetUsed)
        {
            lines.Add(Inv($"f|{account.Value}|{used}"));
        }

        foreach (string key in _slashKeys)
        {
            lines.Add("s|" + key);
        }

        foreach (RestitutionRecord r in _restitutions.Values)
        {
            lines.Add(Inv($"r|{r.OrderId}|{r.Offender.Value}|{r.Tenant.Value}|{r.Owed}|{r.Amount}"));
        }

        foreach (ValidationRewardRecord v in _validationRewards.Values)
        {
            lines.Add(Inv($"v|{v.OrderId}|{v.TaskId}|{v.Validator.Value}|{v.Amount}"));
        }

        foreach ((string order, long returned) in _replicationRefunds)
        {
            lines.Add(Inv($"q|{order}|{returned}"));
        }

        lines.Add(Inv($"t|{Time}"));
        lines.Add(Inv($"m|{Emitted}"));
        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    /// <summary>Merkle root over <see cref="StateLines"/>.</summary>
    public byte[] StateRoot() => MerkleTree.ComputeRoot([.. StateLines().Select(l => MerkleTree.HashLeaf(Encoding.UTF8.GetBytes(l)))]);

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Everything one transaction will do, staged: balance deltas, other state changes, effects. Nothing touches
    /// the state until <see cref="Commit"/>, which first checks that no balance (but issuance) would go negative.
    /// </summary>
    private sealed class Change(LedgerState state, long at)
    {
        private readonly Dictionary<LedgerAddress, long> _deltas = [];
        private readonly List<Posting> _postings = [];
        private readonly List<(string From, long Amount, string What)> _reasons = [];
        private readonly List<Action> _then = [];
        private readonly List<LedgerEffect> _effects = [];
        private (AccountId, long)? _nonce;

        public long At { get; } = at;

        /// <summary>Rewards this change mints (so two settlements in one transaction respect the cap together).</summary>
        public long Emitted { get; set; }

        public long BalanceAfter(LedgerAddress address) => checked(state.Balance(address) + _deltas.GetValueOrDefault(address));

        public void Move(LedgerAddress from, LedgerAddress to, long amount, string what)
        {
            if (amount == 0)
            {
                return;
            }

            _deltas[from] = checked(_deltas.GetValueOrDefault(from) - amount);
            _deltas[to] = checked(_deltas.GetValueOrDefault(to) + amount);
            _postings.Add(new Posting(from, -amount));
            _postings.Add(new Posting(to, amount));
            _reasons.Add((from.Value, amount, what));
        }

        public void Then(Action action) => _then.Add(action);

        public void Effect(LedgerEffect effect) => _effects.Add(effect);

        public void RecordNonce(AccountId account, long nonce) => _nonce = (account, nonce);

        public ApplyResult Commit()
        {
            foreach ((LedgerAddress address, long delta) in _deltas)
            {
                if (address.Kind != AccountKind.Issuance && state.Balance(address) + delta < 0)
                {
                    // Name the last move out of the account: earlier ones (a settlement before a withdrawal) are the
                    // rules' own and capped at what is there; the last is the one asked for that does not fit.
                    string what = _reasons.Last(r => r.From == address.Value).What;
                    throw new LedgerRefusal($"insufficient funds for {what}: {address} has {Amounts.Format(state.Balance(address))}, needs {Amounts.Format(-delta)}");
                }
            }

            foreach ((LedgerAddress address, long delta) in _deltas)
            {
                state.Add(address, delta);
            }

            foreach (Action action in _then)
            {
                action();
            }

            if (_nonce is { } n)
            {
                state._nonces[n] = At;
                state._nonceOrder.Enqueue((n.Item1, n.Item2, At));
            }

            state.Time = At;
            state.PruneNonces(At);
            return new ApplyResult(true, null, _postings, _effects);
        }
    }
}
