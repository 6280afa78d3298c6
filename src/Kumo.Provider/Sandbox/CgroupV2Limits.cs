using System.Globalization;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// Limits through the unified cgroup v2 hierarchy: one cgroup per run under a <c>kumo</c> parent with the
/// <c>memory</c>, <c>pids</c> and (when available) <c>cpu</c> controllers delegated to it.
/// </summary>
internal sealed class CgroupV2Limits : IResourceLimiter
{
    private static readonly string[] WantedControllers = ["cpu", "memory", "pids"];

    private readonly string _parent;
    private readonly string _shell;
    private readonly HashSet<string> _controllers;

    private CgroupV2Limits(string parent, string shell, HashSet<string> controllers)
    {
        _parent = parent;
        _shell = shell;
        _controllers = controllers;
    }

    public string Name => "cgroup-v2";

    public string CpuLimit => _controllers.Contains("cpu")
        ? "cgroup v2 cpu.max (per 100 ms period)"
        : "not enforced (the cgroup v2 cpu controller is not available)";

    public string MemoryLimit => "cgroup v2 memory.max and memory.swap.max = 0 (memory.oom.group kills the whole run on OOM)";

    public string ProcessLimit => "cgroup v2 pids.max";

    /// <summary>Directory of the parent cgroup, for tests and diagnostics.</summary>
    public string Parent => _parent;

    /// <summary>Finds the cgroup2 mount, creates the parent and delegates controllers to it; null with a reason when it cannot.</summary>
    public static CgroupV2Limits? TryCreate(string cgroupRoot, string? parent, string procSelfCgroup, string shell, out string reason)
    {
        var rootControllers = Path.Combine(cgroupRoot, "cgroup.controllers");
        if (!File.Exists(rootControllers))
        {
            reason = $"no cgroup2 mount at {cgroupRoot}";
            return null;
        }

        var available = ReadControllers(rootControllers);
        if (!available.Contains("memory") || !available.Contains("pids"))
        {
            reason = $"the cgroup2 mount at {cgroupRoot} offers no memory and pids controllers (they are bound to v1 hierarchies)";
            return null;
        }

        var own = CgroupFiles.OwnPath(procSelfCgroup, controller: null) ?? "/";
        var relative = parent ?? own.TrimEnd('/') + "/kumo";
        var directory = CgroupFiles.Combine(cgroupRoot, relative);
        var wanted = WantedControllers.Where(available.Contains).ToHashSet();
        try
        {
            Directory.CreateDirectory(directory);

            // Every cgroup from the root down to the parent must pass the controllers on to its children.
            var current = cgroupRoot.TrimEnd('/');
            foreach (var segment in relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Prepend(""))
            {
                current = segment.Length == 0 ? current : current + "/" + segment;
                var enabled = ReadControllers(Path.Combine(current, "cgroup.subtree_control"));
                foreach (var controller in wanted.Where(c => !enabled.Contains(c)))
                {
                    try
                    {
                        CgroupFiles.Write(current, "cgroup.subtree_control", "+" + controller);
                    }
                    catch (SandboxException) when (controller == "cpu")
                    {
                        // The cpu controller can be refused (e.g. realtime tasks present); memory and pids matter more.
                        wanted.Remove(controller);
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SandboxException)
        {
            reason = $"cannot delegate cgroup v2 controllers to {directory}: {e.Message} (a cgroup that holds processes cannot " +
                "delegate controllers; run the agent in its own leaf cgroup, e.g. systemd Delegate=yes, and point CgroupParent at a sibling)";
            return null;
        }

        reason = "";
        return new CgroupV2Limits(directory, shell, wanted);
    }

    public ILimitedRun Apply(string runId, ResourceLimits limits)
    {
        var dir = Path.Combine(_parent, runId);
        try
        {
            Directory.CreateDirectory(dir);
            if (limits.CpuMillicores > 0 && _controllers.Contains("cpu"))
            {
                const long PeriodMicros = 100_000;
                var quota = Math.Max(1_000, limits.CpuMillicores * PeriodMicros / 1000);
                CgroupFiles.Write(dir, "cpu.max", string.Create(CultureInfo.InvariantCulture, $"{quota} {PeriodMicros}"));
            }

            if (limits.MemoryBytes > 0)
            {
                CgroupFiles.Write(dir, "memory.max", limits.MemoryBytes.ToString(CultureInfo.InvariantCulture));
                if (File.Exists(Path.Combine(dir, "memory.swap.max")))
                {
                    CgroupFiles.Write(dir, "memory.swap.max", "0");
                }
            }

            if (File.Exists(Path.Combine(dir, "memory.oom.group")))
            {
                CgroupFiles.Write(dir, "memory.oom.group", "1");
            }

            CgroupFiles.Write(dir, "pids.max",
                limits.MaxProcesses > 0 ? limits.MaxProcesses.ToString(CultureInfo.InvariantCulture) : "max");
            return new Run(dir, _shell);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SandboxException)
        {
            try
            {
                Directory.Delete(dir);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Best effort: the error that matters is the one reported below.
            }

            throw e as SandboxException ?? new SandboxException($"cannot set up the cgroup of run {runId}: {e.Message}", e);
        }
    }

    private static HashSet<string> ReadControllers(string path)
    {
        try
        {
            return [.. File.ReadAllText(path).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private sealed class Run(string dir, string shell) : ILimitedRun
    {
        private readonly string _procs = Path.Combine(dir, "cgroup.procs");

        public IReadOnlyList<string> CgroupDirectories { get; } = [dir];

        public IReadOnlyList<string> Wrap(IReadOnlyList<string> argv) => CgroupJoin.Wrap(shell, [_procs], argv);

        public async Task KillAllAsync()
        {
            var hasKill = File.Exists(Path.Combine(dir, "cgroup.kill"));
            for (var round = 0; round < 20; round++)
            {
                try
                {
                    if (hasKill)
                    {
                        // Linux 5.14+: the kernel kills every task in the cgroup atomically, new forks included.
                        CgroupFiles.Write(dir, "cgroup.kill", "1");
                    }
                    else
                    {
                        CgroupFiles.Write(dir, "cgroup.freeze", "1");
                        await WaitFrozenAsync();
                        foreach (var pid in CgroupFiles.ReadPids(_procs))
                        {
                            Signals.SendKill(pid);
                        }

                        CgroupFiles.Write(dir, "cgroup.freeze", "0");
                    }
                }
                catch (SandboxException)
                {
                    // The cgroup may be gone already; the emptiness check below decides.
                }

                if (await CgroupFiles.WaitEmptyAsync(_procs, TimeSpan.FromMilliseconds(500)))
                {
                    return;
                }
            }
        }

        public bool WasOutOfMemoryKilled() =>
            CgroupFiles.ReadKeyedValue(Path.Combine(dir, "memory.events"), "oom_kill") > 0
            || CgroupFiles.ReadKeyedValue(Path.Combine(dir, "memory.events"), "oom_group_kill") > 0;

        public Task ReleaseAsync() => CgroupFiles.RemoveAsync(dir);

        private async Task WaitFrozenAsync()
        {
            var events = Path.Combine(dir, "cgroup.events");
            for (var i = 0; i < 200 && CgroupFiles.ReadKeyedValue(events, "frozen") == 0; i++)
            {
                await Task.Delay(5);
            }
        }
    }
}
