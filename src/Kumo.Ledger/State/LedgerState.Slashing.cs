using Kumo.Crypto;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.State;

public sealed partial class LedgerState
{
    /// <summary>Evidence kinds a slash report may carry.</summary>
    public static class SlashKinds
    {
        /// <summary>Two different signed results for one lease: the provider contradicted itself.</summary>
        public const string DoubleResult = "double_result";

        /// <summary>A verdict of the genesis referee, with the offender's own signed statements it rests on.</summary>
        public const string Refereed = "refereed";
    }

    /// <summary>
    /// A proven fault costs the offender <see cref="Genesis.SlashBps"/> of its stake — bonded first, then what is
    /// still unbonding (unbonding stake stays slashable until released) — of which the reporter gets
    /// <see cref="Genesis.SlashBountyBps"/> and the rest is burned. One slash per fault: the same evidence twice is refused.
    /// A refereed verdict that names a job and its tenant (<see cref="VerificationVerdict.Restitution"/>) also refunds the
    /// tenant, in the same transaction, what the offender was paid out of that job's escrow (<see cref="Restitute"/>).
    /// </summary>
    private void ApplySlash(Change change, SignedEnvelope report)
    {
        SlashReportPayload payload = report.PayloadAs<SlashReportPayload>();
        if (!AccountId.TryParse(payload.Offender, out AccountId offender, out string why))
        {
            throw new LedgerRefusal($"slash report: offender: {why}");
        }

        if (offender == report.Signer)
        {
            throw new LedgerRefusal("slash report: you cannot report yourself");
        }

        AccountId bountyTo = report.Signer;
        Restitution? restitution = null;
        string key;
        switch (payload.Kind)
        {
            case SlashKinds.DoubleResult:
                key = CheckDoubleResult(offender, payload.Evidence);
                break;
            case SlashKinds.Refereed:
                (key, AccountId? winner, restitution) = CheckRefereed(offender, payload.Evidence);
                bountyTo = winner ?? report.Signer;
                break;
            default:
                throw new LedgerRefusal($"slash report: unknown evidence kind '{payload.Kind}'");
        }
        if (_slashKeys.Contains(key))
        {
            throw new LedgerRefusal($"slash report: this fault ({key}) was already slashed");
        }

        LedgerAddress stake = LedgerAddress.Stake(offender);
        long total = Balance(stake);
        (long slashed, long bounty, long burned) = SettlementMath.Slash(total, Genesis.SlashBps, Genesis.SlashBountyBps);
        if (slashed == 0)
        {
            throw new LedgerRefusal($"slash report: {offender} has no stake to slash");
        }

        change.Move(stake, LedgerAddress.User(bountyTo), bounty, "slash bounty");
        change.Move(stake, LedgerAddress.Burn, burned, "slash burn");
        long fromStake = restitution is null ? 0 : Restitute(change, offender, restitution);
        long fromUnbonding = Math.Max(0, slashed + fromStake - Bonded(offender));
        change.Then(() =>
        {
            _slashKeys.Add(key);
            TakeFromUnbonding(offender, fromUnbonding);
        });
    }

    /// <summary>
    /// Refunds the tenant what <paramref name="offender"/> was paid out of the job's escrow — the ledger's own sum of
    /// the provider share of every settlement of the offender's leases on that order, never a figure from the report.
    /// It comes from the offender's balance first (where the pay went), then from what the slash left of its stake
    /// (bonded, then unbonding, latest-releasing first); an offender that holds less pays what it holds. Refused
    /// when the job has no escrow, the tenant named is not the escrow's owner, the escrow paid the offender nothing,
    /// one of the offender's leases on it is still open (its pay is not final), or it was already restituted.
    /// Returns how much came from the stake.
    /// </summary>
    private long Restitute(Change change, AccountId offender, Restitution restitution)
    {
        EscrowInfo escrow = _escrows.GetValueOrDefault(restitution.JobId)
            ?? throw new LedgerRefusal($"slash report: restitution: job {restitution.JobId} has no escrow");
        if (!AccountId.TryParse(restitution.Tenant, out AccountId tenant, out string why))
        {
            throw new LedgerRefusal($"slash report: restitution: tenant: {why}");
        }

        if (escrow.Owner != tenant)
        {
            throw new LedgerRefusal($"slash report: restitution: the escrow of {escrow.OrderId} belongs to {escrow.Owner}, not to {tenant}");
        }

        if (_restitutions.ContainsKey((escrow.OrderId, offender)))
        {
            throw new LedgerRefusal($"slash report: restitution: {offender}'s pay from {escrow.OrderId} was already restituted");
        }

        if (escrow.OpenLeaseIds.FirstOrDefault(id => _leases[id].Provider == offender) is { } open)
        {
            throw new LedgerRefusal($"slash report: restitution: {offender}'s lease {open} on {escrow.OrderId} is still open; its pay is not final until the ledger closes it");
        }

        long owed = PaidFrom(escrow.OrderId, offender);
        if (owed == 0)
        {
            throw new LedgerRefusal($"slash report: restitution: the escrow of {escrow.OrderId} paid {offender} nothing");
        }

        long fromBalance = Math.Min(owed, change.BalanceAfter(LedgerAddress.User(offender)));
        long fromStake = Math.Min(owed - fromBalance, change.BalanceAfter(LedgerAddress.Stake(offender)));
        change.Move(LedgerAddress.User(offender), LedgerAddress.User(tenant), fromBalance, "restitution");
        change.Move(LedgerAddress.Stake(offender), LedgerAddress.User(tenant), fromStake, "restitution (from stake)");
        var record = new RestitutionRecord(escrow.OrderId, offender, tenant, owed, fromBalance + fromStake);
        change.Effect(new Restituted(record.OrderId, offender, tenant, owed, record.Amount));
        change.Then(() => _restitutions[(record.OrderId, offender)] = record);
        return fromStake;
    }

