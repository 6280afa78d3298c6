using System.Diagnostics;
using Kumo.Cli.Commands;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Jobs through a real hub and real provider agents running real sandboxes.</summary>
public class JobLifecycleTests(DevnetFixture devnet) : IClassFixture<DevnetFixture>
{
    private async Task<string> SubmitAsync(string name, string yaml)
    {
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(devnet.Spec(name, yaml), null, CancellationToken.None);
        return accepted.JobId;
    }

    private async Task<JobView> WaitAsync(string jobId, Func<JobView, bool> done, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            JobView job = await devnet.Client.GetJobAsync(jobId);
            if (done(job))
            {
                return job;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                string logs = string.Join("\n", (await devnet.Client.GetLogsAsync(jobId)).Select(l => l.Text));
                throw new TimeoutException($"job {jobId} did not {what} within {seconds} s; it is {job.State}; logs:\n{logs}");
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Logs_follow_shows_lines_while_the_job_runs_and_exits_with_the_jobs_outcome()
    {
        string jobId = await SubmitAsync("follow", DevnetFixture.ExecSpec("follow", "for i in 1 2 3 4 5; do echo \"tick $i\"; sleep 0.4; done"));

        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { KumoCli.KumoDll, "job", "logs", "-f", jobId })
        {
            info.ArgumentList.Add(arg);
        }

        foreach ((string k, string v) in devnet.Environment)
        {
            info.Environment[k] = v;
        }

        using var process = Process.Start(info)!;
        string? first = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(30));
        JobView whenFirstLineArrived = await devnet.Client.GetJobAsync(jobId);
        string rest = await process.StandardOutput.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal("tick 1", first);
        Assert.False(whenFirstLineArrived.State.IsFinal(), "the first line should arrive while the job still runs");
        Assert.Contains("tick 5", rest, StringComparison.Ordinal);
        Assert.Contains("succeeded", rest, StringComparison.Ordinal);
        Assert.Equal(0, process.ExitCode);
    }

    [Fact]
    public async Task A_failing_workload_ends_failed_on_the_tenant_side_with_its_exit_code()
    {
        string jobId = await SubmitAsync("fails", DevnetFixture.ExecSpec("fails", "echo about to fail >&2; exit 7"));
        JobView job = await WaitAsync(jobId, j => j.State.IsFinal(), "end");

        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(CloseReason.WorkloadFailed, job.Failure!.Reason);
        Assert.Equal(FaultParty.Tenant, job.Failure.Party);
        Assert.Equal(7, job.Leases.Single().ExitCode);
        LogEntry line = (await devnet.Client.GetLogsAsync(jobId)).Single(l => l.Stream == LogStream.Stderr);
        Assert.Equal("about to fail", line.Text);

        KumoCli.Result cli = await KumoCli.RunAsync(["job", "logs", "-f", jobId], devnet.Environment);
        Assert.Equal(1, cli.ExitCode); // following a failed job exits 1
    }

    [Fact]
    public async Task Cancel_kills_the_whole_process_tree_of_the_workload()
    {
        string marker = "kumo-cancel-" + Guid.NewGuid().ToString("N")[..8];
        // A child that detaches into its own session and ignores SIGTERM, plus a grandchild: all must die.
        // The marker sits in each shell's command line, so /proc shows which processes belong to the workload.
        string jobId = await SubmitAsync("cancel", DevnetFixture.ExecSpec("cancel", $$"""
            setsid sh -c 'trap "" TERM; sleep 1000; : {{marker}}' &
            sh -c 'sleep 1001; : {{marker}}' &
            echo started
            sleep 1002
            """));
        await WaitAsync(jobId, j => j.State == JobState.Running, "start");
        await Eventually(() => KumoCli.ProcessesWith(marker).Count >= 3, "the workload's three shells to exist");

        KumoCli.Result cancel = await KumoCli.RunAsync(["job", "cancel", jobId], devnet.Environment);
        Assert.True(cancel.ExitCode == 0, cancel.ToString());

        JobView job = await WaitAsync(jobId, j => j.State.IsFinal(), "end");
        Assert.Equal(JobState.Cancelled, job.State);
        Assert.Equal(CloseReason.TenantCancelled, job.Leases.Single().CloseReason);
        await Eventually(() => KumoCli.ProcessesWith(marker).Count == 0, "every process of the cancelled workload to be gone");
    }

