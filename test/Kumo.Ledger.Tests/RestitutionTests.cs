using System.Text.Json;
using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>
/// A refereed slash that names the job and its tenant also refunds the tenant what the offender was paid out of that
/// job's escrow — an amount the ledger takes from its own settlements, from the offender's balance first, then its stake.
/// </summary>
public class RestitutionTests
{
    private const long K = Amounts.MicrosPerKumo;

    private sealed class Setup : IDisposable
    {
        public Setup(long providerFunds = 1000, long providerBond = 1000)
        {
            H = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with { Referee = Referee.AccountId.Value });
            H.Faucet(Tenant, 1000);
            H.Faucet(Provider, providerFunds);
            Assert.True(H.Send(Provider, LedgerMessageTypes.Bond, new BondPayload(providerBond * K)).Applied);
        }

        public LedgerHarness H { get; }

        public AccountKey Referee { get; } = AccountKey.Create();

        public AccountKey Tenant { get; } = AccountKey.Create();

        public AccountKey Provider { get; } = AccountKey.Create();

        public AccountKey Validator { get; } = AccountKey.Create();

        /// <summary>A job run by <paramref name="provider"/> for 30 minutes at 10 KUMO/h, closed in the ledger; returns its order id.</summary>
        public string RunJob(AccountKey provider, bool close = true)
        {
            (string order, string lease) = H.OpenLease(Tenant, provider, maxPerHour: 10, pricePerHour: 10 * K);
            H.Advance(TimeSpan.FromMinutes(30));
            if (close)
            {
                Assert.True(H.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(lease, H.Now, "completed")).Applied);
            }

