using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// One running sandbox: pumps its output into a channel, enforces wall time and the disk limit, kills its tree on
/// demand and reports how it ended.
/// </summary>
internal sealed class BubblewrapProcess : ISandboxedProcess
{
    private const int NoReason = -1;

    private readonly Process _process;
    private readonly ILimitedRun _limits;
    private readonly SandboxRequest _request;
    private readonly TimeProvider _time;
    private readonly string _runDirectory;
    private readonly Channel<SandboxOutput> _output;
    private readonly Task _pumps;
    private readonly CancellationTokenSource _disposing = new();
    private readonly ITimer? _wallTimer;
    private readonly ITimer? _diskTimer;
    private int _reason = NoReason;
    private int _measuring;
    private int _disposed;
    private long _diskUsed;

    public BubblewrapProcess(
        Process process,
        ILimitedRun limits,
        SandboxRequest request,
        BubblewrapSandboxOptions options,
        TimeProvider time,
        string runDirectory)
    {
        _process = process;
        _limits = limits;
        _request = request;
        _time = time;
        _runDirectory = runDirectory;
        Pid = process.Id;
        _output = Channel.CreateBounded<SandboxOutput>(new BoundedChannelOptions(Math.Max(1, options.OutputBufferLines))
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = false,
            SingleWriter = false,
        });

        var stdout = Task.Run(() => PumpAsync(process.StandardOutput.BaseStream, OutputStream.Stdout));
        var stderr = Task.Run(() => PumpAsync(process.StandardError.BaseStream, OutputStream.Stderr));
        _pumps = Task.WhenAll(stdout, stderr).ContinueWith(
            _ => _output.Writer.TryComplete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        if (request.WallTime > TimeSpan.Zero && request.WallTime != Timeout.InfiniteTimeSpan)
        {
            _wallTimer = time.CreateTimer(_ => Stop(SandboxOutcome.TimedOut), null, request.WallTime, Timeout.InfiniteTimeSpan);
        }

        if (request.DiskBytes > 0)
        {
            var interval = options.DiskPollInterval > TimeSpan.Zero ? options.DiskPollInterval : TimeSpan.FromSeconds(1);
            _diskTimer = time.CreateTimer(_ => CheckDisk(), null, interval, interval);
        }

        Completion = MonitorAsync();
    }

    public int Pid { get; }

    public ChannelReader<SandboxOutput> Output => _output.Reader;

    public Task<SandboxExit> Completion { get; }

    /// <summary>This run's cgroup directories (empty without cgroups), for diagnostics and tests.</summary>
    internal IReadOnlyList<string> CgroupDirectories => _limits.CgroupDirectories;

    public async Task KillAsync()
    {
        if (!Completion.IsCompleted)
        {
            Stop(SandboxOutcome.Killed);
        }

        await Completion;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await KillAsync();

        // Unblock pumps waiting on a full channel that nobody reads any more.
        await _disposing.CancelAsync();
        try
        {
            await _pumps.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
            // A pipe still held open by something outside the run; the process handle is released anyway.
        }

        _process.Dispose();
        _disposing.Dispose();
    }

    /// <summary>Maps how the process ended (and why we stopped it, if we did) to an outcome and one sentence.</summary>
    internal static SandboxExit Describe(SandboxOutcome? stoppedFor, int exitCode, bool outOfMemory, SandboxRequest request, long diskUsed)
    {
        switch (stoppedFor)
        {
            case SandboxOutcome.TimedOut:
                return new SandboxExit(SandboxOutcome.TimedOut, null, null, $"exceeded its wall-time limit of {FormatDuration(request.WallTime)}");
            case SandboxOutcome.DiskLimitExceeded:
                return new SandboxExit(SandboxOutcome.DiskLimitExceeded, null, null,
                    $"exceeded its disk limit of {FormatBytes(request.DiskBytes)} under /job ({FormatBytes(diskUsed)} used)");
            case SandboxOutcome.Killed:
                return new SandboxExit(SandboxOutcome.Killed, null, null, "was killed on request");
        }

        if (outOfMemory && exitCode != 0)
        {
            return new SandboxExit(SandboxOutcome.OutOfMemory, null, null, request.MemoryBytes > 0
                ? $"exceeded its memory limit of {FormatBytes(request.MemoryBytes)}"
                : "was killed by the kernel's out-of-memory killer");
        }

        // bubblewrap reports a command killed by signal N as exit status 128 + N, as shells do.
        if (exitCode is > 128 and <= 128 + 64)
        {
            var signal = exitCode - 128;
            return new SandboxExit(SandboxOutcome.Signaled, null, signal, $"was terminated by {Signals.Describe(signal)}");
        }

        return new SandboxExit(SandboxOutcome.Exited, exitCode, null,
            string.Create(CultureInfo.InvariantCulture, $"exited with code {exitCode}"));
    }

    internal static string FormatBytes(long bytes)
    {
        const long KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;
        return bytes switch
        {
            >= GiB when bytes % GiB == 0 => Invariant($"{bytes / GiB} GiB"),
            >= GiB => Invariant($"{bytes / (double)GiB:0.##} GiB"),
            >= MiB when bytes % MiB == 0 => Invariant($"{bytes / MiB} MiB"),
            >= MiB => Invariant($"{bytes / (double)MiB:0.##} MiB"),
            >= KiB => Invariant($"{bytes / (double)KiB:0.##} KiB"),
            _ => Invariant($"{bytes} bytes"),
        };
    }

