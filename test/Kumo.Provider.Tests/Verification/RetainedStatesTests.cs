using Kumo.Provider.Verification;
using Kumo.Tensor.Workloads;

namespace Kumo.Provider.Tests.Verification;

public class RetainedStatesTests
{
    [Fact]
    public void A_finished_jobs_kept_states_move_out_of_its_lease_and_are_found_by_step()
    {
        var clock = new Clock(DateTimeOffset.Parse("2026-11-21T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var states = new RetainedStates(Directory.CreateTempSubdirectory("kumo-retained-").FullName, clock);
        string kept = Kept(7, 14);

        states.Retain("j-0123456789ab", kept);

        Assert.Empty(Directory.GetFiles(kept)); // moved: the lease directory can go
        Assert.Equal(2, states.Count("j-0123456789ab"));
        Assert.EndsWith(WorkloadRunner.StateFileName(14), states.Find("j-0123456789ab", 14), StringComparison.Ordinal);
        Assert.Null(states.Find("j-0123456789ab", 21));
        Assert.Null(states.Find("j-ffffffffffff", 7));
    }

    [Theory]
    [InlineData("../j-0123456789ab")]
    [InlineData("j-0123456789ab/../../etc")]
    [InlineData("")]
    [InlineData("/etc")]
    public void A_job_id_that_is_not_plain_never_becomes_a_path(string jobId)
    {
        var states = new RetainedStates(Directory.CreateTempSubdirectory("kumo-retained-").FullName, TimeProvider.System);
        states.Retain("j-0123456789ab", Kept(7));

        Assert.Null(states.Find(jobId, 7));
        states.Retain(jobId, Kept(7)); // nothing is written outside
        Assert.Equal(0, states.Count(jobId));
    }

    [Fact]
    public void A_jobs_states_are_forgotten_after_the_retention_period()
    {
        var clock = new Clock(DateTimeOffset.Parse("2026-11-21T12:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var states = new RetainedStates(Directory.CreateTempSubdirectory("kumo-retained-").FullName, clock) { MaxAge = TimeSpan.FromHours(6) };
        states.Retain("j-0123456789ab", Kept(7));

        clock.Now += TimeSpan.FromHours(5);
        states.Forget();
        Assert.NotNull(states.Find("j-0123456789ab", 7));

        clock.Now += TimeSpan.FromHours(2);
        states.Forget();
        Assert.Null(states.Find("j-0123456789ab", 7));
    }

    private static string Kept(params int[] steps)
    {
        string directory = Directory.CreateTempSubdirectory("kumo-keep-").FullName;
        foreach (int step in steps)
        {
            File.WriteAllBytes(Path.Combine(directory, WorkloadRunner.StateFileName(step)), [1, 2, 3]);
        }

        return directory;
    }

    private sealed class Clock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
