namespace Kumo.Provider.Sandbox;

/// <summary>Where <see cref="BubblewrapSandbox"/> finds its tools, which cgroups it uses and where it keeps per-run files.</summary>
public sealed record BubblewrapSandboxOptions
{
    /// <summary>The bubblewrap binary (Debian: <c>apt-get install -y bubblewrap</c>).</summary>
    public string BubblewrapPath { get; init; } = "/usr/bin/bwrap";

    /// <summary>Mount point of the cgroup file system: a cgroup2 mount, or a directory holding one mount per v1 hierarchy.</summary>
    public string CgroupRoot { get; init; } = "/sys/fs/cgroup";

    /// <summary>
    /// Parent of the per-run cgroups, relative to each hierarchy's root (e.g. "/kumo"). Null puts them in <c>kumo</c>
    /// under the agent's own cgroup, so whatever accounting the agent is under also covers its jobs.
    /// </summary>
    public string? CgroupParent { get; init; }

    /// <summary>Which resource-limit mechanism to use; <see cref="SandboxLimitMechanism.Auto"/> picks the best that works here.</summary>
    public SandboxLimitMechanism Limits { get; init; } = SandboxLimitMechanism.Auto;

    /// <summary>Per-run files (the sandbox's generated /etc files) are written under this directory and removed after the run.</summary>
    public string ScratchDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "kumo-sandbox");

    /// <summary>prlimit from util-linux, used for rlimits when no cgroup hierarchy is writable.</summary>
    public string PrlimitPath { get; init; } = "/usr/bin/prlimit";

    /// <summary>setpriv from util-linux, used to drop to <see cref="HostUserId"/> before bubblewrap starts.</summary>
    public string SetprivPath { get; init; } = "/usr/bin/setpriv";

    /// <summary>A POSIX shell on the host, used to join the run's cgroups before bubblewrap is exec'd.</summary>
    public string ShellPath { get; init; } = "/bin/sh";

    /// <summary>User id the workload sees inside its user namespace.</summary>
    public int SandboxUserId { get; init; } = 1000;

    /// <summary>Group id the workload sees inside its user namespace.</summary>
    public int SandboxGroupId { get; init; } = 1000;

    /// <summary>
    /// Host user the sandbox runs as when the agent runs as root. Null keeps the agent's own uid, which for a root
    /// agent means the workload's files are owned by host root and the workload passes owner checks on root-owned
    /// files it can see (only /usr and the curated /etc). Set it to a dedicated unprivileged user (e.g. 65534 or a
    /// <c>kumo-job</c> user) on production providers; the job directory is then chown'ed to it at start.
    /// </summary>
    public int? HostUserId { get; init; }

    /// <summary>Host group paired with <see cref="HostUserId"/>; defaults to the same number.</summary>
    public int? HostGroupId { get; init; }

    /// <summary>Hostname inside the sandbox.</summary>
    public string Hostname { get; init; } = "kumo-sandbox";

    /// <summary>How often the bytes under the job directory are measured against <see cref="SandboxRequest.DiskBytes"/>.</summary>
    public TimeSpan DiskPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Output lines buffered before the workload is slowed down. Read <see cref="ISandboxedProcess.Output"/>: when this
    /// many lines wait unread, reading from the workload's pipes stops and its writes block (output is never dropped).
    /// </summary>
    public int OutputBufferLines { get; init; } = 8192;

    /// <summary>
    /// Host files and directories under /etc made visible read-only (when they exist). Everything else of the host's
    /// /etc stays hidden; passwd, group, hosts, hostname and nsswitch.conf are generated per run.
    /// /etc/resolv.conf and /etc/gai.conf are added only when the request has network.
    /// </summary>
    public IReadOnlyList<string> EtcEntries { get; init; } =
    [
        "/etc/alternatives",
        "/etc/ssl/certs",
        "/etc/ssl/openssl.cnf",
        "/etc/pki/tls/certs",
        "/etc/pki/ca-trust/extracted",
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/timezone",
        "/etc/protocols",
        "/etc/services",
        "/etc/mime.types",
        "/etc/os-release",
    ];
}

/// <summary>How resource limits are enforced.</summary>
public enum SandboxLimitMechanism
{
    /// <summary>cgroup v2 when its controllers can be delegated here, else cgroup v1, else rlimits.</summary>
    Auto,
    CgroupV1,
    CgroupV2,
    /// <summary>Per-process rlimits through prlimit: weaker, used when no cgroup hierarchy is writable.</summary>
    Rlimit,
}
