using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// Starts helper processes from one dedicated thread that lives as long as the agent.
/// bubblewrap's --die-with-parent uses PR_SET_PDEATHSIG, which fires when the parent <em>thread</em> exits, not the
/// parent process: a sandbox forked from a thread-pool thread would be SIGKILLed whenever the pool retires that
/// thread. Forking from a thread that never exits keeps the intended meaning: the sandbox dies with the agent.
/// </summary>
internal static class ProcessLauncher
{
    private static readonly BlockingCollection<(ProcessStartInfo Start, TaskCompletionSource<Process> Started)> Queue = [];

    static ProcessLauncher()
    {
        var thread = new Thread(Run) { IsBackground = true, Name = "kumo-sandbox-launcher" };
        thread.Start();
    }

    /// <summary>Starts the process on the launcher thread; closes its stdin so the workload reads EOF.</summary>
    public static Task<Process> StartAsync(IReadOnlyList<string> argv)
    {
        var start = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = "/",
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        // bubblewrap clears the workload's environment anyway; keep the agent's out of the helper processes too.
        start.Environment.Clear();
        start.Environment["PATH"] = BubblewrapCommandLine.DefaultPath;

        var started = new TaskCompletionSource<Process>(TaskCreationOptions.RunContinuationsAsynchronously);
        Queue.Add((start, started));
        return started.Task;
    }

    private static void Run()
    {
        foreach (var (start, started) in Queue.GetConsumingEnumerable())
        {
            try
            {
                var process = Process.Start(start) ?? throw new SandboxException($"{start.FileName} did not start");
                process.StandardInput.Close();
                started.SetResult(process);
            }
            catch (Win32Exception e)
            {
                started.SetException(new SandboxException($"cannot start {start.FileName}: {e.Message}", e));
            }
            catch (Exception e)
            {
                started.SetException(e);
            }
        }
    }
}