    internal static string FormatDuration(TimeSpan duration) => duration switch
    {
        { TotalSeconds: < 60 } => Invariant($"{duration.TotalSeconds:0.###} s"),
        { Seconds: 0, Milliseconds: 0, TotalMinutes: < 60 } => Invariant($"{duration.TotalMinutes:0} min"),
        { Minutes: 0, Seconds: 0, Milliseconds: 0 } => Invariant($"{duration.TotalHours:0} h"),
        _ => Invariant($"{(int)duration.TotalHours}:{duration.Minutes:00}:{duration.Seconds:00}"),
    };

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private async Task<SandboxExit> MonitorAsync()
    {
        await _process.WaitForExitAsync();
        if (_wallTimer is not null)
        {
            await _wallTimer.DisposeAsync();
        }

        if (_diskTimer is not null)
        {
            await _diskTimer.DisposeAsync();
        }

        // bubblewrap's exit tears down its pid namespace; the cgroup catches anything that got away regardless.
        await _limits.KillAllAsync();
        var outOfMemory = _limits.WasOutOfMemoryKilled();
        await _limits.ReleaseAsync();
        DeleteRunDirectory();

        var reason = Volatile.Read(ref _reason);
        if (reason == NoReason && _request.DiskBytes > 0)
        {
            // A workload can write past the limit and exit between two polls; its output is still over the limit.
            var used = DirectoryUsage.Measure(_request.JobDirectory);
            if (used > _request.DiskBytes)
            {
                _diskUsed = used;
                reason = (int)SandboxOutcome.DiskLimitExceeded;
            }
        }

        return Describe(reason == NoReason ? null : (SandboxOutcome)reason, _process.ExitCode, outOfMemory, _request,
            Interlocked.Read(ref _diskUsed));
    }

    /// <summary>Records why the run is being stopped (the first reason wins) and kills the whole tree.</summary>
    private void Stop(SandboxOutcome reason)
    {
        if (Interlocked.CompareExchange(ref _reason, (int)reason, NoReason) == NoReason)
        {
            _ = KillTreeAsync();
        }
    }

    private async Task KillTreeAsync()
    {
        // The cgroup first (freeze, SIGKILL every member, thaw), then bubblewrap itself: its death SIGKILLs the
        // sandbox's pid-1 (PR_SET_PDEATHSIG) and the kernel then kills everything left in the pid namespace.
        try
        {
            await _limits.KillAllAsync();

            // Without a cgroup, killing bubblewrap alone would leave the sandbox's init to die asynchronously (by
            // PR_SET_PDEATHSIG) after bubblewrap is reaped. Killing the sandbox's processes directly instead means
            // bubblewrap exits only once its pid namespace is empty, so a run that reports Killed has no survivors.
            foreach (int pid in Descendants(Pid))
            {
                Signals.SendKill(pid);
            }

            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
        finally
        {
            try
            {
                _process.Kill();
            }
            catch (Exception e) when (e is InvalidOperationException or Win32Exception)
            {
                // Already exited.
            }
        }
    }

    /// <summary>The process tree below <paramref name="root"/>, parents before children (from procfs).</summary>
    private static List<int> Descendants(int root)
    {
        var found = new List<int>();
        var pending = new Queue<int>([root]);
        while (pending.Count > 0 && found.Count < 100_000)
        {
            int pid = pending.Dequeue();
            string children;
            try
            {
                children = File.ReadAllText($"/proc/{pid}/task/{pid}/children");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue; // gone already, or not ours to look at
            }

            foreach (string child in children.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                if (int.TryParse(child, CultureInfo.InvariantCulture, out int childPid))
                {
                    found.Add(childPid);
                    pending.Enqueue(childPid);
                }
            }
        }

        return found;
    }

    private void CheckDisk()
    {
        if (Interlocked.Exchange(ref _measuring, 1) == 1)
        {
            return;
        }

        try
        {
            var used = DirectoryUsage.Measure(_request.JobDirectory);
            if (used > _request.DiskBytes && Volatile.Read(ref _reason) == NoReason)
            {
                Interlocked.Exchange(ref _diskUsed, used);
                Stop(SandboxOutcome.DiskLimitExceeded);
            }
        }
        finally
        {
            Volatile.Write(ref _measuring, 0);
        }
    }

    private async Task PumpAsync(Stream stream, OutputStream kind)
    {
        var splitter = new OutputLineSplitter();
        var buffer = new byte[16 * 1024];
        var lines = new List<string>();
        var token = _disposing.Token;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, token)) > 0)
            {
                splitter.Push(buffer.AsSpan(0, read), lines);
                foreach (var line in lines)
                {
                    await _output.Writer.WriteAsync(new SandboxOutput(kind, line, _time.GetUtcNow()), token);
                }

                lines.Clear();
            }

            if (splitter.Flush() is { } last)
            {
                await _output.Writer.WriteAsync(new SandboxOutput(kind, last, _time.GetUtcNow()), token);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException)
        {
            // Disposed while the consumer stopped reading, or the pipe broke: nothing more to deliver.
        }
    }

    private void DeleteRunDirectory()
    {
        try
        {
            Directory.Delete(_runDirectory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only generated /etc files; a leftover is harmless.
        }
    }
}
