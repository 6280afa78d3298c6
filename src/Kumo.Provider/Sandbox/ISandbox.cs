using Kumo.Hardware;

namespace Kumo.Provider.Sandbox;

/// <summary>Runs a workload isolated from the host, with resource limits, and kills its whole process tree on demand.</summary>
public interface ISandbox
{
    /// <summary>Short name for listings, e.g. "bubblewrap+cgroup-v1".</summary>
    string Name { get; }

    /// <summary>Which limits this sandbox can enforce on this host, and how.</summary>
    SandboxCapabilities Capabilities { get; }

    /// <summary>Starts the workload. Throws <see cref="SandboxException"/> when it cannot be started.</summary>
    Task<ISandboxedProcess> StartAsync(SandboxRequest request, CancellationToken cancellationToken);
}

/// <summary>A running sandboxed workload.</summary>
public interface ISandboxedProcess : IAsyncDisposable
{
    /// <summary>Host pid of the sandbox's outermost process.</summary>
    int Pid { get; }

    /// <summary>Output lines in the order they were read; completes after the process tree exits and pipes drain.</summary>
    System.Threading.Channels.ChannelReader<SandboxOutput> Output { get; }

    /// <summary>Completes once the process tree is gone, with how it ended.</summary>
    Task<SandboxExit> Completion { get; }

    /// <summary>Kills every process of the workload (the cancel path). Idempotent.</summary>
    Task KillAsync();
}

/// <summary>What to run and within which limits.</summary>
public sealed record SandboxRequest
{
    /// <summary>Host directory mounted read-write at <c>/job</c>; the working directory; the only writable place besides a private /tmp.</summary>
    public required string JobDirectory { get; init; }

    /// <summary>Extra host paths mounted read-only (e.g. the inputs directory at /job/inputs).</summary>
    public IReadOnlyList<SandboxMount> ReadOnlyMounts { get; init; } = [];

    public required string Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>The whole environment of the workload (the host's is not inherited).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether the workload gets the host network; otherwise it has loopback only.</summary>
    public bool Network { get; init; }

    /// <summary>CPU limit in millicores (1000 = one core); 0 means no limit.</summary>
    public int CpuMillicores { get; init; }

    /// <summary>Memory limit; 0 means no limit.</summary>
    public long MemoryBytes { get; init; }

    /// <summary>Limit on bytes written under the job directory; 0 means no limit.</summary>
    public long DiskBytes { get; init; }

    /// <summary>Most processes and threads alive at once (fork-bomb guard).</summary>
    public int MaxProcesses { get; init; } = 512;

    /// <summary>Wall-clock limit; the tree is killed and the outcome is <see cref="SandboxOutcome.TimedOut"/>.</summary>
    public TimeSpan WallTime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Devices the workload may see; every other GPU stays invisible.</summary>
    public IReadOnlyList<GpuDevice> Gpus { get; init; } = [];
}

public sealed record SandboxMount(string HostPath, string SandboxPath);

public enum OutputStream
{
    Stdout,
    Stderr,
}

/// <summary>One line of output (without its newline). Very long lines are split.</summary>
public sealed record SandboxOutput(OutputStream Stream, string Text, DateTimeOffset Timestamp);

public enum SandboxOutcome
{
    /// <summary>The process exited on its own; see <see cref="SandboxExit.ExitCode"/>.</summary>
    Exited,
    /// <summary>The process died of a signal it was not sent by us.</summary>
    Signaled,
    TimedOut,
    OutOfMemory,
    DiskLimitExceeded,
    /// <summary>Killed through <see cref="ISandboxedProcess.KillAsync"/>.</summary>
    Killed,
}

/// <param name="Outcome">How the workload ended.</param>
/// <param name="ExitCode">Exit status when it exited.</param>
/// <param name="Signal">Terminating signal, when signaled.</param>
/// <param name="Detail">One human sentence, e.g. "exceeded its memory limit of 256 MiB".</param>
public sealed record SandboxExit(SandboxOutcome Outcome, int? ExitCode, int? Signal, string Detail);

/// <summary>Which limits are enforced and by what mechanism, for listings and for refusing jobs we cannot honour.</summary>
public sealed record SandboxCapabilities(
    bool Isolation,
    string CpuLimit,
    string MemoryLimit,
    string ProcessLimit,
    string DiskLimit);

/// <summary>The sandbox could not be started; the message says why in words a provider operator can act on.</summary>
public sealed class SandboxException : Exception
{
    public SandboxException(string message) : base(message) { }

    public SandboxException(string message, Exception inner) : base(message, inner) { }

    public SandboxException() { }
}
