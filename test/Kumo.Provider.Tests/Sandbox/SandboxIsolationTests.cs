using System.Net;
using System.Net.Sockets;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>What the workload can see and touch: real bubblewrap, real namespaces.</summary>
public sealed class SandboxIsolationTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly TestDirectories _dirs = new();

    public void Dispose() => _dirs.Dispose();

    [Fact]
    public void Bubblewrap_is_installed()
    {
        Assert.True(File.Exists("/usr/bin/bwrap"), "bubblewrap is required for these tests: apt-get install -y bubblewrap");
    }

    [Fact(Timeout = 60_000)]
    public async Task Stdout_stderr_and_exit_code_are_reported()
    {
        var sandbox = _dirs.CreateSandbox();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash("echo out; echo err >&2; printf partial; exit 3"), Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.Exited, exit.Outcome);
        Assert.Equal(3, exit.ExitCode);
        Assert.Equal("exited with code 3", exit.Detail);
        Assert.Contains(run.Lines, l => l is { Stream: OutputStream.Stdout, Text: "out" });
        Assert.Contains(run.Lines, l => l is { Stream: OutputStream.Stderr, Text: "err" });
        Assert.Contains(run.Lines, l => l is { Stream: OutputStream.Stdout, Text: "partial" });
        Assert.Equal(3, run.Lines.Count);
        Assert.All(run.Lines, l => Assert.True(DateTimeOffset.UtcNow - l.Timestamp < TimeSpan.FromMinutes(1)));
    }

    [Fact(Timeout = 60_000)]
    public async Task Workload_runs_as_an_unprivileged_user_without_capabilities_in_job()
    {
        var sandbox = _dirs.CreateSandbox();
        var (exit, run) = await SandboxRun.RunAsync(sandbox,
            _dirs.Bash("id -u; id -g; id -un; pwd; hostname; grep -E 'CapEff|NoNewPrivs' /proc/self/status; echo pid=$$"), Timeout);
        await using var _ = run;

        Assert.Equal(SandboxOutcome.Exited, exit.Outcome);
        Assert.Equal(["1000", "1000", "kumo", "/job", "kumo-sandbox", "CapEff:\t0000000000000000", "NoNewPrivs:\t1", "pid=2"], run.Stdout);
        Assert.True(sandbox.UsesUserNamespace);
    }

    [Fact(Timeout = 60_000)]
    public async Task Only_job_and_tmp_are_writable()
    {
        var sandbox = _dirs.CreateSandbox();
        var script = """
            for p in /usr/x /etc/x /x /bin/x /etc/passwd /proc/x /job/ok /tmp/ok; do
              if touch "$p" 2>/dev/null; then echo "writable $p"; else echo "refused $p"; fi
            done
            """;
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash(script), Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(
            ["refused /usr/x", "refused /etc/x", "refused /x", "refused /bin/x", "refused /etc/passwd", "refused /proc/x", "writable /job/ok", "writable /tmp/ok"],
            run.Stdout);
        Assert.True(File.Exists(Path.Combine(_dirs.Job, "ok")), "a file written to /job must land in the host's job directory");
    }

    [Fact(Timeout = 60_000)]
    public async Task Host_secrets_and_paths_are_invisible()
    {
        // A file in the host's /tmp: the sandbox's /tmp is private, so it must not show up there.
        var hostSecret = Path.Combine(Path.GetTempPath(), "kumo-host-secret-" + Guid.NewGuid().ToString("N"));
        await File.WriteAllTextAsync(hostSecret, "secret");
        try
        {
            var sandbox = _dirs.CreateSandbox();
            var script = $"""
                for p in /root /home /work /etc/shadow /etc/gshadow /etc/ssh /etc/sudoers /etc/ssl/private /var /opt /srv /mnt /run /sys /boot {hostSecret}; do
                  [ -e "$p" ] && echo "visible $p"
                done
                echo "root: $(ls -A / | tr '\n' ' ')"
                echo "etc: $(ls -A /etc | tr '\n' ' ')"
                getent passwd root kumo | cut -d: -f1,3
                exit 0
                """;
            var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash(script), Timeout);
            await using var _ = run;

            Assert.Equal(0, exit.ExitCode);
            Assert.DoesNotContain(run.Stdout, l => l.StartsWith("visible", StringComparison.Ordinal));
            var root = run.Stdout.Single(l => l.StartsWith("root: ", StringComparison.Ordinal))[6..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            string[] allowedRoot = ["bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "dev", "proc", "tmp", "job"];
            Assert.All(root, e => Assert.Contains(e, allowedRoot));
            var etc = run.Stdout.Single(l => l.StartsWith("etc: ", StringComparison.Ordinal))[5..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains("passwd", etc);
            Assert.DoesNotContain("shadow", etc);
            Assert.DoesNotContain("sudoers", etc);
            Assert.True(etc.Length < 25, $"/etc must be curated, found {etc.Length} entries: {string.Join(' ', etc)}");
            Assert.Contains("root:0", run.Stdout);
            Assert.Contains("kumo:1000", run.Stdout);
        }
        finally
        {
            File.Delete(hostSecret);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Without_network_neither_host_loopback_nor_internet_is_reachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var sandbox = _dirs.CreateSandbox();
        var script = $"""
            if (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null; then echo "loopback connected"; else echo "loopback refused"; fi
            if timeout 5 bash -c 'exec 3<>/dev/tcp/1.1.1.1/53' 2>/dev/null; then echo "internet connected"; else echo "internet refused"; fi
            """;
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash(script), Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["loopback refused", "internet refused"], run.Stdout);
    }

    [Fact(Timeout = 60_000)]
    public async Task With_network_the_host_loopback_is_reachable()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var sandbox = _dirs.CreateSandbox();
        var request = _dirs.Bash($"(exec 3<>/dev/tcp/127.0.0.1/{port}) && echo connected; test -e /etc/resolv.conf && echo resolv") with { Network = true };
        var accept = listener.AcceptTcpClientAsync();
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Contains("connected", run.Stdout);
        using var client = await accept.WaitAsync(Timeout);
    }

    [Fact(Timeout = 60_000)]
    public async Task Environment_is_exactly_the_requested_one()
    {
        var sandbox = _dirs.CreateSandbox();
        var given = new Dictionary<string, string>
        {
            ["A"] = "1",
            ["B"] = "two words",
            ["PATH"] = "/usr/bin:/bin",
            ["HOME"] = "/job",
            ["TMPDIR"] = "/tmp",
        };
        Environment.SetEnvironmentVariable("KUMO_HOST_ONLY", "leak");
        var request = new SandboxRequest { JobDirectory = _dirs.Job, Command = "/usr/bin/env", Environment = given };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(given.Select(kv => $"{kv.Key}={kv.Value}").Order(StringComparer.Ordinal), run.Stdout.Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Missing_path_home_and_tmpdir_get_defaults()
    {
        var sandbox = _dirs.CreateSandbox();
        var request = new SandboxRequest
        {
            JobDirectory = _dirs.Job,
            Command = "env",
            Environment = new Dictionary<string, string> { ["ONLY"] = "this" },
        };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(
            ["HOME=/job", "ONLY=this", "PATH=" + BubblewrapCommandLine.DefaultPath, "TMPDIR=/tmp"],
            run.Stdout.Order(StringComparer.Ordinal));
    }

    [Fact(Timeout = 60_000)]
    public async Task Simulated_gpus_are_announced_only_through_variables()
    {
        var sandbox = _dirs.CreateSandbox();
        var gpu = new Kumo.Hardware.GpuDevice(0, "nvidia", "H100-80GB", 80L << 30, "SIM-abc-0", null, null, null, Simulated: true);
        var request = _dirs.Bash("echo $CUDA_VISIBLE_DEVICES $NVIDIA_VISIBLE_DEVICES $KUMO_SIMULATED_GPUS; ls /dev | grep -c nvidia") with { Gpus = [gpu] };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(["SIM-abc-0 SIM-abc-0 1", "0"], run.Stdout);
        Assert.Equal(1, exit.ExitCode); // grep -c exits 1 when it counts nothing
    }

    [Fact(Timeout = 60_000)]
    public async Task Read_only_mounts_are_visible_and_read_only()
    {
        var inputs = Path.Combine(_dirs.Root, "inputs");
        Directory.CreateDirectory(inputs);
        await File.WriteAllTextAsync(Path.Combine(inputs, "data.txt"), "hello");
        var sandbox = _dirs.CreateSandbox();
        var request = _dirs.Bash("cat /job/inputs/data.txt; echo; touch /job/inputs/x 2>/dev/null && echo writable || echo read-only") with
        {
            ReadOnlyMounts = [new SandboxMount(inputs, "/job/inputs")],
        };
        var (exit, run) = await SandboxRun.RunAsync(sandbox, request, Timeout);
        await using var _ = run;

        Assert.Equal(["hello", "read-only"], run.Stdout);
        Assert.Equal(0, exit.ExitCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_dedicated_host_user_owns_what_the_workload_writes()
    {
        var sandbox = _dirs.CreateSandbox(o => o with { HostUserId = 65534, HostGroupId = 65534 });
        var (exit, run) = await SandboxRun.RunAsync(sandbox, _dirs.Bash("id -u; echo data > /job/out.txt"), Timeout);
        await using var _ = run;

        Assert.Equal(0, exit.ExitCode);
        Assert.Equal(["1000"], run.Stdout);
        var (_, owner) = await RunHostAsync("stat", "-c", "%u", Path.Combine(_dirs.Job, "out.txt"));
        Assert.Equal("65534", owner.Trim());
    }

    [Fact(Timeout = 60_000)]
    public async Task Missing_bubblewrap_is_an_actionable_error()
    {
        var sandbox = _dirs.CreateSandbox(o => o with { BubblewrapPath = "/nonexistent/bwrap" });

        var error = await Assert.ThrowsAsync<SandboxException>(() => sandbox.StartAsync(_dirs.Bash("true"), CancellationToken.None));
        Assert.Contains("apt-get install -y bubblewrap", error.Message, StringComparison.Ordinal);
        Assert.False(sandbox.Capabilities.Isolation);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_missing_job_directory_or_mount_is_refused()
    {
        var sandbox = _dirs.CreateSandbox();

        var noJob = await Assert.ThrowsAsync<SandboxException>(() =>
            sandbox.StartAsync(_dirs.Bash("true") with { JobDirectory = "/nonexistent/job" }, CancellationToken.None));
        Assert.Contains("/nonexistent/job", noJob.Message, StringComparison.Ordinal);
        var noMount = await Assert.ThrowsAsync<SandboxException>(() => sandbox.StartAsync(
            _dirs.Bash("true") with { ReadOnlyMounts = [new SandboxMount("/nonexistent/in", "/job/in")] }, CancellationToken.None));
        Assert.Contains("/nonexistent/in", noMount.Message, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout)> RunHostAsync(string file, params string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, stdout);
    }
}