    /// <summary>The latest-releasing unbonding entries pay first.</summary>
    private void TakeFromUnbonding(AccountId staker, long amount)
    {
        if (amount <= 0 || !_unbonding.TryGetValue(staker, out List<Unbonding>? entries))
        {
            return;
        }

        // A total order on what the state records (release time, then amount): replays agree on which entry pays.
        entries.Sort((a, b) => a.ReleaseAt != b.ReleaseAt ? a.ReleaseAt.CompareTo(b.ReleaseAt) : a.Amount.CompareTo(b.Amount));
        for (int i = entries.Count - 1; i >= 0 && amount > 0; i--)
        {
            long take = Math.Min(amount, entries[i].Amount);
            amount -= take;
            entries[i] = entries[i] with { Amount = entries[i].Amount - take };
            if (entries[i].Amount == 0)
            {
                entries.RemoveAt(i);
            }
        }
    }

    /// <summary>
    /// Checks a refereed verdict: exactly one envelope signed by the genesis referee carrying a
    /// <see cref="VerificationVerdict"/> against <paramref name="offender"/>, and every offender-signed statement it
    /// cites (by digest) present and signed by the offender. Returns the fault's key, who gets the bounty, and the
    /// restitution the verdict asks for (checked by <see cref="Restitute"/>).
    /// </summary>
    private (string Key, AccountId? Winner, Restitution? Restitution) CheckRefereed(AccountId offender, IReadOnlyList<SignedEnvelope> evidence)
    {
        if (Genesis.Referee is null)
        {
            throw new LedgerRefusal("slash report: this network's genesis names no referee, so refereed verdicts cannot slash");
        }

        List<SignedEnvelope> verdicts = [.. evidence.Where(e => e.Type == MessageTypes.VerificationVerdict)];
        if (verdicts.Count != 1)
        {
            throw new LedgerRefusal($"slash report: refereed evidence holds exactly one verdict, found {verdicts.Count}");
        }

        SignedEnvelope signed = verdicts[0];
        if (signed.Signer.Value != Genesis.Referee)
        {
            throw new LedgerRefusal($"slash report: the verdict is signed by {signed.Signer}, not by the referee {Genesis.Referee}");
        }

        VerificationVerdict verdict = signed.PayloadAs<VerificationVerdict>();
        if (verdict.Offender != offender.Value)
        {
            throw new LedgerRefusal($"slash report: the verdict is against {verdict.Offender}, not {offender}");
        }

        if (verdict.EvidenceDigests.Count == 0 || string.IsNullOrEmpty(verdict.Subject) || verdict.Subject.Length > 256)
        {
            throw new LedgerRefusal("slash report: a verdict names its subject (≤ 256 characters) and at least one statement of the offender");
        }

        var cited = evidence.Where(e => e.Type != MessageTypes.VerificationVerdict)
            .ToDictionary(e => e.Digest(), StringComparer.Ordinal);
        foreach (string digest in verdict.EvidenceDigests)
        {
            if (!cited.TryGetValue(digest, out SignedEnvelope? statement))
            {
                throw new LedgerRefusal($"slash report: the verdict cites statement {digest}, which the report does not carry");
            }

            if (statement.Signer != offender)
            {
                throw new LedgerRefusal($"slash report: cited statement {digest} is signed by {statement.Signer}, not by the offender");
            }
        }

        AccountId? winner = null;
        if (verdict.Winner is { } named)
        {
            winner = AccountId.TryParse(named, out AccountId parsed, out string why) ? parsed : throw new LedgerRefusal($"slash report: verdict winner: {why}");
        }

        return ($"{SlashKinds.Refereed}:{offender.Value}:{verdict.Kind}:{verdict.Subject}", winner, verdict.Restitution);
    }

    /// <summary>Checks two results signed by <paramref name="offender"/> for one lease say different things; returns the fault's key.</summary>
    private static string CheckDoubleResult(AccountId offender, IReadOnlyList<SignedEnvelope> evidence)
    {
        if (evidence.Count != 2)
        {
            throw new LedgerRefusal("slash report: double_result evidence is exactly two signed results");
        }

        SignedEnvelope a = evidence[0], b = evidence[1];
        if (a.Type != MessageTypes.LeaseResult || b.Type != MessageTypes.LeaseResult)
        {
            throw new LedgerRefusal("slash report: double_result evidence must be two lease results");
        }

        if (a.Signer != offender || b.Signer != offender)
        {
            throw new LedgerRefusal("slash report: both results must be signed by the offender");
        }

        LeaseResult first = a.PayloadAs<LeaseResult>(), second = b.PayloadAs<LeaseResult>();
        if (first.LeaseId != second.LeaseId)
        {
            throw new LedgerRefusal("slash report: the two results are for different leases");
        }

        // The same result signed twice (a resend after a reconnect) is not a contradiction.
        if (CanonicalJson.Serialize(a.Payload).AsSpan().SequenceEqual(CanonicalJson.Serialize(b.Payload)))
        {
            throw new LedgerRefusal("slash report: the two results say the same thing; there is no contradiction");
        }

        // The offender is part of the key: a fault is one signer's, and an accomplice's contradiction on the same
        // lease must not use up the cheater's.
        return $"{SlashKinds.DoubleResult}:{offender.Value}:{first.LeaseId}";
    }
}
