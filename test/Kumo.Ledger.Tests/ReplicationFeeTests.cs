using System.Text.Json;
using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>
/// An <c>exec</c> provider funds the replicas that check it: the replication fee it signs in its acceptance is split off
/// its share of every settlement into the replication pool, and the referee pays a replica whose outputs stood what
/// the job paid for its work, from that pool. The tenant pays for one run.
/// </summary>
public class ReplicationFeeTests
{
    private const long K = Amounts.MicrosPerKumo;

    private sealed class Setup : IDisposable
    {
        public Setup(int? feeBps, int maxReplicationFeeBps = 10_000, int minutes = 30)
        {
            H = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with { Referee = Referee.AccountId.Value, MaxReplicationFeeBps = maxReplicationFeeBps });
            H.Faucet(Tenant, 1000);
            (Order, Lease) = H.OpenLease(Tenant, Provider, maxPerHour: 10, pricePerHour: 10 * K, replicationFeeBps: feeBps);
            H.Advance(TimeSpan.FromMinutes(minutes));
            ApplyResult closed = H.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(Lease, H.Now, "completed"));
            Assert.True(closed.Applied, closed.Error);
        }

        public LedgerHarness H { get; }

        public AccountKey Referee { get; } = AccountKey.Create();

        public AccountKey Tenant { get; } = AccountKey.Create();

        public AccountKey Provider { get; } = AccountKey.Create();

        public string Order { get; }

        public string Lease { get; }

        public long Pool => H.State.Balance(LedgerAddress.ReplicationPool);

        /// <summary>The referee pays <paramref name="replica"/> for replica lease <paramref name="lease"/> on its signed acceptance (price 0) and completed result.</summary>
        public ApplyResult RewardReplica(AccountKey replica, string lease, long amount)
        {
            SignedEnvelope acceptance = H.Sign(replica, MessageTypes.LeaseAccept, new LeaseAcceptance(lease, Order, new string('d', 64), 0));
            SignedEnvelope result = H.Sign(replica, MessageTypes.LeaseResult,
                new LeaseResult(lease, Kumo.Leases.CloseReason.Completed, 0, "", [new OutputFile("out/result.txt", "bafy", 6)], 0, 1));
            return H.Send(Referee, LedgerMessageTypes.ValidationReward, new ValidationRewardPayload(replica.AccountId.Value, Order, lease, amount, result, acceptance));
        }

        /// <summary>The referee (or <paramref name="signer"/>) returns the job's replication fees.</summary>
        public ApplyResult Refund(AccountKey? signer = null, string? order = null) =>
            H.Send(signer ?? Referee, LedgerMessageTypes.ReplicationRefund, new ReplicationRefundPayload(order ?? Order, "exec replication: no other connected provider of x64/cpu"));

        public void Dispose()
        {
            Referee.Dispose();
            Tenant.Dispose();
            Provider.Dispose();
        }
    }

    [Theory]
    // 30 minutes at 10 KUMO/h: 5,000,000 gross; the network's 2.25% is 112,500; the provider's part 4,887,500.
    [InlineData(10_000, 4_887_500, 0)] // on probation: all of it funds its replica
    [InlineData(667, 325_996, 4_561_504)] // 15 agreeing results: ⌈1/15⌉ of it
    [InlineData(500, 244_375, 4_643_125)] // the floor: 1 job in 20 replicated
    public void The_fee_the_provider_signed_is_split_off_its_part_into_the_replication_pool_and_the_network_takes_what_it_always_did(
        int feeBps, long pool, long provider)
    {
        using var s = new Setup(feeBps);

        Assert.Equal(pool, s.Pool);
        Assert.Equal(provider, s.H.State.PaidFrom(s.Order)); // what it received, and what a restitution would take back
        Assert.Equal(pool, s.H.State.ReplicationFeesFrom(s.Order));
        Assert.Equal(4_887_500, s.H.State.WorkValueOf(s.Order));
        Assert.Equal(100_000, s.H.State.Balance(LedgerAddress.FeePool));
        Assert.Equal(12_500, s.H.State.Balance(LedgerAddress.Reserve));
        Assert.True(s.H.State.Totals().Conserved);
        Assert.Equal(pool, s.H.State.Totals().ReplicationPool);
        s.H.Seal();
        Assert.True(s.H.Audit().Ok); // replayed from genesis, the acceptance's fee included
    }

    [Fact]
    public void A_lease_without_a_fee_keeps_its_acceptance_and_state_line_bytes()
    {
        var plain = new LeaseAcceptance("l-1", "j-0123456789ab", "00", 1);
        Assert.DoesNotContain("replicationFeeBps", JsonSerializer.Serialize(plain, KumoJson.Options), StringComparison.Ordinal);
        Assert.Contains("\"replicationFeeBps\":667", JsonSerializer.Serialize(plain with { ReplicationFeeBps = 667 }, KumoJson.Options), StringComparison.Ordinal);

        using var s = new Setup(feeBps: null, minutes: 0);
        using var fee = new Setup(feeBps: 667, minutes: 0);
        // Opened again to see them open: the setups close their leases.
        (string _, string open) = s.H.OpenLease(s.Tenant, s.Provider, 10, 10 * K);
        (string _, string charged) = fee.H.OpenLease(fee.Tenant, fee.Provider, 10, 10 * K, replicationFeeBps: 667);
        Assert.Matches($@"^l\|{open}\|j-[0-9a-f]{{12}}\|kumo1[0-9a-z]+\|10000000\|\d+\|\d+\|0$", s.H.State.StateLines().Single(l => l.StartsWith("l|", StringComparison.Ordinal)));
        Assert.EndsWith("|0|667", fee.H.State.StateLines().Single(l => l.StartsWith($"l|{charged}", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_fee_outside_what_the_genesis_allows_is_refused_and_opens_nothing()
    {
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        foreach ((int max, int fee, string error) in new[]
        {
            (0, 500, "this network's genesis takes none"),
            (5_000, 5_001, "replication fee of 5001 bps is outside 1..5000 (maxReplicationFeeBps)"),
            (10_000, 0, "replication fee of 0 bps is outside 1..10000"),
        })
        {
            var h = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with { MaxReplicationFeeBps = max });
            h.Faucet(tenant, 100);
            SignedEnvelope submission = h.Submission(tenant, 10);
            Assert.True(h.Submit(submission).Applied);
            string order = OrderIds.FromSubmissionDigest(submission.Digest());
            SignedEnvelope acceptance = h.Sign(provider, MessageTypes.LeaseAccept, new LeaseAcceptance("l-0000000000000001", order, submission.Digest(), K, fee));

            ApplyResult opened = h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-0000000000000001", h.Now, acceptance));

            Assert.False(opened.Applied);
            Assert.Contains(error, opened.Error, StringComparison.Ordinal);
            Assert.Empty(h.State.OpenLeases);
        }

        Assert.Contains("maxReplicationFeeBps", string.Join("; ", (Genesis.Devnet(0) with { MaxReplicationFeeBps = 10_001 }).Validate()), StringComparison.Ordinal);
        Assert.DoesNotContain("maxReplicationFeeBps", (Genesis.Devnet(0) with { MaxReplicationFeeBps = 0 }).ToJson(), StringComparison.Ordinal); // older genesis bytes unchanged
        Assert.Equal(10_000, Genesis.Network("kumo-test", 0, []).MaxReplicationFeeBps);
    }

    [Fact]
    public void A_replica_of_a_probation_job_is_paid_the_jobs_whole_work_from_the_pool_and_the_validators_cap_is_untouched()
    {
        using var s = new Setup(10_000);
        using AccountKey replica = AccountKey.Create();
        long value = s.H.State.WorkValueOf(s.Order);

        Assert.Contains("is more than the 4887500 the job paid for its work", s.RewardReplica(replica, "l-replica000001", value + 1).Error, StringComparison.Ordinal);
        ApplyResult paid = s.RewardReplica(replica, "l-replica000001", value);

        Assert.True(paid.Applied, paid.Error);
        Assert.Equal(value, s.H.Balance(replica)); // what the provider would have earned without the fee
        Assert.Equal(0, s.Pool);
        Assert.Equal(0, s.H.State.RewardedFor(s.Order)); // validators' cap: not used by replicas
        Assert.Equal(value, s.H.State.ReplicasPaidFor(s.Order));
        s.H.Seal();
        Assert.True(s.H.Audit().Ok);
        Assert.True(s.H.State.Totals().Conserved);
    }

    [Fact]
    public void The_pool_pays_no_more_than_it_holds_and_no_job_more_than_two_replicas()
    {
        using var s = new Setup(10_000);
        using AccountKey first = AccountKey.Create();
        using AccountKey second = AccountKey.Create();
        using AccountKey third = AccountKey.Create();
        long value = s.H.State.WorkValueOf(s.Order);

        // Another job's fees fill the pool further (a trusted provider's 5%).
        (string other, string otherLease) = s.H.OpenLease(s.Tenant, s.Provider, 10, 10 * K, replicationFeeBps: 10_000);
        s.H.Advance(TimeSpan.FromMinutes(90));
        Assert.True(s.H.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(otherLease, s.H.Now, "completed")).Applied);
        Assert.True(s.Pool > 2 * value, $"{s.Pool}");
        Assert.NotEqual(other, s.Order);

        Assert.True(s.RewardReplica(first, "l-replica000001", value).Applied);
        Assert.True(s.RewardReplica(second, "l-replica000002", value).Applied); // the tie-breaker
        ApplyResult third3 = s.RewardReplica(third, "l-replica000003", 1);
        Assert.False(third3.Applied);
        Assert.Contains("would pay more than two replicas", third3.Error, StringComparison.Ordinal);

        using var dry = new Setup(500);
        ApplyResult over = dry.RewardReplica(first, "l-replica000001", dry.H.State.WorkValueOf(dry.Order));
        Assert.False(over.Applied);
        Assert.Contains("the replication pool holds 244375 µKUMO", over.Error, StringComparison.Ordinal);
        Assert.True(dry.RewardReplica(first, "l-replica000001", dry.Pool).Applied); // what it holds, it pays
    }

    [Fact]
    public void A_job_no_replica_checked_gets_its_fees_back_once_and_only_from_the_referee()
    {
        using var s = new Setup(10_000);
        long fee = s.H.State.ReplicationFeesFrom(s.Order), before = s.H.Balance(s.Provider);

        Assert.Contains("only the genesis referee returns replication fees", s.Refund(signer: s.Provider).Error, StringComparison.Ordinal);
        ApplyResult back = s.Refund();

        Assert.True(back.Applied, back.Error);
        Assert.Equal(before + fee, s.H.Balance(s.Provider));
        Assert.Equal(0, s.Pool);
        Assert.Equal(fee, s.H.State.ReplicationReturned(s.Order));
        Assert.Contains("were already returned", s.Refund().Error, StringComparison.Ordinal);
        Assert.Contains($"q|{s.Order}|{fee}", s.H.State.StateLines());
        s.H.Seal();
        Assert.True(s.H.Audit().Ok);
        Assert.True(s.H.State.Totals().Conserved);
    }

    [Fact]
    public void Fees_that_paid_a_replica_or_are_not_final_or_were_never_paid_are_not_returned()
    {
        using var checkedJob = new Setup(10_000);
        using AccountKey replica = AccountKey.Create();
        Assert.True(checkedJob.RewardReplica(replica, "l-replica000001", checkedJob.H.State.WorkValueOf(checkedJob.Order)).Applied);
        Assert.Contains("a replica of job " + checkedJob.Order + " was paid", checkedJob.Refund().Error, StringComparison.Ordinal);

        using var free = new Setup(feeBps: null);
        Assert.Contains("paid no replication fee", free.Refund().Error, StringComparison.Ordinal);

        (string running, _) = free.H.OpenLease(free.Tenant, free.Provider, 10, 10 * K, replicationFeeBps: 10_000);
        Assert.Contains("still has open leases", free.Refund(order: running).Error, StringComparison.Ordinal);
        Assert.Contains("has an escrow", free.Refund(order: "j-000000000000").Error, StringComparison.Ordinal);
    }
}
