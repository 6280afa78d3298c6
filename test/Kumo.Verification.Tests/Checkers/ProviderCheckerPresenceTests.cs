using Kumo.Verification.Checkers;
using Kumo.Verification.Simulation;

namespace Kumo.Verification.Tests.Checkers;

/// <summary>What the hub adds to the policy: leaving owing nothing, coming back, slashing only the accountable, probation after a slash.</summary>
public class ProviderCheckerPresenceTests
{
    private readonly SimulationClock _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_provider_that_left_owing_nothing_is_not_probed_and_its_absence_is_no_pause()
    {
        var checker = new ProviderChecker(_clock);
        checker.Arrive("p");
        for (int i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            checker.RecordLiveness("p", false);
        }

        Assert.Equal(ProviderHealth.Paused, checker.Health("p"));
        checker.Leave("p");
        Assert.Equal(ProviderHealth.Active, checker.Health("p"));
        _clock.Advance(TimeSpan.FromDays(3));
        Assert.Empty(checker.DueForLiveness());
        Assert.Empty(checker.DueForCapacity());
        Assert.Empty(checker.Sweep());

        checker.Arrive("p");
        Assert.False(checker.IsAway("p"));
        Assert.Equal(["p"], checker.DueForLiveness());
    }

    [Fact]
    public void A_standing_restored_by_a_new_hub_keeps_its_pauses_slash_and_failed_re_tests_and_starts_missed_probes_afresh()
    {
        var before = new ProviderChecker(_clock);
        before.Arrive("paused");
        before.RecordCapacity("paused", false); // one failed re-test: capacity pause, one more would slash
        before.Arrive("slashed");
        before.RecordCapacity("slashed", false);
        before.RecordCapacity("slashed", false);
        before.Arrive("fine");
        before.RecordLiveness("fine", answered: false); // two missed probes: one more would pause
        before.RecordLiveness("fine", answered: false);
        DateTimeOffset pausedSince = before.PausedSince("paused")!.Value;
        _clock.Advance(TimeSpan.FromHours(1));

        var after = new ProviderChecker(_clock); // a restarted hub
        foreach (string id in before.Providers)
        {
            after.Restore(id, before.Standing(id));
        }

        Assert.Equal(ProviderHealth.Paused, after.Health("paused"));
        Assert.Equal(pausedSince, after.PausedSince("paused"));
        Assert.Equal(ProviderHealth.Slashed, after.Health("slashed"));
        Assert.Equal(before.SlashReason("slashed"), after.SlashReason("slashed"));
        Assert.Equal(["fine", "paused"], after.DueForLiveness().Order()); // probed at once; the slashed never
        Assert.Equal(["paused"], after.DueForCapacity()); // re-tested at once while its pause holds; the rest a day on
        // Missed probes start afresh (a hub that was down cannot tell them from its own absence)...
        Assert.Equal(ProviderHealth.Active, after.RecordLiveness("fine", answered: false));
        // ...failed re-tests do not: the second in a row, across the restart, slashes.
        Assert.Equal(ProviderHealth.Slashed, after.RecordCapacity("paused", false));
        Assert.Equal("failed 2 capacity re-tests in a row", after.SlashReason("paused"));
    }

    [Fact]
    public void A_capacity_pause_held_while_away_runs_again_from_the_return()
    {
        var checker = new ProviderChecker(_clock);
        checker.Arrive("p");
        checker.RecordCapacity("p", false);
        checker.Leave("p");
        Assert.Equal(ProviderHealth.Paused, checker.Health("p"));
        _clock.Advance(TimeSpan.FromDays(2));
        Assert.Empty(checker.Sweep());

        checker.Arrive("p");
        Assert.Equal(_clock.GetUtcNow(), checker.PausedSince("p"));
    }

    [Fact]
    public void Sweep_slashes_only_the_accountable_and_a_slashed_provider_is_readmitted_on_probation()
    {
        var checker = new ProviderChecker(_clock, new CheckerRules { InitialReputation = 1 });
        checker.Arrive("owes");
        checker.Arrive("free");
        Assert.Equal(1, checker.Reputation("owes"));
        for (int i = 0; i < 3; i++)
        {
            _clock.Advance(TimeSpan.FromMinutes(1));
            checker.RecordLiveness("owes", false);
            checker.RecordLiveness("free", false);
        }

        _clock.Advance(TimeSpan.FromHours(25));
        Assert.Equal(["owes"], checker.Sweep(p => p == "owes"));
        Assert.Equal(ProviderHealth.Slashed, checker.Health("owes"));
        Assert.Equal(ProviderHealth.Paused, checker.Health("free"));

        Assert.True(checker.Readmit("owes"));
        Assert.Equal(ProviderHealth.Paused, checker.Health("owes"));
        Assert.Equal(0, checker.Reputation("owes"));
        Assert.Contains("owes", checker.DueForCapacity());
        checker.RecordLiveness("owes", true);
        Assert.Equal(ProviderHealth.Paused, checker.Health("owes")); // answering is not enough: it must pass a re-test
        Assert.Equal(ProviderHealth.Active, checker.RecordCapacity("owes", true));
        Assert.False(checker.Readmit("owes"));
    }
}
