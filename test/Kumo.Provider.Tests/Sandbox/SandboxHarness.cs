using System.Collections.Concurrent;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>A temporary directory tree for one test: a job directory and a scratch directory, removed at the end.</summary>
internal sealed class TestDirectories : IDisposable
{
    public TestDirectories()
    {
        Root = Path.Combine(Path.GetTempPath(), "kumo-sandbox-tests", Guid.NewGuid().ToString("N"));
        Job = Path.Combine(Root, "job");
        Scratch = Path.Combine(Root, "scratch");
        Directory.CreateDirectory(Job);
    }

    public string Root { get; }

    public string Job { get; }

    public string Scratch { get; }

    public BubblewrapSandbox CreateSandbox(Func<BubblewrapSandboxOptions, BubblewrapSandboxOptions>? configure = null)
    {
        var options = new BubblewrapSandboxOptions { ScratchDirectory = Scratch };
        return new BubblewrapSandbox(configure?.Invoke(options) ?? options, TimeProvider.System);
    }

    /// <summary>A request running a bash script in the job directory.</summary>
    public SandboxRequest Bash(string script) => new()
    {
        JobDirectory = Job,
        Command = "bash",
        Args = ["-c", script],
        WallTime = TimeSpan.FromSeconds(60),
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>A started sandbox whose output is drained as it comes, with bounded waits whose failures say what was awaited.</summary>
internal sealed class SandboxRun : IAsyncDisposable
{
    private readonly ConcurrentQueue<SandboxOutput> _lines = new();
    private readonly List<(Func<SandboxOutput, bool> Match, TaskCompletionSource Seen)> _waiters = [];
    private readonly Lock _lock = new();
    private readonly Task _drain;

    private SandboxRun(ISandboxedProcess process)
    {
        Process = process;
        _drain = Task.Run(DrainAsync);
    }

    public ISandboxedProcess Process { get; }

    public IReadOnlyList<SandboxOutput> Lines => [.. _lines];

    public IEnumerable<string> Stdout => _lines.Where(l => l.Stream == OutputStream.Stdout).Select(l => l.Text);

    public string AllText => string.Join('\n', _lines.Select(l => $"{l.Stream}: {l.Text}"));

    public static async Task<SandboxRun> StartAsync(ISandbox sandbox, SandboxRequest request) =>
        new(await sandbox.StartAsync(request, CancellationToken.None));

    /// <summary>Runs to completion within <paramref name="timeout"/> and returns the exit once every line is collected.</summary>
    public static async Task<(SandboxExit Exit, SandboxRun Run)> RunAsync(ISandbox sandbox, SandboxRequest request, TimeSpan timeout)
    {
        var run = await StartAsync(sandbox, request);
        var exit = await run.WaitAsync(timeout, $"'{request.Command} {string.Join(' ', request.Args)}'");
        return (exit, run);
    }

    public async Task<SandboxExit> WaitAsync(TimeSpan timeout, string what)
    {
        try
        {
            var exit = await Process.Completion.WaitAsync(timeout);
            await _drain.WaitAsync(timeout);
            return exit;
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"sandbox running {what} (pid {Process.Pid}) did not finish within {timeout}; output so far:\n{AllText}");
        }
    }

    public async Task WaitForLineAsync(string text, TimeSpan timeout)
    {
        TaskCompletionSource seen;
        lock (_lock)
        {
            if (_lines.Any(l => l.Text.Contains(text, StringComparison.Ordinal)))
            {
                return;
            }

            seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((l => l.Text.Contains(text, StringComparison.Ordinal), seen));
        }

        try
        {
            await seen.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"sandbox pid {Process.Pid} did not print '{text}' within {timeout}; output so far:\n{AllText}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        await _drain.WaitAsync(TimeSpan.FromSeconds(10));
    }

    private async Task DrainAsync()
    {
        await foreach (var line in Process.Output.ReadAllAsync())
        {
            lock (_lock)
            {
                _lines.Enqueue(line);
                foreach (var waiter in _waiters.Where(w => w.Match(line)).ToList())
                {
                    waiter.Seen.TrySetResult();
                    _waiters.Remove(waiter);
                }
            }
        }
    }
}

/// <summary>Finds host processes by a marker in their command line.</summary>
internal static class HostProcesses
{
    public static List<int> WithMarker(string marker)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid))
            {
                continue;
            }

            try
            {
                var cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }
}
