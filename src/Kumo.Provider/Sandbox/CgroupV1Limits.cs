namespace Kumo.Provider.Sandbox;

/// <summary>
/// Limits through cgroup v1 hierarchies (<c>memory</c>, <c>pids</c>, and when mounted <c>cpu</c> and <c>freezer</c>),
/// one cgroup per run in each, under a <c>kumo</c> parent.
/// </summary>
internal sealed class CgroupV1Limits : IResourceLimiter
{
    private static readonly string[] RequiredControllers = ["memory", "pids"];
    private static readonly string[] OptionalControllers = ["cpu", "freezer"];

    private readonly Dictionary<string, string> _parents;
    private readonly string _shell;
    private readonly bool _swapAccounting;

    private CgroupV1Limits(Dictionary<string, string> parents, string shell)
    {
        _parents = parents;
        _shell = shell;
        _swapAccounting = File.Exists(Path.Combine(parents["memory"], "memory.memsw.limit_in_bytes"));
    }

    public string Name => "cgroup-v1";

    public string CpuLimit => _parents.ContainsKey("cpu")
        ? "cgroup v1 cpu.cfs_quota_us (per 100 ms period)"
        : "not enforced (no cgroup v1 cpu hierarchy mounted)";

    public string MemoryLimit => _swapAccounting
        ? "cgroup v1 memory.limit_in_bytes and memory.memsw.limit_in_bytes (no swap beyond the limit)"
        : "cgroup v1 memory.limit_in_bytes (swap not limited: swap accounting is off)";

    public string ProcessLimit => "cgroup v1 pids.max";

    /// <summary>Directory of each controller's parent cgroup, for tests and diagnostics.</summary>
    public IReadOnlyDictionary<string, string> Parents => _parents;

    /// <summary>Finds the v1 hierarchies and creates the parent cgroups; null with a reason when v1 is not usable here.</summary>
    public static CgroupV1Limits? TryCreate(string cgroupRoot, string? parent, string procSelfCgroup, string shell, out string reason)
    {
        var parents = new Dictionary<string, string>();
        foreach (var controller in RequiredControllers.Concat(OptionalControllers))
        {
            var required = RequiredControllers.Contains(controller);
            var mount = Path.Combine(cgroupRoot, controller);
            if (!File.Exists(Path.Combine(mount, "cgroup.procs")) || File.Exists(Path.Combine(mount, "cgroup.controllers")))
            {
                if (required)
                {
                    reason = $"no cgroup v1 '{controller}' hierarchy at {mount}";
                    return null;
                }

                continue;
            }

            var own = CgroupFiles.OwnPath(procSelfCgroup, controller) ?? "/";
            var directory = parent is null ? CgroupFiles.Combine(mount, own, "kumo") : CgroupFiles.Combine(mount, parent);
            try
            {
                Directory.CreateDirectory(directory);
                if (!File.Exists(Path.Combine(directory, "cgroup.procs")))
                {
                    throw new IOException("the directory is not a cgroup");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (required)
                {
                    reason = $"cannot create cgroup {directory}: {e.Message}";
                    return null;
                }

                continue;
            }

            parents[controller] = directory;
        }

        reason = "";
        return new CgroupV1Limits(parents, shell);
    }

    public ILimitedRun Apply(string runId, ResourceLimits limits)
    {
        var dirs = new Dictionary<string, string>();
        try
        {
            foreach (var (controller, parent) in _parents)
            {
                var dir = Path.Combine(parent, runId);
                Directory.CreateDirectory(dir);
                dirs[controller] = dir;
            }

            if (limits.CpuMillicores > 0 && dirs.TryGetValue("cpu", out var cpu))
            {
                const long PeriodMicros = 100_000;
                var quota = Math.Max(1_000, limits.CpuMillicores * PeriodMicros / 1000);
                CgroupFiles.Write(cpu, "cpu.cfs_period_us", PeriodMicros.ToString(System.Globalization.CultureInfo.InvariantCulture));
                CgroupFiles.Write(cpu, "cpu.cfs_quota_us", quota.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            if (limits.MemoryBytes > 0)
            {
                var bytes = limits.MemoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture);
                CgroupFiles.Write(dirs["memory"], "memory.limit_in_bytes", bytes);
                if (_swapAccounting)
                {
                    // memory+swap equal to memory: the workload cannot spill into swap.
                    CgroupFiles.Write(dirs["memory"], "memory.memsw.limit_in_bytes", bytes);
                }
            }

            CgroupFiles.Write(dirs["pids"], "pids.max",
                limits.MaxProcesses > 0 ? limits.MaxProcesses.ToString(System.Globalization.CultureInfo.InvariantCulture) : "max");

            return new Run(dirs, _shell);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or SandboxException)
        {
            foreach (var dir in dirs.Values)
            {
                try
                {
                    Directory.Delete(dir);
                }
                catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
                {
                    // Best effort: the error that matters is the one reported below.
                }
            }

            throw e as SandboxException ?? new SandboxException($"cannot set up the cgroups of run {runId}: {e.Message}", e);
        }
    }

    private sealed class Run(Dictionary<string, string> dirs, string shell) : ILimitedRun
    {
        private readonly string _procs = Path.Combine(dirs["pids"], "cgroup.procs");

        public IReadOnlyList<string> CgroupDirectories { get; } = [.. dirs.Values];

        public IReadOnlyList<string> Wrap(IReadOnlyList<string> argv) =>
            CgroupJoin.Wrap(shell, dirs.Values.Select(d => Path.Combine(d, "cgroup.procs")), argv);

        public async Task KillAllAsync()
        {
            dirs.TryGetValue("freezer", out var freezer);
            for (var round = 0; round < 20; round++)
            {
                try
                {
                    if (freezer is not null)
                    {
                        // Frozen tasks cannot fork, so the pid list below is complete when it is read.
                        CgroupFiles.Write(freezer, "freezer.state", "FROZEN");
                        await WaitFrozenAsync(freezer);
                    }

                    foreach (var pid in CgroupFiles.ReadPids(_procs))
                    {
                        Signals.SendKill(pid);
                    }
                }
                catch (SandboxException)
                {
                    // The cgroup may be gone already; the emptiness check below decides.
                }
                finally
                {
                    if (freezer is not null)
                    {
                        try
                        {
                            CgroupFiles.Write(freezer, "freezer.state", "THAWED");
                        }
                        catch (SandboxException)
                        {
                            // Same as above.
                        }
                    }
                }

                if (await CgroupFiles.WaitEmptyAsync(_procs, TimeSpan.FromMilliseconds(500)))
                {
                    return;
                }
            }
        }

        public bool WasOutOfMemoryKilled()
        {
            var control = Path.Combine(dirs["memory"], "memory.oom_control");
            var kills = CgroupFiles.ReadKeyedValue(control, "oom_kill");
            if (kills is not null)
            {
                return kills > 0;
            }

            // Kernels before 4.13 have no oom_kill counter; under_oom is the best remaining sign.
            return CgroupFiles.ReadKeyedValue(control, "under_oom") > 0;
        }

        public async Task ReleaseAsync()
        {
            foreach (var dir in dirs.Values)
            {
                await CgroupFiles.RemoveAsync(dir);
            }
        }

        private static async Task WaitFrozenAsync(string freezer)
        {
            var state = Path.Combine(freezer, "freezer.state");
            for (var i = 0; i < 200; i++)
            {
                try
                {
                    if (File.ReadAllText(state).Trim() == "FROZEN")
                    {
                        return;
                    }
                }
                catch (IOException)
                {
                    return;
                }

                await Task.Delay(5);
            }
        }
    }
}
