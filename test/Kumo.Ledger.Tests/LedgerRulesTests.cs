using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

public class LedgerRulesTests
{
    private const long K = Amounts.MicrosPerKumo;

    [Fact]
    public void A_transfer_moves_money_and_postings_sum_to_zero()
    {
        var h = new LedgerHarness();
        using var alice = AccountKey.Create();
        using var bob = AccountKey.Create();
        h.Faucet(alice, 100);

        ApplyResult sent = h.Send(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 30 * K));

        Assert.True(sent.Applied, sent.Error);
        Assert.Equal(0, sent.Postings.Sum(p => p.Delta));
        Assert.Equal(70 * K, h.Balance(alice));
        Assert.Equal(30 * K, h.Balance(bob));
        Assert.True(h.State.Totals().Conserved);
    }

    [Theory]
    [InlineData(0, "must be positive")]
    [InlineData(-5, "must be positive")]
    [InlineData(101_000_000, "insufficient funds")]
    public void Bad_transfer_amounts_are_refused_with_a_reason_and_change_nothing(long amount, string reason)
    {
        var h = new LedgerHarness();
        using var alice = AccountKey.Create();
        using var bob = AccountKey.Create();
        h.Faucet(alice, 100);
        byte[] root = h.State.StateRoot();

        ApplyResult result = h.Send(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, amount));

        Assert.False(result.Applied);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Equal(root, h.State.StateRoot());
    }

    [Fact]
    public void A_transfer_to_a_malformed_account_is_refused()
    {
        var h = new LedgerHarness();
        using var alice = AccountKey.Create();
        h.Faucet(alice, 100);
        string typo = alice.AccountId.Value[..^1] + (alice.AccountId.Value[^1] == 'q' ? 'p' : 'q');

        ApplyResult result = h.Send(alice, LedgerMessageTypes.Transfer, new TransferPayload(typo, K));

        Assert.False(result.Applied);
        Assert.Contains("checksum", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_replayed_transaction_is_refused()
    {
        var h = new LedgerHarness();
        using var alice = AccountKey.Create();
        using var bob = AccountKey.Create();
        h.Faucet(alice, 100);
        SignedEnvelope transfer = h.Sign(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, K));

        Assert.True(h.Submit(transfer).Applied);
        ApplyResult again = h.Submit(transfer);

        Assert.False(again.Applied);
        Assert.Contains("replay", again.Error, StringComparison.Ordinal);
        Assert.Equal(K, h.Balance(bob));
    }

    [Fact]
    public void Unbonding_beyond_the_bond_and_withdrawing_before_release_are_refused()
    {
        var h = new LedgerHarness();
        using var provider = AccountKey.Create();
        h.Faucet(provider, 1000);
        Assert.True(h.Send(provider, LedgerMessageTypes.Bond, new BondPayload(500 * K)).Applied);

        ApplyResult tooMuch = h.Send(provider, LedgerMessageTypes.Unbond, new UnbondPayload(501 * K));
        Assert.False(tooMuch.Applied);
        Assert.Contains("only 500 KUMO is bonded", tooMuch.Error, StringComparison.Ordinal);

        Assert.True(h.Send(provider, LedgerMessageTypes.Unbond, new UnbondPayload(200 * K)).Applied);
        Assert.Equal(300 * K, h.State.Bonded(provider.AccountId));
        ApplyResult early = h.Send(provider, LedgerMessageTypes.Withdraw, new WithdrawPayload());
        Assert.False(early.Applied);
        Assert.Contains("nothing to withdraw yet", early.Error, StringComparison.Ordinal);

        h.Advance(TimeSpan.FromMilliseconds(h.Genesis.UnbondingPeriodMs));
        Assert.True(h.Send(provider, LedgerMessageTypes.Withdraw, new WithdrawPayload()).Applied);
        Assert.Equal(700 * K, h.Balance(provider));
        Assert.Equal(300 * K, h.State.Balance(LedgerAddress.Stake(provider.AccountId)));
    }

    [Fact]
    public void A_lease_is_paid_by_elapsed_time_with_the_exact_fee_split_and_the_rest_refunded()
    {
        var h = new LedgerHarness();
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        h.Faucet(tenant, 100);

        (string order, string lease) = h.OpenLease(tenant, provider, maxPerHour: 10, pricePerHour: 3_600_000); // 1 µKUMO per ms
        Assert.Equal(90 * K, h.Balance(tenant)); // 10 KUMO/h × 1 h locked

        h.Advance(TimeSpan.FromSeconds(10));
        Assert.True(h.Protocol(ProtocolTypes.Settle, new SettleBody(lease)).Applied);
        h.Advance(TimeSpan.FromSeconds(5));
        Assert.True(h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(lease, h.Now, "completed")).Applied);
        Assert.True(h.Protocol(ProtocolTypes.Refund, new RefundBody(order)).Applied);

        // 15 s at 1 µKUMO/ms = 15,000 µKUMO gross; network part ⌊15000·225/10000⌋ = 337: fee ⌊337·200/225⌋ = 299, reserve 38.
        Assert.Equal(299, h.State.Balance(LedgerAddress.FeePool));
        Assert.Equal(38, h.State.Balance(LedgerAddress.Reserve));
        long providerShare = 15_000 - 337;
        // Rewards are minted per settlement, 10% of that step's provider share, floored: 10 s → 9,775 → 977; 5 s → 4,888 → 488.
        Assert.Equal(providerShare + 977 + 488, h.Balance(provider));
        Assert.Equal((100 * K) - 15_000, h.Balance(tenant));
        Assert.Equal(0, h.State.Balance(LedgerAddress.Escrow(order)));
        Assert.True(h.State.Totals().Conserved);
    }

    [Fact]
    public void A_settlement_until_a_checkpoint_pays_only_the_checkpointed_time_and_never_before_the_lease_opened()
    {
        var h = new LedgerHarness();
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        h.Faucet(tenant, 100);
        (_, string lease) = h.OpenLease(tenant, provider, maxPerHour: 10, pricePerHour: 3_600_000); // 1 µKUMO per ms
        long opened = h.Now;

        h.Advance(TimeSpan.FromSeconds(10));
        Assert.True(h.Protocol(ProtocolTypes.Settle, new SettleBody(lease, opened + 4_000)).Applied);
        Assert.Equal(opened + 4_000, h.State.Lease(lease)!.SettledUntil);
        Assert.Equal(4_000, h.State.Lease(lease)!.GrossPaid);

        // Later than the block time: capped at the block time.
        Assert.True(h.Protocol(ProtocolTypes.Settle, new SettleBody(lease, h.Now + 60_000)).Applied);
        Assert.Equal(h.Now, h.State.Lease(lease)!.SettledUntil);

        ApplyResult early = h.Protocol(ProtocolTypes.Settle, new SettleBody(lease, opened - 1));
        Assert.False(early.Applied);
        Assert.Contains("before it opened", early.Error, StringComparison.Ordinal);
        Assert.True(h.State.Totals().Conserved);
    }

    [Fact]
    public void An_escrow_that_runs_dry_closes_its_lease_and_says_so()
    {
        var h = new LedgerHarness();
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        h.Faucet(tenant, 100);
        (string order, string lease) = h.OpenLease(tenant, provider, maxPerHour: 36, pricePerHour: 36 * K, timeout: "10s"); // locks 0.1 KUMO

        h.Advance(TimeSpan.FromSeconds(30));
        ApplyResult settled = h.Protocol(ProtocolTypes.Settle, new SettleBody(lease));

        Assert.True(settled.Applied);
        Assert.Contains(settled.Effects, e => e is LeaseExhausted x && x.LeaseId == lease);
        Assert.Equal(0, h.State.Balance(LedgerAddress.Escrow(order)));
        Assert.Null(h.State.Lease(lease));
        Assert.True(h.State.IsLeaseClosed(lease));
    }

    [Fact]
    public void A_top_up_first_pays_the_provider_for_time_already_run()
    {
        var h = new LedgerHarness();
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        h.Faucet(tenant, 100);
        (string order, string lease) = h.OpenLease(tenant, provider, maxPerHour: 10, pricePerHour: 3_600_000);

        h.Advance(TimeSpan.FromSeconds(2));
        ApplyResult topUp = h.Send(tenant, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(order, 5 * K));

        Assert.True(topUp.Applied, topUp.Error);
        Assert.Equal(2_000, h.State.Lease(lease)!.GrossPaid);
        Assert.True(h.Balance(provider) > 0);
    }

    [Fact]
    public void A_double_result_is_slashed_once_with_bounty_and_burn_and_bad_evidence_is_refused()
    {
        var h = new LedgerHarness();
        using var provider = AccountKey.Create();
        using var reporter = AccountKey.Create();
        h.Faucet(provider, 1000);
        Assert.True(h.Send(provider, LedgerMessageTypes.Bond, new BondPayload(1000 * K)).Applied);
        SignedEnvelope a = h.Sign(provider, MessageTypes.LeaseResult, new Kumo.Protocol.LeaseResult("l-1", Kumo.Leases.CloseReason.Completed, 0, "ok", [], 1, 2));
        SignedEnvelope b = h.Sign(provider, MessageTypes.LeaseResult, new Kumo.Protocol.LeaseResult("l-1", Kumo.Leases.CloseReason.WorkloadFailed, 1, "no", [], 1, 2));
        SignedEnvelope same = h.Sign(provider, MessageTypes.LeaseResult, new Kumo.Protocol.LeaseResult("l-1", Kumo.Leases.CloseReason.Completed, 0, "ok", [], 1, 2));

        ApplyResult noContradiction = h.Send(reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(provider.AccountId.Value, "double_result", [a, same]));
        Assert.False(noContradiction.Applied);
        Assert.Contains("say the same thing", noContradiction.Error, StringComparison.Ordinal);

        ApplyResult slashed = h.Send(reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(provider.AccountId.Value, "double_result", [a, b]));
        Assert.True(slashed.Applied, slashed.Error);
        Assert.Equal(50 * K, h.Balance(reporter)); // 10% of 1000 = 100; half to the reporter
        Assert.Equal(50 * K, h.State.Balance(LedgerAddress.Burn));
        Assert.Equal(900 * K, h.State.Bonded(provider.AccountId));

        ApplyResult again = h.Send(reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(provider.AccountId.Value, "double_result", [b, a]));
        Assert.False(again.Applied);
        Assert.Contains("already slashed", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chain_of_blocks_audits_clean_and_matches_the_live_state()
    {
        var h = new LedgerHarness();
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        h.Faucet(tenant, 100);
        h.Faucet(provider, 200);
        h.Seal();
        h.Send(provider, LedgerMessageTypes.Bond, new BondPayload(150 * K));
        (string order, string lease) = h.OpenLease(tenant, provider, 10, 3_600_000);
        h.Seal();
        h.Advance(TimeSpan.FromSeconds(7));
        h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(lease, h.Now, "completed"));
        h.Protocol(ProtocolTypes.Refund, new RefundBody(order));
        h.Seal();

        var report = h.Audit();

        Assert.True(report.Ok, report.ToString());
        Assert.Equal(3, report.Blocks);
        Assert.True(report.Totals!.Conserved);
        Assert.Equal(h.State.Totals(), report.Totals);
    }
}

