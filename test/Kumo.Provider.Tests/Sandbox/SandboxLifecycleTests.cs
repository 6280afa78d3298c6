using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>Killing, signals and output streaming of real sandboxes.</summary>
public sealed class SandboxLifecycleTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    public static TheoryData<SandboxLimitMechanism> Mechanisms => [SandboxLimitMechanism.Auto, SandboxLimitMechanism.Rlimit];

    [Theory(Timeout = 60_000)]
    [MemberData(nameof(Mechanisms))]
    public async Task Kill_removes_the_whole_tree_including_daemons_that_ignore_sigterm(SandboxLimitMechanism mechanism)
    {
        var (marker, script) = Daemonizing("""
            trap '' TERM
            setsid bash -c "trap '' TERM; exec -a $m-a sleep 1000" &
            ( setsid bash -c "trap '' TERM; exec -a $m-b sleep 1000" & )
            nohup bash -c "exec -a $m-c sleep 1000" >/dev/null 2>&1 &
            disown -a
            while [ "$(pgrep -c -f "$m")" -lt 3 ]; do sleep 0.05; done
            echo ready
            wait
            sleep 1000
            """);
        var sandbox = _dirs.CreateSandbox(o => o with { Limits = mechanism });
        await using var run = await SandboxRun.StartAsync(sandbox, _dirs.Bash(script));
        await run.WaitForLineAsync("ready", Timeout);
        Assert.Equal(3, HostProcesses.WithMarker(marker).Count);

        await run.Process.KillAsync().WaitAsync(Timeout);
        var exit = await run.WaitAsync(Timeout, "the daemonizing script");

        Assert.Equal(SandboxOutcome.Killed, exit.Outcome);
        Assert.Equal("was killed on request", exit.Detail);
        Assert.Empty(HostProcesses.WithMarker(marker));
        await run.Process.KillAsync().WaitAsync(Timeout); // idempotent
    }

    [Fact(Timeout = 60_000)]
    public async Task A_daemon_left_behind_does_not_outlive_the_run()
    {
        var (marker, script) = Daemonizing("""
            setsid bash -c "exec -a $m sleep 1000" & disown
            while ! pgrep -f "$m" >/dev/null; do sleep 0.05; done
            echo left
            """);
        var sandbox = _dirs.CreateSandbox();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash(script), Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["left"], run.Stdout);
        Assert.Empty(HostProcesses.WithMarker(marker));
    }

    /// <summary>A unique marker, and the script with <c>$m</c> set to it; the script's text never contains the marker
    /// itself (it is assembled at run time), so only the processes renamed with <c>exec -a $m</c> carry it.</summary>
    private static (string Marker, string Script) Daemonizing(string body)
    {
        var id = Guid.NewGuid().ToString("N");
        return ("kumo-marker-" + id, $"m=\"kumo-marker-\"\"{id}\"\n{body}");
    }

    [Fact(Timeout = 60_000)]
    public async Task A_signal_death_is_reported_as_signaled()
    {
        var sandbox = _dirs.CreateSandbox();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash("kill -SEGV $$"), Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.Signaled, exit.Outcome);
        Assert.Equal(11, exit.Signal);
        Assert.Equal("was terminated by SIGSEGV", exit.Detail);
    }

    [Fact(Timeout = 60_000)]
    public async Task Long_lines_are_split_and_order_is_kept_per_stream()
    {
        var sandbox = _dirs.CreateSandbox();
        var script = "head -c 40000 /dev/zero | tr '\\0' a; echo; for i in $(seq 1 500); do echo line$i; done; printf tail";
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash(script), Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        var stdout = run.Stdout.ToList();
        Assert.Equal([16384, 16384, 7232], stdout.Take(3).Select(l => l.Length));
        Assert.Equal(Enumerable.Range(1, 500).Select(i => $"line{i}"), stdout.Skip(3).Take(500));
        Assert.Equal("tail", stdout[^1]);
        Assert.Equal(504, stdout.Count);
    }

    [Fact(Timeout = 60_000)]
    public async Task Dispose_without_reading_output_kills_and_returns()
    {
        var sandbox = _dirs.CreateSandbox(o => o with { OutputBufferLines = 4 });
        var process = await sandbox.StartAsync(_dirs.Bash("yes"), CancellationToken.None);

        await process.DisposeAsync().AsTask().WaitAsync(Timeout);

        Assert.Equal(SandboxOutcome.Killed, (await process.Completion).Outcome);
    }
}