    [Fact]
    public async Task A_hostile_workload_cannot_write_outside_its_directory_or_reach_the_network()
    {
        string jobId = await SubmitAsync("hostile", DevnetFixture.ExecSpec("hostile", """
            for f in /usr/kumo-x /etc/kumo-x /kumo-x /root/kumo-x /home/kumo-x; do
              if echo x > "$f" 2>/dev/null; then echo "WROTE $f"; else echo "denied $f"; fi
            done
            if echo x > /job/ok 2>/dev/null && echo x > /tmp/ok 2>/dev/null; then echo "job and tmp writable"; fi
            if (exec 3<>/dev/tcp/1.1.1.1/80) 2>/dev/null; then echo "NETWORK OPEN"; else echo "no network"; fi
            if [ -e /etc/shadow ]; then echo "SHADOW VISIBLE"; else echo "no shadow"; fi
            ls /home /root 2>/dev/null | head -1 | grep -q . && echo "HOME VISIBLE" || echo "no home"
            """) .Replace("command: /bin/sh", "command: /bin/bash", StringComparison.Ordinal));
        JobView job = await WaitAsync(jobId, j => j.State.IsFinal(), "end");
        string[] lines = [.. (await devnet.Client.GetLogsAsync(jobId)).Where(l => l.Stream == LogStream.Stdout).Select(l => l.Text)];

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Equal(["denied /usr/kumo-x", "denied /etc/kumo-x", "denied /kumo-x", "denied /root/kumo-x", "denied /home/kumo-x",
            "job and tmp writable", "no network", "no shadow", "no home"], lines);
        Assert.False(File.Exists("/usr/kumo-x"));
    }

    [Fact]
    public async Task A_fork_bomb_is_contained_and_the_provider_runs_the_next_job()
    {
        // A bomb that keeps respawning: the process limit stops it growing.
        string marker = "kumo-bomb-" + Guid.NewGuid().ToString("N")[..8];
        string bomb = await SubmitAsync("bomb", DevnetFixture.ExecSpec("bomb", $"# {marker}\nwhile :; do b() {{ b | b & }}; b; done", timeout: "6s"));
        JobView bombed = await WaitAsync(bomb, j => j.State.IsFinal(), "end", seconds: 60);

        // It ends either at its timeout or when its own shell can no longer fork: the tenant's fault both ways.
        Assert.Equal(JobState.Failed, bombed.State);
        Assert.Equal(FaultParty.Tenant, bombed.Failure!.Party);
        await Eventually(() => KumoCli.ProcessesWith(marker).Count == 0, "every process of the bomb to be gone");

        string next = await SubmitAsync("after-bomb", DevnetFixture.ExecSpec("after-bomb", "echo still here"));
        JobView after = await WaitAsync(next, j => j.State.IsFinal(), "end");
        Assert.Equal(JobState.Succeeded, after.State);
    }

    [Fact]
    public async Task Job_get_downloads_outputs_and_verifies_them()
    {
        string jobId = await SubmitAsync("outputs", DevnetFixture.ExecSpec("outputs",
            "mkdir -p out/deep && echo one > out/a.txt && head -c 600000 /dev/urandom > out/deep/b.bin && ln -s /etc/passwd out/link.txt && mkfifo out/fifo.txt",
            extra: "  outputs: [\"out/**\"]"));
        JobView job = await WaitAsync(jobId, j => j.State.IsFinal(), "end");
        Assert.True(job.State == JobState.Succeeded, job.Failure?.Detail);

        // The symlink to a host file is never uploaded; the FIFO (length 0) uploads as empty without hanging.
        Assert.Equal(["out/a.txt", "out/deep/b.bin", "out/fifo.txt"], job.Outputs.Select(o => o.Path).Order(StringComparer.Ordinal));
        string target = Path.Combine(devnet.Directory, "get-" + jobId);
        KumoCli.Result get = await KumoCli.RunAsync(["job", "get", jobId, "-o", target], devnet.Environment);
        Assert.True(get.ExitCode == 0, get.ToString());
        Assert.Equal("one\n", await File.ReadAllTextAsync(Path.Combine(target, "out", "a.txt")));
        Assert.Equal(600_000, new FileInfo(Path.Combine(target, "out", "deep", "b.bin")).Length);
    }

    [Fact]
    public async Task A_gpu_job_lands_on_the_provider_with_a_matching_simulated_gpu_and_sees_one_device()
    {
        string jobId = await SubmitAsync("gpu", DevnetFixture.ExecSpec("gpu", "echo \"$KUMO_GPU_COUNT $NVIDIA_VISIBLE_DEVICES\"")
            .Replace("  disk: 64Mi", "  disk: 64Mi\n  gpu: { count: 1, model: \"H100*\", vram: 80Gi }", StringComparison.Ordinal)
            .Replace("maxPerHour: 1", "maxPerHour: 2", StringComparison.Ordinal));
        JobView job = await WaitAsync(jobId, j => j.State.IsFinal(), "end");

        Assert.Equal(JobState.Succeeded, job.State);
        LeaseView lease = job.Leases.Single();
        Assert.True(lease.SimulatedGpus);
        Assert.Equal("devnet-2", lease.ProviderName);
        string line = (await devnet.Client.GetLogsAsync(jobId)).Single(l => l.Stream == LogStream.Stdout).Text;
        Assert.StartsWith("1 SIM-", line, StringComparison.Ordinal);
        Assert.DoesNotContain(',', line);
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(15))
            {
                throw new TimeoutException($"waited 15 s for {what}");
            }

            await Task.Delay(100);
        }
    }
}