public class LedgerTxEncodingTests
{
    [Fact]
    public void The_fast_canonical_writer_equals_the_generic_canonicalizer_for_every_kind_of_transaction()
    {
        var h = new LedgerHarness();
        using var alice = Kumo.Crypto.AccountKey.Create();
        using var bob = Kumo.Crypto.AccountKey.Create();
        var txs = new List<LedgerTx>
        {
            LedgerTx.FromSigned(h.Sign(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 5)), h.Now),
            LedgerTx.FromSigned(h.Submission(alice, 2.5m), h.Now + 1),
            LedgerTx.FromSigned(h.Sign(alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()), h.Now + 2),
            LedgerTx.FromProtocol(ProtocolTypes.Settle, new SettleBody("l-ünïcödé\n\"x\""), h.Now + 3),
            LedgerTx.FromProtocol(ProtocolTypes.Refund, new RefundBody("j-0123456789ab"), 0),
        };

        foreach (LedgerTx tx in txs)
        {
            byte[] generic = Kumo.Serialization.CanonicalJson.Serialize(tx, Kumo.Serialization.KumoJson.Options);
            Assert.Equal(System.Text.Encoding.UTF8.GetString(generic), System.Text.Encoding.UTF8.GetString(tx.CanonicalBytes()));
            Assert.Equal(tx.CanonicalBytes(), LedgerTx.Parse(tx.CanonicalBytes()).CanonicalBytes());
        }
    }
}

