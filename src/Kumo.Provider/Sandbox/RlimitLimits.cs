using System.Globalization;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// The fallback when no cgroup hierarchy is writable: per-process rlimits set by prlimit (util-linux) on bubblewrap,
/// inherited by everything it starts. Much weaker than cgroups, and reported as such: RLIMIT_AS bounds each process's
/// address space rather than the run's memory, RLIMIT_NPROC counts every process of the host user (and root is exempt
/// from it), and there is no CPU-rate limit. Killing relies on bubblewrap's pid namespace alone.
/// </summary>
internal sealed class RlimitLimits : IResourceLimiter
{
    private readonly string? _prlimit;
    private readonly bool _sandboxUserIsRoot;
    private readonly string _why;

    /// <param name="prlimitPath">prlimit, or null when it is not installed (then nothing is enforced).</param>
    /// <param name="sandboxUserIsRoot">Whether bubblewrap runs as host root (RLIMIT_NPROC does not apply to root).</param>
    /// <param name="why">Why no cgroup could be used, for the capability descriptions.</param>
    public RlimitLimits(string? prlimitPath, bool sandboxUserIsRoot, string why)
    {
        _prlimit = prlimitPath;
        _sandboxUserIsRoot = sandboxUserIsRoot;
        _why = why;
    }

    public string Name => _prlimit is null ? "no-limits" : "rlimit";

    public string CpuLimit => $"not enforced (no writable cgroup: {_why})";

    public string MemoryLimit => _prlimit is null
        ? $"not enforced (no writable cgroup: {_why}; prlimit not installed)"
        : "RLIMIT_AS per process via prlimit (address space, not resident memory or a total; an allocation failure is not reported as OutOfMemory)";

    public string ProcessLimit => (_prlimit, _sandboxUserIsRoot) switch
    {
        (null, _) => $"not enforced (no writable cgroup: {_why}; prlimit not installed)",
        (_, true) => "not enforced (RLIMIT_NPROC does not apply to root; set HostUserId to an unprivileged user)",
        _ => "RLIMIT_NPROC via prlimit (counts every process of the sandbox's host user)",
    };

    public ILimitedRun Apply(string runId, ResourceLimits limits) => new Run(this, limits);

    private sealed class Run(RlimitLimits owner, ResourceLimits limits) : ILimitedRun
    {
        public IReadOnlyList<string> CgroupDirectories => [];

        public IReadOnlyList<string> Wrap(IReadOnlyList<string> argv)
        {
            if (owner._prlimit is null)
            {
                return argv;
            }

            var prefix = new List<string> { owner._prlimit };
            if (limits.MemoryBytes > 0)
            {
                prefix.Add(string.Create(CultureInfo.InvariantCulture, $"--as={limits.MemoryBytes}:{limits.MemoryBytes}"));
            }

            if (limits.MaxProcesses > 0 && !owner._sandboxUserIsRoot)
            {
                prefix.Add(string.Create(CultureInfo.InvariantCulture, $"--nproc={limits.MaxProcesses}:{limits.MaxProcesses}"));
            }

            return prefix.Count == 1 ? argv : [.. prefix, "--", .. argv];
        }

        // Without a cgroup there is no list of the run's processes; killing bubblewrap (whose sandbox init has
        // PR_SET_PDEATHSIG) tears down the pid namespace and with it every process of the run.
        public Task KillAllAsync() => Task.CompletedTask;

        public bool WasOutOfMemoryKilled() => false;

        public Task ReleaseAsync() => Task.CompletedTask;
    }
}
