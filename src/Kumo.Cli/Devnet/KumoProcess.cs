using System.Diagnostics;

namespace Kumo.Cli.Devnet;

/// <summary>A child `kumo` process (hub or provider) with its output in a log file.</summary>
public sealed class KumoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private KumoProcess(string name, Process process, StreamWriter log, string logPath)
    {
        Name = name;
        _process = process;
        _log = log;
        LogPath = logPath;
    }

    public string Name { get; }

    public string LogPath { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit status once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Starts `kumo ARGS` with stdout and stderr appended to <paramref name="logPath"/>.</summary>
    public static KumoProcess Start(string name, IEnumerable<string> args, string logPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        (string file, IReadOnlyList<string> prefix) = Locate();
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string arg in prefix.Concat(args))
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        if (!process.Start())
        {
            throw new CliException($"could not start {file}");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new KumoProcess(name, process, log, logPath);
    }

    /// <summary>
    /// SIGKILL to this process alone, no chance to clean up: how a crashed agent looks to the network. Its
    /// sandboxes must die on their own (bubblewrap's --die-with-parent), which is part of what tests check.
    /// </summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: false);
        }
    }

    /// <summary>Asks the process to stop (SIGTERM), then kills it if it has not exited within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        try
        {
            Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])?.WaitForExit(2000);
            using var timeout = new CancellationTokenSource(grace);
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
    }

    public async Task WaitForExitAsync(CancellationToken ct) => await _process.WaitForExitAsync(ct);

    public string Tail(int lines)
    {
        try
        {
            using var reader = new StreamReader(new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
            var all = new List<string>();
            while (reader.ReadLine() is { } line)
            {
                all.Add(line);
            }

            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            log.WriteLine(line);
        }
    }

    /// <summary>
    /// How to run kumo again: KUMO_EXE if set, else this very kumo.dll through the dotnet host that runs us
    /// (works from the CLI and from test hosts alike).
    /// </summary>
    private static (string File, IReadOnlyList<string> Prefix) Locate()
    {
        if (Environment.GetEnvironmentVariable("KUMO_EXE") is { Length: > 0 } exe)
        {
            return exe.EndsWith(".dll", StringComparison.OrdinalIgnoreCase) ? (DotnetHost(), [exe]) : (exe, []);
        }

        string dll = typeof(KumoProcess).Assembly.Location;
        return (DotnetHost(), [dll]);
    }

    private static string DotnetHost()
    {
        string? current = Environment.ProcessPath;
        if (current is not null && Path.GetFileNameWithoutExtension(current) == "dotnet")
        {
            return current;
        }

        string? root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (root is not null && File.Exists(Path.Combine(root, "dotnet")))
        {
            return Path.Combine(root, "dotnet");
        }

        return "dotnet";
    }
}
