using FsCheck;
using FsCheck.Fluent;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

public sealed class ReputationAndLatencyTests
{
    [Fact]
    public void A_new_provider_scores_1_and_one_failure_halves_it()
    {
        Assert.Equal(new ReputationState(1, 0), Reputation.Initial);
        Assert.Equal(1, Reputation.Score(Reputation.Initial));
        ReputationState failed = Reputation.Update(Reputation.Initial, success: false);
        Assert.Equal(new ReputationState(0.95, 1), failed);
        Assert.Equal(0.95 / 1.95, Reputation.Score(failed), 12);
        ReputationState ok = Reputation.Update(failed, success: true);
        Assert.Equal(0.95 * 0.95 + 1, ok.Alpha, 12);
        Assert.Equal(0.95, ok.Beta, 12);
        Assert.Equal(1, Reputation.Score(new ReputationState(0, 0)));
    }

    [Fact]
    public void Scores_stay_within_0_and_1_and_forget_old_outcomes()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(Gen.Elements(true, false))), outcomes =>
        {
            ReputationState s = Reputation.Initial;
            foreach (bool outcome in outcomes)
            {
                double before = Reputation.Score(s);
                s = Reputation.Update(s, outcome);
                double after = Reputation.Score(s);
                Assert.InRange(after, 0, 1);
                Assert.True(outcome ? after >= before - 1e-12 : after <= before + 1e-12);
            }

            Assert.True(s.Alpha + s.Beta <= (1 / (1 - Reputation.Lambda)) + 1 + 1e-9);
        }).QuickCheckThrowOnFailure();

        // Forty good audits after ten bad ones: the bad ones have faded.
        ReputationState state = Reputation.Initial;
        for (int i = 0; i < 10; i++)
        {
            state = Reputation.Update(state, false);
        }

        Assert.True(Reputation.Score(state) < Reputation.DisqualifyBelow);
        for (int i = 0; i < 40; i++)
        {
            state = Reputation.Update(state, true);
        }

        Assert.True(Reputation.Score(state) > 0.9);
        Assert.True(Reputation.Observations(state) > 15);
    }

    [Fact]
    public void Zone_latency_defaults_are_0_half_5_and_80_ms()
    {
        MarketBook book = Book(
            Provider("a", region: "eu", zone: "eu-1"),
            Provider("b", region: "EU", zone: "eu-1"),
            Provider("c", region: "eu", zone: "eu-2"),
            Provider("d", region: "us", zone: "eu-1"),
            Provider("x", region: "", zone: ""),
            Provider("y", region: "", zone: ""));
        var map = new ZoneLatencyMap(book);
        Assert.Equal(0, map.RttMs("a", "a"));
        Assert.Equal(0.5, map.RttMs("a", "b"));
        Assert.Equal(5, map.RttMs("a", "c"));
        Assert.Equal(80, map.RttMs("a", "d"));
        Assert.Equal(80, map.RttMs("x", "y")); // unknown places are near nobody
        Assert.Equal(80, map.RttMs("a", "ghost"));
        var measured = new MeasuredLatencyMap(map);
        measured.Set("a", "d", 12.5);
        Assert.Equal(12.5, measured.RttMs("d", "a"));
        Assert.Equal(5, measured.RttMs("a", "c"));
        Assert.Equal(0, measured.RttMs("d", "d"));
        Assert.Throws<ArgumentOutOfRangeException>(() => measured.Set("a", "b", -1));
    }
}
