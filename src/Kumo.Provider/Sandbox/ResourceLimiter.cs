namespace Kumo.Provider.Sandbox;

/// <summary>The limits of one run, as the limiter needs them.</summary>
internal sealed record ResourceLimits(int CpuMillicores, long MemoryBytes, int MaxProcesses);

/// <summary>A host-wide way of enforcing limits (cgroup v1, cgroup v2, rlimits), detected once.</summary>
internal interface IResourceLimiter
{
    /// <summary>Short name for <see cref="ISandbox.Name"/>, e.g. "cgroup-v1".</summary>
    string Name { get; }

    string CpuLimit { get; }

    string MemoryLimit { get; }

    string ProcessLimit { get; }

    /// <summary>Prepares the limits of one run (creates its cgroups). Throws <see cref="SandboxException"/> when it cannot.</summary>
    ILimitedRun Apply(string runId, ResourceLimits limits);
}

/// <summary>The limits of one run: how to start inside them, how to kill everything inside them, and cleanup.</summary>
internal interface ILimitedRun
{
    /// <summary>Directories of this run's cgroups (empty without cgroups), for diagnostics and tests.</summary>
    IReadOnlyList<string> CgroupDirectories { get; }

    /// <summary>Wraps the command line so the process is inside the limits before bubblewrap runs.</summary>
    IReadOnlyList<string> Wrap(IReadOnlyList<string> argv);

    /// <summary>SIGKILLs every process inside the limits and waits until none is left (a no-op without cgroups).</summary>
    Task KillAllAsync();

    /// <summary>True when the kernel OOM-killed a process of this run.</summary>
    bool WasOutOfMemoryKilled();

    /// <summary>Removes the run's cgroups. Call after <see cref="KillAllAsync"/>.</summary>
    Task ReleaseAsync();
}

/// <summary>Builds the shell wrapper that joins cgroups and then execs the real command, so no child can start outside them.</summary>
internal static class CgroupJoin
{
    /// <summary>
    /// <c>sh -c 'echo $$ &gt; a/cgroup.procs &amp;&amp; echo $$ &gt; b/cgroup.procs &amp;&amp; exec "$@"' kumo-sandbox argv...</c>:
    /// the shell moves itself into every cgroup and only then becomes bubblewrap, so every descendant is born inside.
    /// </summary>
    public static IReadOnlyList<string> Wrap(string shell, IEnumerable<string> procsFiles, IReadOnlyList<string> argv)
    {
        var joins = procsFiles.Select(f => $"echo $$ > {ShellQuote(f)}");
        var script = string.Join(" && ", joins.Append("exec \"$@\""));
        return [shell, "-c", script, "kumo-sandbox", .. argv];
    }

    public static string ShellQuote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}

/// <summary>Reading and writing cgroup interface files and lists of pids.</summary>
internal static class CgroupFiles
{
    public static void Write(string directory, string file, string value)
    {
        var path = Path.Combine(directory, file);
        try
        {
            File.WriteAllText(path, value);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException($"cannot write '{value}' to {path}: {e.Message}", e);
        }
    }

    public static List<int> ReadPids(string procsFile)
    {
        var pids = new List<int>();
        string text;
        try
        {
            text = File.ReadAllText(procsFile);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return pids;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (int.TryParse(line, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>Reads "key value" lines (memory.events, memory.oom_control) and returns the value of one key.</summary>
    public static long? ReadKeyedValue(string path, string key)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 2 && parts[0] == key && long.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Removes a cgroup directory, retrying while the kernel still counts exiting tasks in it.</summary>
    public static async Task RemoveAsync(string directory)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                if (Directory.Exists(directory))
                {
                    Directory.Delete(directory);
                }

                return;
            }
            catch (IOException) when (attempt < 100)
            {
                await Task.Delay(20);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A leftover empty cgroup costs nothing; it must not fail the run.
                return;
            }
        }
    }

    /// <summary>Polls until the cgroup has no process left, up to <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitEmptyAsync(string procsFile, TimeSpan timeout)
    {
        var start = Environment.TickCount64;
        while (true)
        {
            if (ReadPids(procsFile).Count == 0)
            {
                return true;
            }

            if (Environment.TickCount64 - start > timeout.TotalMilliseconds)
            {
                return false;
            }

            await Task.Delay(5);
        }
    }

    /// <summary>Finds the agent's own cgroup path in a hierarchy from /proc/self/cgroup text ("id:controllers:path").</summary>
    /// <param name="procSelfCgroup">Contents of /proc/self/cgroup.</param>
    /// <param name="controller">A v1 controller name, or null for the v2 line ("0::/path").</param>
    public static string? OwnPath(string procSelfCgroup, string? controller)
    {
        foreach (var line in procSelfCgroup.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(':', 3);
            if (parts.Length != 3)
            {
                continue;
            }

            if (controller is null ? parts[0] == "0" && parts[1].Length == 0 : parts[1].Split(',').Contains(controller))
            {
                return parts[2].Trim();
            }
        }

        return null;
    }

    /// <summary>Joins a hierarchy mount, a cgroup path like "/a/b" and more names into one directory path.</summary>
    public static string Combine(string mount, string cgroupPath, params string[] more)
    {
        var path = mount.TrimEnd('/');
        foreach (var segment in cgroupPath.Split('/', StringSplitOptions.RemoveEmptyEntries).Concat(more))
        {
            if (segment is "." or "..")
            {
                throw new SandboxException($"cgroup path '{cgroupPath}' must not contain '.' or '..'");
            }

            path += "/" + segment;
        }

        return path;
    }
}
