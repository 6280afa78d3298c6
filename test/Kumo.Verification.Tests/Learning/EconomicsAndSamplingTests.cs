using System.Text;
using Kumo.Crypto;
using Kumo.Verification.Learning;

namespace Kumo.Verification.Tests.Learning;

public class EconomicsAndSamplingTests
{
    [Fact]
    public void Catching_a_provider_that_cheats_on_a_tenth_of_segments_within_60_with_99_percent_needs_q_of_0_7388()
    {
        double q = SamplingEconomics.DetectionQ(0.1, 0.99, 60);

        Assert.Equal(0.73881, q, 5);
        Assert.True(SamplingEconomics.DetectionProbability(q, 0.1, 60) >= 0.99 - 1e-12);
        Assert.True(SamplingEconomics.DetectionProbability(q - 0.001, 0.1, 60) < 0.99);
    }

    [Fact]
    public void Deterrence_needs_q_above_gain_over_reward_plus_stake_and_the_required_q_is_the_larger_goal()
    {
        // Per segment: reward 1, honest compute cost 0.8 (what skipping the work gains), stake at risk 10.
        double deterrence = SamplingEconomics.DeterrenceQ(0.8, 1, 10);
        Assert.True(0.8 < deterrence * (1 + 10));
        Assert.Equal(0.8 / 11, deterrence, 12);

        Assert.Equal(SamplingEconomics.DetectionQ(0.1, 0.99, 60), SamplingEconomics.RequiredQ(0.8, 1, 10, 0.1, 0.99, 60));
        // With no stake the deterrence goal dominates: gain 0.8 of reward 1 needs q > 0.8.
        Assert.Equal(0.8, SamplingEconomics.RequiredQ(0.8, 1, 0, 0.1, 0.99, 60), 12);
        Assert.Throws<ArgumentException>(() => SamplingEconomics.RequiredQ(2, 1, 0, 0.1, 0.99, 60));
        Assert.Throws<ArgumentException>(() => SamplingEconomics.DetectionQ(0, 0.99, 60));
    }

    [Fact]
    public void The_sample_is_reproducible_about_q_of_the_segments_and_refuses_randomness_known_before_signing()
    {
        var sampler = new SegmentSampler(0.25);
        DateTimeOffset signedAt = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var beacon = new RandomnessBeacon(Encoding.ASCII.GetBytes("round 4711"), signedAt.AddSeconds(30));
        string root = new('a', 64);

        IReadOnlyList<int> sample = sampler.Sample(beacon, root, signedAt, 10_000);

        Assert.Equal(sample, sampler.Sample(beacon, root, signedAt, 10_000));
        Assert.InRange(sample.Count, 2_350, 2_650);
        Assert.NotEqual(sample, sampler.Sample(beacon, new string('b', 64), signedAt, 10_000));
        Assert.Throws<ArgumentException>(() => sampler.Sample(beacon with { RevealedAt = signedAt }, root, signedAt, 10));
    }

    [Fact]
    public void Validators_are_never_the_provider_and_one_that_misses_its_deadline_is_replaced()
    {
        using AccountKey provider = AccountKey.Create(), v1 = AccountKey.Create(), v2 = AccountKey.Create(), v3 = AccountKey.Create();
        AccountId[] bonded = [provider.AccountId, v1.AccountId, v2.AccountId, v3.AccountId];
        byte[] seed = Encoding.ASCII.GetBytes("beacon");
        DateTimeOffset now = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

        for (int segment = 0; segment < 200; segment++)
        {
            Assert.NotEqual(provider.AccountId, ValidatorSelection.Choose(bonded, provider.AccountId, seed, segment, 0, []));
        }

        var picks = Enumerable.Range(0, 300).Select(s => ValidatorSelection.Choose(bonded, provider.AccountId, seed, s, 0, [])).ToHashSet();
        Assert.Equal(3, picks.Count);

        SegmentAssignment first = SegmentAssignment.Assign(bonded, provider.AccountId, seed, 7, now, TimeSpan.FromMinutes(5));
        Assert.Throws<InvalidOperationException>(() => first.Reassign(bonded, provider.AccountId, seed, now.AddMinutes(4), TimeSpan.FromMinutes(5)));
        Assert.False(first.Accepts(first.Validator, now.AddMinutes(6)));

        SegmentAssignment second = first.Reassign(bonded, provider.AccountId, seed, now.AddMinutes(6), TimeSpan.FromMinutes(5));
        SegmentAssignment third = second.Reassign(bonded, provider.AccountId, seed, now.AddMinutes(12), TimeSpan.FromMinutes(5));

        Assert.Equal([first.Validator, second.Validator], third.Missed);
        Assert.Equal(3, new[] { first.Validator, second.Validator, third.Validator }.Distinct().Count());
        Assert.DoesNotContain(provider.AccountId, new[] { first.Validator, second.Validator, third.Validator });
        Assert.True(third.Accepts(third.Validator, now.AddMinutes(13)));
        Assert.False(third.Accepts(first.Validator, now.AddMinutes(13)));
        Assert.Throws<InvalidOperationException>(() => third.Reassign(bonded, provider.AccountId, seed, now.AddMinutes(20), TimeSpan.FromMinutes(5)));
    }
}