public class FaultSlashTests
{
    private const long K = Amounts.MicrosPerKumo;

    [Fact]
    public void A_lease_closed_for_a_provider_fault_makes_the_provider_slashable_once_and_compensates_the_tenant()
    {
        var h = new LedgerHarness();
        using var tenant = Kumo.Crypto.AccountKey.Create();
        using var provider = Kumo.Crypto.AccountKey.Create();
        h.Faucet(tenant, 100);
        h.Faucet(provider, 1000);
        Assert.True(h.Send(provider, LedgerMessageTypes.Bond, new BondPayload(1000 * K)).Applied);
        (string order, string lease) = h.OpenLease(tenant, provider, maxPerHour: 10, pricePerHour: K);

        ApplyResult early = h.Protocol(ProtocolTypes.FaultSlash, new FaultSlashBody(lease));
        Assert.False(early.Applied);
        Assert.Contains("not closed with a provider-side reason", early.Error, StringComparison.Ordinal);

        h.Advance(TimeSpan.FromMinutes(1));
        Assert.True(h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(lease, h.Now, "provider_heartbeat_lost")).Applied);
        Assert.Contains(lease, h.State.PendingFaults);
        long before = h.Balance(tenant);

        ApplyResult slashed = h.Protocol(ProtocolTypes.FaultSlash, new FaultSlashBody(lease));

        Assert.True(slashed.Applied, slashed.Error);
        Assert.Equal(10 * K, h.Balance(tenant) - before); // 1% of 1000 KUMO, to the tenant
        Assert.Equal(990 * K, h.State.Bonded(provider.AccountId));
        Assert.False(h.Protocol(ProtocolTypes.FaultSlash, new FaultSlashBody(lease)).Applied); // once
        Assert.True(h.State.Totals().Conserved);
        h.Seal();
        Assert.True(h.Audit().Ok);
    }

    [Fact]
    public void A_lease_closed_for_a_tenant_or_network_reason_is_not_slashable()
    {
        var h = new LedgerHarness();
        using var tenant = Kumo.Crypto.AccountKey.Create();
        using var provider = Kumo.Crypto.AccountKey.Create();
        h.Faucet(tenant, 100);
        (string _, string lease) = h.OpenLease(tenant, provider, maxPerHour: 10, pricePerHour: K);
        Assert.True(h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(lease, h.Now, "workload_failed")).Applied);

        Assert.Empty(h.State.PendingFaults);
        Assert.False(h.Protocol(ProtocolTypes.FaultSlash, new FaultSlashBody(lease)).Applied);
    }
}
