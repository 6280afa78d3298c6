using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>
/// Validators are paid from the network fee pool for the checks they do, by the referee, on their own signed reports:
/// once per task, never to the job's provider, within a cap of what the job paid.
/// </summary>
public class ValidationRewardTests
{
    private const long K = Amounts.MicrosPerKumo;

    private sealed class Setup : IDisposable
    {
        /// <summary>A network without replication fees (<see cref="Genesis.MaxReplicationFeeBps"/> 0) unless told: replicas are paid as validators.</summary>
        public Setup(int rewardBps = 2_000, int maxReplicationFeeBps = 0)
        {
            H = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with
            {
                Referee = Referee.AccountId.Value,
                ValidationRewardBps = rewardBps,
                MaxReplicationFeeBps = maxReplicationFeeBps,
            });
            H.Faucet(Tenant, 1000);
            (Order, Lease) = H.OpenLease(Tenant, Provider, maxPerHour: 10, pricePerHour: 10 * K);
            H.Advance(TimeSpan.FromMinutes(30));
            Assert.True(H.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody(Lease, H.Now, "completed")).Applied);
        }

        public LedgerHarness H { get; }

        public AccountKey Referee { get; } = AccountKey.Create();

        public AccountKey Tenant { get; } = AccountKey.Create();

        public AccountKey Provider { get; } = AccountKey.Create();

        public AccountKey Validator { get; } = AccountKey.Create();

        public string Order { get; }

        /// <summary>The job's own lease (the ledger follows it).</summary>
        public string Lease { get; }

        /// <summary>What the job paid its provider: 30 minutes at 10 KUMO/h, less the network's fee and reserve.</summary>
        public long Paid => H.State.PaidFrom(Order);

        public SignedEnvelope Report(AccountKey validator, string task, string? job = null) =>
            H.Sign(validator, ValidationMessageTypes.Report, new ValidationReport(task, job ?? Order, "segment 1 (steps 321–340)", new string('a', 64), true, null, "all agree"));

        public ApplyResult Reward(AccountKey signer, AccountKey validator, string task, long amount, SignedEnvelope? report = null) =>
            H.Send(signer, LedgerMessageTypes.ValidationReward,
                new ValidationRewardPayload(validator.AccountId.Value, Order, task, amount, report ?? Report(validator, task)));

        /// <summary>
        /// Pays <paramref name="replica"/> for an exec replica lease on its signed acceptance (of <paramref name="job"/>, at
        /// <paramref name="price"/>) and its signed result (ended <paramref name="reason"/>), the result signed by
        /// <paramref name="resultSigner"/> (the replica by default).
        /// </summary>
        public ApplyResult RewardReplica(AccountKey replica, string lease, long amount, string? job = null, long price = 0,
            Kumo.Leases.CloseReason reason = Kumo.Leases.CloseReason.Completed, AccountKey? resultSigner = null)
        {
            SignedEnvelope acceptance = H.Sign(replica, MessageTypes.LeaseAccept, new LeaseAcceptance(lease, job ?? Order, new string('d', 64), price));
            SignedEnvelope result = H.Sign(resultSigner ?? replica, MessageTypes.LeaseResult,
                new LeaseResult(lease, reason, 0, "", [new OutputFile("out/result.txt", "bafy", 6)], 0, 1));
            return H.Send(Referee, LedgerMessageTypes.ValidationReward,
                new ValidationRewardPayload(replica.AccountId.Value, Order, lease, amount, result, acceptance));
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
    public void The_referee_pays_a_validator_from_the_fee_pool_once_per_task_and_the_ledger_audits_clean()
    {
        using var s = new Setup();
        long pool = s.H.State.Balance(LedgerAddress.FeePool), before = s.H.Balance(s.Validator);
        Assert.True(pool > 0); // the settlement's network fee
        long amount = Math.Min(pool, s.Paid * 75 / 1000); // 60 of 800 steps re-executed

        ApplyResult paid = s.Reward(s.Referee, s.Validator, "vt-1", amount);

        Assert.True(paid.Applied, paid.Error);
        Assert.Equal(before + amount, s.H.Balance(s.Validator));
        Assert.Equal(pool - amount, s.H.State.Balance(LedgerAddress.FeePool));
        Assert.Equal(amount, Assert.Single(s.H.State.ValidationRewards(s.Order)).Amount);
        Assert.Equal(amount, s.H.State.RewardedFor(s.Order));
        Assert.Equal(s.H.State.PaidFrom(s.Order, s.Provider.AccountId), s.Paid); // one provider: the order's total is its pay
        ApplyResult again = s.Reward(s.Referee, s.Validator, "vt-1", 1);
        Assert.False(again.Applied);
        Assert.Contains("task vt-1 of job " + s.Order + " was already rewarded", again.Error, StringComparison.Ordinal);

        s.H.Seal();
        Assert.True(s.H.Audit().Ok);
        Assert.True(s.H.State.Totals().Conserved);
    }

    [Fact]
    public void Only_the_referee_pays_and_only_on_a_network_whose_genesis_pays_validators()
    {
        using var s = new Setup();
        ApplyResult byValidator = s.Reward(s.Validator, s.Validator, "vt-1", 1);
        Assert.False(byValidator.Applied);
        Assert.Contains("only the genesis referee pays validators", byValidator.Error, StringComparison.Ordinal);

        using var none = new Setup(rewardBps: 0);
        ApplyResult unpaid = none.Reward(none.Referee, none.Validator, "vt-1", 1);
        Assert.False(unpaid.Applied);
        Assert.Contains("pays no validation rewards", unpaid.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("validationRewardBps", (Genesis.Devnet(0) with { ValidationRewardBps = 0 }).ToJson(), StringComparison.Ordinal); // older genesis bytes unchanged
    }

    [Fact]
    public void A_new_network_genesis_pays_validators()
    {
        // `kumo hub genesis` without --devnet: a network whose validators would otherwise check for nothing.
        Genesis genesis = Genesis.Network("kumo-prod", 0, [new GenesisAllocation(AccountKey.Create().AccountId.Value, 1000)]);
        Assert.Equal(2_000, genesis.ValidationRewardBps);
        Assert.Contains("\"validationRewardBps\": 2000", genesis.ToJson(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_report_that_is_not_the_validators_own_of_that_task_and_job_is_refused()
    {
        using var s = new Setup();
        using AccountKey other = AccountKey.Create();

        ApplyResult someoneElses = s.Reward(s.Referee, s.Validator, "vt-1", 1, s.Report(other, "vt-1"));
        ApplyResult otherTask = s.Reward(s.Referee, s.Validator, "vt-1", 1, s.Report(s.Validator, "vt-2"));
        ApplyResult otherJob = s.Reward(s.Referee, s.Validator, "vt-1", 1, s.Report(s.Validator, "vt-1", job: "j-000000000000"));
        ApplyResult notAReport = s.Reward(s.Referee, s.Validator, "vt-1", 1, s.H.Sign(s.Validator, LedgerMessageTypes.Bond, new BondPayload(1)));

        Assert.Contains("must be a validation report signed by", someoneElses.Error, StringComparison.Ordinal);
        Assert.Contains("the report is of task vt-2", otherTask.Error, StringComparison.Ordinal);
        Assert.Contains("of job j-000000000000", otherJob.Error, StringComparison.Ordinal);
        Assert.Contains("must be a validation report signed by", notAReport.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_jobs_rewards_stay_within_the_cap_and_its_own_provider_is_never_paid_to_check_it()
    {
        using var s = new Setup(rewardBps: 100); // 1 % of what the job paid
        long cap = s.Paid / 100;

        Assert.True(s.Reward(s.Referee, s.Validator, "vt-1", cap - 1).Applied);
        ApplyResult over = s.Reward(s.Referee, s.Validator, "vt-2", 2);
        Assert.False(over.Applied);
        Assert.Contains($"would pass the job's cap of {cap} (100 bps of the {s.Paid} it paid its providers)", over.Error, StringComparison.Ordinal);

        ApplyResult self = s.Reward(s.Referee, s.Provider, "vt-3", 1);
        Assert.False(self.Applied);
        Assert.Contains("was paid to run job", self.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_fee_pool_never_pays_more_than_it_holds()
    {
        using var s = new Setup(rewardBps: 10_000);
        long pool = s.H.State.Balance(LedgerAddress.FeePool);

        ApplyResult tooMuch = s.Reward(s.Referee, s.Validator, "vt-1", pool + 1);

        Assert.False(tooMuch.Applied);
        Assert.Equal(pool, s.H.State.Balance(LedgerAddress.FeePool));
    }

    [Fact]
    public void An_exec_replica_is_paid_on_its_own_signed_acceptance_at_no_price_and_completed_result_of_that_lease()
    {
        using var s = new Setup();
        long before = s.H.Balance(s.Validator);

        ApplyResult paid = s.RewardReplica(s.Validator, "l-replica000001", 5);

        Assert.True(paid.Applied, paid.Error);
        Assert.Equal(before + 5, s.H.Balance(s.Validator));
        Assert.Equal("l-replica000001", Assert.Single(s.H.State.ValidationRewards(s.Order)).TaskId);
        Assert.Contains("already rewarded", s.RewardReplica(s.Validator, "l-replica000001", 1).Error, StringComparison.Ordinal);
        s.H.Seal();
        Assert.True(s.H.Audit().Ok); // the replay checks the acceptance's signature too
    }

    [Fact]
    public void Replica_evidence_of_another_job_or_lease_at_a_price_not_completed_signed_by_another_or_of_a_ledger_lease_is_refused()
    {
        using var s = new Setup();
        using AccountKey other = AccountKey.Create();

        Assert.Contains("of job j-000000000000", s.RewardReplica(s.Validator, "l-replica000001", 1, job: "j-000000000000").Error, StringComparison.Ordinal);
        Assert.Contains("was accepted at 100 µKUMO/h; a replica runs at no price", s.RewardReplica(s.Validator, "l-replica000002", 1, price: 100).Error,
            StringComparison.Ordinal);
        Assert.Contains("ended workload_failed, not completed", s.RewardReplica(s.Validator, "l-replica000003", 1, reason: Kumo.Leases.CloseReason.WorkloadFailed).Error,
            StringComparison.Ordinal);
        Assert.Contains("both signed by", s.RewardReplica(s.Validator, "l-replica000004", 1, resultSigner: other).Error, StringComparison.Ordinal);
        Assert.Contains("is a lease the ledger pays from an escrow, not a replica", s.RewardReplica(s.Validator, s.Lease, 1).Error, StringComparison.Ordinal);
        Assert.Empty(s.H.State.ValidationRewards(s.Order));
    }
}
