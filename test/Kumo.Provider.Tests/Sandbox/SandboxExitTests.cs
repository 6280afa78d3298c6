using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>How an ended process maps to an outcome and its one-sentence detail.</summary>
public sealed class SandboxExitTests
{
    private static readonly SandboxRequest Request = new()
    {
        JobDirectory = "/job",
        Command = "x",
        MemoryBytes = 256L << 20,
        DiskBytes = 10L << 30,
        WallTime = TimeSpan.FromHours(2),
    };

    [Theory]
    [InlineData(0, SandboxOutcome.Exited, 0, null, "exited with code 0")]
    [InlineData(3, SandboxOutcome.Exited, 3, null, "exited with code 3")]
    [InlineData(128, SandboxOutcome.Exited, 128, null, "exited with code 128")]
    [InlineData(137, SandboxOutcome.Signaled, null, 9, "was terminated by SIGKILL")]
    [InlineData(139, SandboxOutcome.Signaled, null, 11, "was terminated by SIGSEGV")]
    [InlineData(255, SandboxOutcome.Exited, 255, null, "exited with code 255")]
    public void Exit_codes_map_to_exits_and_signals(int code, SandboxOutcome outcome, int? exitCode, int? signal, string detail)
    {
        Assert.Equal(new SandboxExit(outcome, exitCode, signal, detail), BubblewrapProcess.Describe(null, code, false, Request, 0));
    }

    [Fact]
    public void An_oom_kill_with_a_failing_exit_is_out_of_memory()
    {
        var exit = BubblewrapProcess.Describe(null, 137, outOfMemory: true, Request, 0);

        Assert.Equal(new SandboxExit(SandboxOutcome.OutOfMemory, null, null, "exceeded its memory limit of 256 MiB"), exit);
    }

    [Fact]
    public void A_run_that_survived_an_oom_kill_of_a_child_and_succeeded_is_exited()
    {
        Assert.Equal(SandboxOutcome.Exited, BubblewrapProcess.Describe(null, 0, outOfMemory: true, Request, 0).Outcome);
    }

    [Fact]
    public void The_reason_we_stopped_a_run_wins_over_its_exit_code()
    {
        Assert.Equal("exceeded its wall-time limit of 2 h", BubblewrapProcess.Describe(SandboxOutcome.TimedOut, 137, false, Request, 0).Detail);
        Assert.Equal("exceeded its disk limit of 10 GiB under /job (10.5 GiB used)",
            BubblewrapProcess.Describe(SandboxOutcome.DiskLimitExceeded, 137, true, Request, (long)(10.5 * (1L << 30))).Detail);
        Assert.Equal(new SandboxExit(SandboxOutcome.Killed, null, null, "was killed on request"),
            BubblewrapProcess.Describe(SandboxOutcome.Killed, 137, true, Request, 0));
    }

    [Theory]
    [InlineData(512, "512 bytes")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(64L << 20, "64 MiB")]
    [InlineData((64L << 20) + (1L << 19), "64.5 MiB")]
    [InlineData(80L << 30, "80 GiB")]
    public void Sizes_read_naturally(long bytes, string text) => Assert.Equal(text, BubblewrapProcess.FormatBytes(bytes));

    [Theory]
    [InlineData(1, "1 s")]
    [InlineData(1.5, "1.5 s")]
    [InlineData(90, "0:01:30")]
    [InlineData(600, "10 min")]
    [InlineData(7200, "2 h")]
    [InlineData(5400, "1:30:00")]
    public void Durations_read_naturally(double seconds, string text) => Assert.Equal(text, BubblewrapProcess.FormatDuration(TimeSpan.FromSeconds(seconds)));
}
