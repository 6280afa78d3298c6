using System.Diagnostics;

namespace Kumo.IntegrationTests.Support;

/// <summary>Runs the kumo CLI as a separate process, as a user would.</summary>
public static class KumoCli
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
    }

    public static string KumoDll => typeof(Kumo.Cli.ExitCodes).Assembly.Location;

    public static async Task<Result> RunAsync(IEnumerable<string> args, IDictionary<string, string>? environment = null, TimeSpan? timeout = null)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(KumoDll);
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment.Remove("KUMO_HUB");
        info.Environment.Remove("KUMO_KEY");
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"kumo {string.Join(' ', args)} did not finish in {(timeout ?? TimeSpan.FromSeconds(60)).TotalSeconds} s");
        }

        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Processes whose command line contains <paramref name="marker"/> (to prove a workload is really gone).</summary>
    public static IReadOnlyList<int> ProcessesWith(string marker)
    {
        var found = new List<int>();
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            try
            {
                string cmdline = File.ReadAllText(Path.Combine(directory, "cmdline")).Replace('\0', ' ');
                if (cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // Gone meanwhile.
            }
            catch (UnauthorizedAccessException)
            {
                // Not ours to read.
            }
        }

        return found;
    }
}
