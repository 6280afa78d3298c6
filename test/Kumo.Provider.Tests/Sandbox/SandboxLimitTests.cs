using System.Diagnostics;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>Resource limits on real cgroups: each test provokes one limit and checks how the run ends.</summary>
public sealed class SandboxLimitTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(40);
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void Cgroups_are_used_on_this_machine()
    {
        var sandbox = _dirs.CreateSandbox();

        Assert.StartsWith("bubblewrap+cgroup-", sandbox.Name, StringComparison.Ordinal);
        Assert.StartsWith("cgroup", sandbox.Capabilities.MemoryLimit, StringComparison.Ordinal);
        Assert.StartsWith("cgroup", sandbox.Capabilities.ProcessLimit, StringComparison.Ordinal);
        Assert.StartsWith("cgroup", sandbox.Capabilities.CpuLimit, StringComparison.Ordinal);
        Assert.StartsWith("polled every 1 s", sandbox.Capabilities.DiskLimit, StringComparison.Ordinal);
    }

    [Fact(Timeout = 60_000)]
    public async Task Limits_are_written_to_the_run_cgroups_which_are_removed_afterwards()
    {
        var sandbox = _dirs.CreateSandbox();
        var request = _dirs.Bash("echo started; read -t 30 line < /dev/zero; sleep 30") with
        {
            CpuMillicores = 250,
            MemoryBytes = 128L << 20,
            MaxProcesses = 77,
        };
        await using var run = await SandboxRun.StartAsync(sandbox, request);
        await run.WaitForLineAsync("started", Timeout);
        var dirs = ((BubblewrapProcess)run.Process).CgroupDirectories;

        Assert.NotEmpty(dirs);
        string Read(string file) => File.ReadAllText(dirs.Select(d => Path.Combine(d, file)).Single(File.Exists)).Trim();
        Assert.Equal("25000", Read("cpu.cfs_quota_us"));
        Assert.Equal("100000", Read("cpu.cfs_period_us"));
        Assert.Equal((128L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), Read("memory.limit_in_bytes"));
        Assert.Equal("77", Read("pids.max"));
        Assert.Contains(dirs, d => File.ReadAllText(Path.Combine(d, "cgroup.procs")).Contains(run.Process.Pid.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await run.Process.KillAsync();
        Assert.All(dirs, d => Assert.False(Directory.Exists(d), $"cgroup {d} must be removed after the run"));
        Assert.Empty(Directory.EnumerateDirectories(_dirs.Scratch));
    }

    [Fact(Timeout = 60_000)]
    public async Task Memory_hog_is_reported_as_out_of_memory()
    {
        var sandbox = _dirs.CreateSandbox();
        var request = new SandboxRequest
        {
            JobDirectory = _dirs.Job,
            Command = "python3",
            Args = ["-c", "x = 'x' * (512 << 20); print('allocated')"],
            MemoryBytes = 64L << 20,
            WallTime = TimeSpan.FromSeconds(30),
        };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.OutOfMemory, exit.Outcome);
        Assert.Equal("exceeded its memory limit of 64 MiB", exit.Detail);
        Assert.DoesNotContain("allocated", run.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Fork_bomb_hits_the_process_limit_and_the_host_stays_healthy()
    {
        var sandbox = _dirs.CreateSandbox();
        // The main shell stays alive (as a real workload would) so the bomb keeps pressing against the limit until wall time.
        var request = _dirs.Bash("bomb() { bomb | bomb & }; bomb; while :; do sleep 1; done") with
        {
            MaxProcesses = 64,
            CpuMillicores = 500,
            WallTime = TimeSpan.FromSeconds(10),
        };
        await using var run = await SandboxRun.StartAsync(sandbox, request);
        await run.WaitForLineAsync("Resource temporarily unavailable", Timeout);
        var pids = ((BubblewrapProcess)run.Process).CgroupDirectories.Single(d => d.Contains("/pids/", StringComparison.Ordinal));
        var current = int.Parse(File.ReadAllText(Path.Combine(pids, "pids.current")), System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(current, 1, 64);

        var exit = await run.WaitAsync(Timeout, "the fork bomb");

        Assert.Equal(SandboxOutcome.TimedOut, exit.Outcome);
        Assert.False(Directory.Exists(pids), "the fork bomb's cgroup must be empty and removed");
        using var probe = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
        await probe.WaitForExitAsync().WaitAsync(Timeout);
        Assert.Equal(0, probe.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Wall_time_ends_the_run_as_timed_out()
    {
        var sandbox = _dirs.CreateSandbox();
        var started = Stopwatch.StartNew();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash("trap '' TERM; sleep 60") with { WallTime = TimeSpan.FromSeconds(1) }, Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.TimedOut, exit.Outcome);
        Assert.Equal("exceeded its wall-time limit of 1 s", exit.Detail);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(20), $"the kill at wall time took {started.Elapsed}");
    }

    [Fact(Timeout = 60_000)]
    public async Task Writing_past_the_disk_limit_ends_the_run()
    {
        var sandbox = _dirs.CreateSandbox();
        var request = _dirs.Bash("mkdir -p /job/out && head -c 8M /dev/zero > /job/out/big && echo written && sleep 60") with
        {
            DiskBytes = 1L << 20,
        };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.DiskLimitExceeded, exit.Outcome);
        Assert.Equal("exceeded its disk limit of 1 MiB under /job (8 MiB used)", exit.Detail);
    }

    [Fact(Timeout = 60_000)]
    public async Task Writing_within_the_disk_limit_is_fine()
    {
        var sandbox = _dirs.CreateSandbox();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash("head -c 100K /dev/zero > /job/small") with { DiskBytes = 1L << 20 }, Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.Exited, exit.Outcome);
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task Rlimit_fallback_reports_what_it_cannot_enforce_and_still_runs()
    {
        var sandbox = _dirs.CreateSandbox(o => o with { Limits = SandboxLimitMechanism.Rlimit });

        Assert.Equal("bubblewrap+rlimit", sandbox.Name);
        Assert.StartsWith("not enforced", sandbox.Capabilities.CpuLimit, StringComparison.Ordinal);
        Assert.StartsWith("RLIMIT_AS", sandbox.Capabilities.MemoryLimit, StringComparison.Ordinal);
        Assert.StartsWith("not enforced (RLIMIT_NPROC does not apply to root", sandbox.Capabilities.ProcessLimit, StringComparison.Ordinal);
        var request = _dirs.Bash("ulimit -v") with { MemoryBytes = 256L << 20 };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["262144"], run.Stdout);
    }
}
