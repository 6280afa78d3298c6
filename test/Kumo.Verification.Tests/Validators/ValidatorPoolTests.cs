using Kumo.Tensor.Randomness;
using Kumo.Verification.Validators;

namespace Kumo.Verification.Tests.Validators;

public class ValidatorPoolTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ValidatorPool Pool(double canaryRate = 0.0, double probationRate = 0.0, params string[] validators)
    {
        var pool = new ValidatorPool(canaryRate: canaryRate, probationCanaryRate: probationRate);
        foreach (string v in validators)
        {
            pool.Register(v, 1_000_000);
        }

        return pool;
    }

    [Fact]
    public void Selection_never_picks_the_provider_nor_the_same_party_twice_for_a_segment()
    {
        ValidatorPool pool = Pool(validators: ["p", "v1", "v2", "v3"]);
        var random = new Philox(3, 0, 0);
        var chosen = new List<string>();
        while (pool.Assign("p/7", "p", Now, random) is { } a)
        {
            chosen.Add(a.Validator);
        }

        Assert.Equal(["v1", "v2", "v3"], chosen.Order());
        Assert.Throws<ArgumentException>(() => pool.Register("cheap", 10));
    }

    [Fact]
    public void About_one_percent_of_assignments_are_canaries_after_probation()
    {
        var pool = new ValidatorPool();
        pool.Register("v", 1_000_000, pastAssignments: pool.ProbationAssignments);
        pool.Register("w", 1_000_000, pastAssignments: pool.ProbationAssignments);
        var random = new Philox(5, 0, 0);
        int canaries = 0;
        for (int i = 0; i < 20_000; i++)
        {
            ValidatorAssignment a = pool.Assign($"p/{i}", "p", Now, random)!;
            canaries += a.IsCanary ? 1 : 0;
            pool.Answer(a.Id, a.CanaryExpectsApproval, Now);
        }

        Assert.InRange(canaries, 140, 260);
    }

    [Fact]
    public void Three_canaries_in_four_carry_a_wrong_claim_so_approving_everything_is_caught_within_probation()
    {
        ValidatorPool pool = Pool(canaryRate: 1.0, probationRate: 1.0, validators: ["v1", "v2"]);
        var random = new Philox(11, 0, 0);
        int wrong = 0;
        const int n = 8_000;
        for (int i = 0; i < n; i++)
        {
            ValidatorAssignment a = pool.Assign($"p/{i}", "p", Now, random)!;
            wrong += a.CanaryExpectsApproval ? 0 : 1;
            pool.Answer(a.Id, a.CanaryExpectsApproval, Now);
        }

        Assert.InRange(wrong / (double)n, 0.73, 0.77);

        // A validator that approves everything, at the default rates, over its 40 probation assignments: caught in
        // (nearly) every run; the bound in WrongClaimShare's remarks is 1 − 0.8125^40 ≈ 0.9998.
        int caught = 0;
        for (int run = 0; run < 200; run++)
        {
            var fresh = new ValidatorPool();
            fresh.Register("lazy", 1_000_000);
            var draws = new Philox((ulong)run, 1, 0);
            for (int i = 0; i < fresh.ProbationAssignments; i++)
            {
                ValidatorAssignment a = fresh.Assign($"p/{i}", "p", Now, draws)!;
                if (fresh.Answer(a.Id, approves: true, Now) == AnswerOutcome.Slashed)
                {
                    caught++;
                    break;
                }
            }
        }

        Assert.True(caught >= 198, $"caught in {caught} of 200 runs");
    }

    [Fact]
    public void Approving_a_wrong_canary_or_rejecting_a_right_one_is_slashed_answering_right_is_rewarded()
    {
        ValidatorPool pool = Pool(canaryRate: 1.0, probationRate: 1.0, validators: ["v1", "v2"]);
        var random = new Philox(9, 0, 0);
        int slashed = 0, passed = 0;
        for (int i = 0; i < 40 && pool.Active.Count == 2; i++)
        {
            ValidatorAssignment a = pool.Assign($"p/{i}", "p", Now, random)!;
            Assert.True(a.IsCanary);
            bool approves = a.Validator == "v1" || a.CanaryExpectsApproval; // v1 approves everything; v2 answers right
            AnswerOutcome outcome = pool.Answer(a.Id, approves, Now);
            if (outcome == AnswerOutcome.Slashed)
            {
                slashed++;
                Assert.Equal("v1", a.Validator);
                Assert.False(a.CanaryExpectsApproval);
            }
            else if (outcome == AnswerOutcome.CanaryPassed)
            {
                passed++;
            }
        }

        Assert.Equal(1, slashed);
        Assert.Equal(ValidatorStatus.Slashed, pool.Status("v1"));
        Assert.Equal(0, pool.Bond("v1"));
        Assert.Equal(ValidatorStatus.Active, pool.Status("v2"));
        Assert.True(passed > 0);
    }

    [Fact]
    public void A_validator_that_never_answers_is_replaced_after_the_deadline_and_loses_reputation()
    {
        ValidatorPool pool = Pool(validators: ["silent", "v2", "v3"]);
        var random = new Philox(1, 0, 0);
        ValidatorAssignment? first = null;
        for (int i = 0; first?.Validator != "silent"; i++)
        {
            first = pool.Assign($"p/{i}", "p", Now, random)!;
            if (first.Validator != "silent")
            {
                pool.Answer(first.Id, true, Now);
            }
        }

        double before = pool.Reputation("silent");
        Assert.Empty(pool.Expire(Now + pool.Deadline, random)); // not late yet
        IReadOnlyList<ValidatorAssignment> replacements = pool.Expire(Now + pool.Deadline + TimeSpan.FromSeconds(1), random);
        ValidatorAssignment replacement = Assert.Single(replacements);
        Assert.Equal(first.SegmentKey, replacement.SegmentKey);
        Assert.NotEqual("silent", replacement.Validator);
        Assert.Equal(before - ValidatorPool.MissPenalty, pool.Reputation("silent"), 12);
        Assert.Equal(1, pool.Missed("silent"));
        Assert.Equal(AnswerOutcome.Ignored, pool.Answer(first.Id, true, Now + TimeSpan.FromHours(1)));
        Assert.NotEqual(ValidatorStatus.Slashed, pool.Status("silent"));
    }

    [Fact]
    public void Probation_q_is_the_smallest_that_catches_ten_percent_cheating_within_sixty_segments_at_99_percent()
    {
        double q = SegmentSampling.MinimalQ(0.1, 60, 0.99);
        Assert.InRange(q, 0.738, 0.739);
        var sampling = new SegmentSampling();
        Assert.True(SegmentSampling.DetectionWithin(sampling.ProbationQ, 0.1, 60) >= 0.99);
        Assert.True(SegmentSampling.DetectionWithin(1.0, 0.1, 60) < 0.999); // even q = 1 is 1 − 0.9^60
        for (int i = 0; i < 60; i++)
        {
            Assert.Equal(0.74, sampling.Probability("p"));
            sampling.RecordDelivered("p");
        }

        Assert.Equal(0.05, sampling.Probability("p"));
        sampling.RecordCaught("p");
        Assert.Equal(0.74, sampling.Probability("p"));
    }
}