            return order;
        }

        /// <summary>What a lease of 30 minutes at 10 KUMO/h pays its provider: the gross less the network's fee and reserve.</summary>
        public long ProviderShare => SettlementMath.SplitTotal(5 * K, H.Genesis.NetworkFeeBps, H.Genesis.ReserveBps).Provider;

        /// <summary>The referee's verdict against the provider, on its signed result, filed by the referee as a slash report.</summary>
        public ApplyResult Slash(string subject, Restitution? restitution)
        {
            SignedEnvelope result = H.Sign(Provider, MessageTypes.LeaseResult, new LeaseResult("l-1", Kumo.Leases.CloseReason.Completed, 0, "", [], 1, 2));
            SignedEnvelope verdict = H.Sign(Referee, MessageTypes.VerificationVerdict, new VerificationVerdict("proof_of_learning", Provider.AccountId.Value,
                Validator.AccountId.Value, subject, [result.Digest()], "segment 3 does not reproduce", restitution));
            return H.Send(Referee, LedgerMessageTypes.SlashReport, new SlashReportPayload(Provider.AccountId.Value, "refereed", [verdict, result]));
        }

        public void Dispose()
        {
            Referee.Dispose();
            Tenant.Dispose();
            Provider.Dispose();
            Validator.Dispose();
        }
    }

    [Fact]
    public void A_refereed_slash_with_restitution_moves_what_the_offender_was_paid_for_the_job_to_the_tenant_and_audits_clean()
    {
        using var s = new Setup();
        string order = s.RunJob(s.Provider);
        Assert.True(s.H.Protocol(ProtocolTypes.Refund, new RefundBody(order)).Applied); // the escrow is closed: restitution needs no open escrow
        Assert.Equal(s.ProviderShare, s.H.State.PaidFrom(order, s.Provider.AccountId));
        long tenant = s.H.Balance(s.Tenant), provider = s.H.Balance(s.Provider);

        ApplyResult slashed = s.Slash($"job {order}/segment 3", new Restitution(order, s.Tenant.AccountId.Value));

        Assert.True(slashed.Applied, slashed.Error);
        Assert.Equal(tenant + s.ProviderShare, s.H.Balance(s.Tenant));
        Assert.Equal(provider - s.ProviderShare, s.H.Balance(s.Provider)); // from its balance first, where the pay went
        Assert.Equal(900 * K, s.H.State.Bonded(s.Provider.AccountId));    // the stake pays only the slash
        Assert.Equal(50 * K, s.H.Balance(s.Validator));
        Restituted effect = Assert.Single(slashed.Effects.OfType<Restituted>());
        Assert.Equal(new Restituted(order, s.Provider.AccountId, s.Tenant.AccountId, s.ProviderShare, s.ProviderShare), effect);
        Assert.Equal(new RestitutionRecord(order, s.Provider.AccountId, s.Tenant.AccountId, s.ProviderShare, s.ProviderShare),
            s.H.State.Restitution(order, s.Provider.AccountId));
        Assert.Contains(slashed.Postings, p => p.Account == LedgerAddress.User(s.Tenant.AccountId) && p.Delta == s.ProviderShare);
        Assert.True(s.H.State.Totals().Conserved);

        s.H.Seal();
        Kumo.Ledger.Audit.AuditReport audit = s.H.Audit();
        Assert.True(audit.Ok, audit.ToString());
        Assert.Contains(s.H.State.StateLines(), l => l.StartsWith($"r|{order}|", StringComparison.Ordinal));
    }

    [Fact]
    public void Restitution_is_refused_for_a_job_that_did_not_pay_the_offender_the_wrong_tenant_an_open_lease_or_a_second_time()
    {
        using var s = new Setup();
        using var other = AccountKey.Create();
        s.H.Faucet(other, 10);
        string paid = s.RunJob(s.Provider);
        string notTheirs = s.RunJob(other);
        string stillOpen = s.RunJob(s.Provider, close: false);
        byte[] root = s.H.State.StateRoot();

        (string Subject, Restitution Restitution, string Reason)[] refusals =
        [
            ("a", new Restitution(notTheirs, s.Tenant.AccountId.Value), "paid " + s.Provider.AccountId.Value + " nothing"),
            ("b", new Restitution(paid, other.AccountId.Value), "belongs to " + s.Tenant.AccountId.Value),
            ("c", new Restitution(stillOpen, s.Tenant.AccountId.Value), "is still open"),
            ("d", new Restitution("j-0123456789ab", s.Tenant.AccountId.Value), "has no escrow"),
            ("e", new Restitution(paid, "kumo1nope"), "restitution: tenant"),
        ];
        foreach ((string subject, Restitution restitution, string reason) in refusals)
        {
            ApplyResult refused = s.Slash(subject, restitution);
            Assert.False(refused.Applied, subject);
            Assert.Contains(reason, refused.Error, StringComparison.Ordinal);
            Assert.Equal(root, s.H.State.StateRoot()); // not even the slash: one transaction, all or nothing
        }

        Assert.True(s.Slash("first fault", new Restitution(paid, s.Tenant.AccountId.Value)).Applied);
        ApplyResult twice = s.Slash("another fault in the same job", new Restitution(paid, s.Tenant.AccountId.Value));
        Assert.False(twice.Applied);
        Assert.Contains("already restituted", twice.Error, StringComparison.Ordinal);
        Assert.True(s.Slash("another fault in the same job", null).Applied); // the slash alone still stands
    }

    [Fact]
    public void An_offender_holding_less_than_it_was_paid_pays_its_balance_then_its_stake_bonded_before_unbonding()
    {
        using var s = new Setup(providerFunds: 3, providerBond: 2);
        Assert.True(s.H.Send(s.Provider, LedgerMessageTypes.Unbond, new UnbondPayload(K)).Applied); // 1 bonded, 1 unbonding
        string order = s.RunJob(s.Provider);
        long spend = s.H.Balance(s.Provider) - K; // it keeps 1 KUMO and spends the rest
        Assert.True(s.H.Send(s.Provider, LedgerMessageTypes.Transfer, new TransferPayload(s.Validator.AccountId.Value, spend)).Applied);
        long tenant = s.H.Balance(s.Tenant), validator = s.H.Balance(s.Validator);

        ApplyResult slashed = s.Slash($"job {order}/segment 1", new Restitution(order, s.Tenant.AccountId.Value));

        Assert.True(slashed.Applied, slashed.Error);
        long afterSlash = 2 * K - (2 * K / 10); // the slash takes 10% of the stake first
        long expected = K + afterSlash;        // then its 1 KUMO of balance and all that is left of its stake
        Assert.True(expected < s.ProviderShare);
        Assert.Equal(tenant + expected, s.H.Balance(s.Tenant));
        Assert.Equal(validator + (K / 10), s.H.Balance(s.Validator)); // the bounty, half the slash
        Assert.Equal(0, s.H.Balance(s.Provider));
        Assert.Equal(0, s.H.State.Balance(LedgerAddress.Stake(s.Provider.AccountId)));
        Assert.Empty(s.H.State.Unbonding(s.Provider.AccountId));
        Assert.Equal(new RestitutionRecord(order, s.Provider.AccountId, s.Tenant.AccountId, s.ProviderShare, expected), s.H.State.Restitution(order, s.Provider.AccountId));
        s.H.Seal();
        Assert.True(s.H.Audit().Ok);
    }

    [Fact]
    public void A_verdict_without_restitution_keeps_its_bytes_and_one_with_it_round_trips()
    {
        var plain = new VerificationVerdict("canary", "kumo1a", null, "canary c-1", ["00"], "approved a wrong canary");
        string json = JsonSerializer.Serialize(plain, KumoJson.Options);
        Assert.DoesNotContain("restitution", json, StringComparison.Ordinal);
        Assert.Equal(plain with { EvidenceDigests = [] }, JsonSerializer.Deserialize<VerificationVerdict>(json, KumoJson.Options)! with { EvidenceDigests = [] });

        VerificationVerdict refund = plain with { Restitution = new Restitution("j-0123456789ab", "kumo1t") };
        string withRefund = JsonSerializer.Serialize(refund, KumoJson.Options);
        Assert.Contains("\"restitution\":{\"jobId\":\"j-0123456789ab\",\"tenant\":\"kumo1t\"}", withRefund, StringComparison.Ordinal);
        Assert.Equal(refund.Restitution, JsonSerializer.Deserialize<VerificationVerdict>(withRefund, KumoJson.Options)!.Restitution);
    }
}
