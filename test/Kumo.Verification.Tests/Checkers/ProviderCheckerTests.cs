using Kumo.Verification.Checkers;
using Kumo.Verification.Simulation;

namespace Kumo.Verification.Tests.Checkers;

public class ProviderCheckerTests
{
    private readonly SimulationClock _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));

    [Fact]
    public void Three_missed_probes_pause_and_an_answer_resumes()
    {
        var checker = new ProviderChecker(_clock);
        checker.Register("p");
        Assert.Equal(["p"], checker.DueForLiveness());
        Assert.Equal(ProviderHealth.Active, checker.RecordLiveness("p", false));
        Assert.Empty(checker.DueForLiveness());
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(ProviderHealth.Active, checker.RecordLiveness("p", false));
        Assert.Equal(ProviderHealth.Paused, checker.RecordLiveness("p", false));
        double paused = checker.Reputation("p");
        Assert.Equal(ProviderHealth.Active, checker.RecordLiveness("p", true));
        Assert.True(checker.Reputation("p") > paused);
    }

    [Fact]
    public void Paused_for_more_than_a_day_is_slashed()
    {
        var checker = new ProviderChecker(_clock);
        checker.Register("gone");
        checker.Register("fine");
        for (int m = 0; m <= 24 * 60; m++)
        {
            checker.RecordLiveness("gone", false);
            checker.RecordLiveness("fine", true);
            Assert.Empty(checker.Sweep());
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        _clock.Advance(TimeSpan.FromMinutes(3)); // paused since minute 2: now more than 24 h
        Assert.Equal(["gone"], checker.Sweep());
        Assert.Equal(ProviderHealth.Slashed, checker.Health("gone"));
        Assert.Contains("paused", checker.SlashReason("gone"), StringComparison.Ordinal);
        Assert.Equal(ProviderHealth.Active, checker.Health("fine"));
    }

    [Fact]
    public void One_failed_capacity_retest_pauses_a_pass_resumes_two_in_a_row_are_slashed()
    {
        var checker = new ProviderChecker(_clock);
        checker.Register("p");
        Assert.Equal(["p"], checker.DueForCapacity());
        Assert.Equal(ProviderHealth.Paused, checker.RecordCapacity("p", false));
        _clock.Advance(TimeSpan.FromDays(1));
        Assert.Equal(["p"], checker.DueForCapacity());
        Assert.Equal(ProviderHealth.Active, checker.RecordCapacity("p", true));
        Assert.Equal(ProviderHealth.Paused, checker.RecordCapacity("p", false));
        Assert.Equal(ProviderHealth.Slashed, checker.RecordCapacity("p", false));
        Assert.Empty(checker.DueForCapacity());
        Assert.Equal(0, checker.Reputation("p"));
    }
}
