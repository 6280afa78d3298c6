using System.ComponentModel;
using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kumo.Provider.Inventory;

/// <summary>What a program printed and how it exited.</summary>
public sealed record CommandOutput(int ExitCode, string Stdout, string Stderr);

/// <summary>
/// The machine as the hardware detector sees it: files, programs and a few runtime facts. The real one is
/// <see cref="LocalHostSystem"/>; tests supply captured text instead.
/// </summary>
public interface IHostSystem
{
    /// <summary>Contents of a file, or null when it does not exist or cannot be read.</summary>
    string? ReadFile(string path);

    /// <summary>Runs a program found on PATH; null when it is not installed. A program that hangs is killed and reported as failed.</summary>
    Task<CommandOutput?> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken);

    /// <summary>Bytes available to the agent on the file system holding <paramref name="directory"/>.</summary>
    long FreeDiskBytes(string directory);

    /// <summary>Logical processors this process may use (affinity and cgroup CPU quota respected).</summary>
    int ProcessorCount { get; }

    /// <summary>Machine architecture in lower case, e.g. "x64", "arm64".</summary>
    string Architecture { get; }

    /// <summary>An OS description for when /etc/os-release is missing.</summary>
    string OsDescription { get; }
}

/// <summary>The machine the agent runs on.</summary>
public sealed class LocalHostSystem : IHostSystem
{
    private readonly TimeSpan _commandTimeout;

    /// <param name="commandTimeout">How long a program (nvidia-smi on a wedged driver can hang) may run; default 30 s.</param>
    public LocalHostSystem(TimeSpan? commandTimeout = null)
    {
        _commandTimeout = commandTimeout ?? TimeSpan.FromSeconds(30);
    }

    /// <remarks>.NET already counts only the CPUs in the affinity mask and rounds a cgroup CPU quota up.</remarks>
    public int ProcessorCount => Environment.ProcessorCount;

    public string Architecture => RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant();

    public string OsDescription => RuntimeInformation.OSDescription;

    public string? ReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public long FreeDiskBytes(string directory)
    {
        // The directory may not exist yet (first start): measure the closest existing ancestor, same file system.
        var existing = new DirectoryInfo(Path.GetFullPath(directory));
        while (!existing.Exists && existing.Parent is not null)
        {
            existing = existing.Parent;
        }

        return new DriveInfo(existing.FullName).AvailableFreeSpace;
    }

    public async Task<CommandOutput?> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (Win32Exception)
        {
            return null;
        }

        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_commandTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                return new CommandOutput(-1, "", $"{program} did not finish within {_commandTimeout.TotalSeconds:0} s and was killed");
            }

            return new CommandOutput(process.ExitCode, await stdout, await stderr);
        }
    }
}
