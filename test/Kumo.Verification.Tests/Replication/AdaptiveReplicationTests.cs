using Kumo.Tensor.Randomness;
using Kumo.Verification.Replication;

namespace Kumo.Verification.Tests.Replication;

public class AdaptiveReplicationTests
{
    private const string Class = "cpu-x86-64";

    [Fact]
    public void Every_job_is_replicated_until_ten_consecutive_agreements_then_with_probability_one_over_n()
    {
        var policy = new AdaptiveReplication();
        var random = new Philox(1, 0, 0);
        for (int i = 0; i < 10; i++)
        {
            Assert.True(policy.ShouldReplicate("a", Class, random));
            policy.RecordOutcome(Class, [new("a", "cid:x"), new("b", "cid:x")]);
        }

        Assert.Equal(10, policy.ConsecutiveAgreements("a", Class));
        Assert.Equal(0.1, policy.ReplicationProbability("a", Class), 12);
        for (int i = 0; i < 30; i++)
        {
            policy.RecordOutcome(Class, [new("a", "cid:x"), new("b", "cid:x")]);
        }

        Assert.Equal(1.0 / 20, policy.ReplicationProbability("a", Class), 12); // capped at n = 20
        int replicated = Enumerable.Range(0, 10_000).Count(_ => policy.ShouldReplicate("a", Class, random));
        Assert.InRange(replicated, 400, 600);
        Assert.Equal(1.0, policy.ReplicationProbability("a", "gpu-h100")); // trust is per hardware class
    }

    [Fact]
    public void A_disagreement_goes_to_a_tie_breaker_whose_majority_names_the_cheater()
    {
        var policy = new AdaptiveReplication();
        for (int i = 0; i < 12; i++)
        {
            policy.RecordOutcome(Class, [new("honest", "cid:x"), new("cheat", "cid:x")]);
        }

        ReplicationVerdict pending = policy.RecordOutcome(Class, [new("honest", "cid:right"), new("cheat", "cid:wrong")]);
        Assert.Equal(ReplicationOutcome.NeedsTieBreaker, pending.Outcome);
        Assert.Empty(pending.Wrong);

        ReplicationVerdict settled = policy.RecordOutcome(Class, [new("honest", "cid:right"), new("cheat", "cid:wrong"), new("third", "cid:right")]);
        Assert.Equal(ReplicationOutcome.Accepted, settled.Outcome);
        Assert.Equal("cid:right", settled.AcceptedCid);
        Assert.Equal(["cheat"], settled.Wrong);
        Assert.Equal(0, policy.ConsecutiveAgreements("cheat", Class));
        Assert.Equal(13, policy.ConsecutiveAgreements("honest", Class)); // the cheater cannot reset its honest partner
        Assert.Equal(1.0, policy.ReplicationProbability("cheat", Class));
    }

    [Fact]
    public void Three_different_outputs_are_inconclusive_nobody_is_slashed_and_everyone_loses_trust()
    {
        var policy = new AdaptiveReplication();
        for (int i = 0; i < 10; i++)
        {
            policy.RecordOutcome(Class, [new("a", "cid:x"), new("b", "cid:x")]);
        }

        ReplicationVerdict verdict = policy.RecordOutcome(Class, [new("a", "cid:1"), new("b", "cid:2"), new("c", "cid:3")]);
        Assert.Equal(ReplicationOutcome.Inconclusive, verdict.Outcome);
        Assert.Null(verdict.AcceptedCid);
        Assert.Empty(verdict.Wrong);
        Assert.Equal(0, policy.ConsecutiveAgreements("a", Class));
        Assert.Equal(0, policy.ConsecutiveAgreements("b", Class));
    }

    [Fact]
    public void Outputs_must_come_from_distinct_providers() =>
        Assert.Throws<ArgumentException>(() => new AdaptiveReplication().RecordOutcome(Class, [new("a", "cid:1"), new("a", "cid:1")]));
}
