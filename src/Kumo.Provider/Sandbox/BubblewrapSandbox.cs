using System.Globalization;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// Runs workloads under bubblewrap: every namespace unshared (network only on request), a user namespace mapping to an
/// unprivileged uid, no capabilities, a read-only /usr and curated /etc, /job read-write, private /tmp; limits through
/// cgroups (v2, else v1, else rlimits), wall time and a polled disk limit. See docs/SANDBOX.md.
/// </summary>
public sealed class BubblewrapSandbox : ISandbox
{
    private readonly BubblewrapSandboxOptions _options;
    private readonly TimeProvider _time;
    private readonly HostView _host;
    private readonly IResourceLimiter _limiter;
    private readonly (int Uid, int Gid)? _hostUser;
    private readonly SemaphoreSlim _verifyLock = new(1, 1);
    private bool? _userNamespace;
    private string? _verifyFailure;

    /// <summary>Detects the cgroup setup of this host. Throws <see cref="SandboxException"/> only when
    /// <see cref="BubblewrapSandboxOptions.Limits"/> names a mechanism that cannot be used here.</summary>
    public BubblewrapSandbox(BubblewrapSandboxOptions options, TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _options = options;
        _time = timeProvider;
        _host = HostView.Detect();
        _hostUser = options.HostUserId is int uid ? (uid, options.HostGroupId ?? uid) : null;
        var sandboxUserIsRoot = _hostUser is null ? Environment.IsPrivilegedProcess : _hostUser.Value.Uid == 0;
        _limiter = SelectLimiter(options, ReadOrEmpty("/proc/self/cgroup"), sandboxUserIsRoot);
    }

    public string Name => $"bubblewrap+{_limiter.Name}";

    public SandboxCapabilities Capabilities => new(
        Isolation: File.Exists(_options.BubblewrapPath) && _verifyFailure is null,
        CpuLimit: _limiter.CpuLimit,
        MemoryLimit: _limiter.MemoryLimit,
        ProcessLimit: _limiter.ProcessLimit,
        DiskLimit: string.Create(CultureInfo.InvariantCulture,
            $"polled every {_options.DiskPollInterval.TotalSeconds:0.###} s: apparent size of the files under /job; the run is killed at the first poll over the limit, so it can overshoot by what it writes in one interval"));

    /// <summary>Whether workloads get a user namespace (uid <see cref="BubblewrapSandboxOptions.SandboxUserId"/> inside);
    /// null until <see cref="VerifyAsync"/> has run. False only for a root agent on a host without user namespaces.</summary>
    public bool? UsesUserNamespace => _userNamespace;

    /// <summary>
    /// Starts a throw-away sandbox once to prove that bubblewrap works on this host, and remembers the answer.
    /// Throws <see cref="SandboxException"/> with what to install or change when it does not. Called by
    /// <see cref="StartAsync"/>; call it at agent start to fail early.
    /// </summary>
    public async Task VerifyAsync(CancellationToken cancellationToken)
    {
        if (_userNamespace is not null)
        {
            return;
        }

        await _verifyLock.WaitAsync(cancellationToken);
        try
        {
            if (_userNamespace is not null)
            {
                return;
            }

            try
            {
                _userNamespace = await ProbeAsync(cancellationToken);
                _verifyFailure = null;
            }
            catch (SandboxException e)
            {
                _verifyFailure = e.Message;
                throw;
            }
        }
        finally
        {
            _verifyLock.Release();
        }
    }

    public async Task<ISandboxedProcess> StartAsync(SandboxRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        BubblewrapCommandLine.Validate(request);
        if (!Directory.Exists(request.JobDirectory))
        {
            throw new SandboxException($"JobDirectory {request.JobDirectory} does not exist");
        }

        if (request.ReadOnlyMounts.FirstOrDefault(m => !File.Exists(m.HostPath) && !Directory.Exists(m.HostPath)) is { } missing)
        {
            throw new SandboxException($"ReadOnlyMounts: host path {missing.HostPath} (for {missing.SandboxPath}) does not exist");
        }

        await VerifyAsync(cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();

        var runId = "run-" + Guid.NewGuid().ToString("N");
        var runDirectory = Path.Combine(_options.ScratchDirectory, runId);
        ILimitedRun? limits = null;
        try
        {
            var etc = PrepareRunDirectory(runDirectory);
            if (_hostUser is var (uid, gid))
            {
                await ChownAsync(request.JobDirectory, uid, gid, cancellationToken);
            }

            var invocation = BubblewrapCommandLine.Build(_options, _host, _userNamespace ?? true, _hostUser, request, etc);
            limits = _limiter.Apply(runId, new ResourceLimits(request.CpuMillicores, request.MemoryBytes, request.MaxProcesses));
            var process = await ProcessLauncher.StartAsync(limits.Wrap(invocation.Arguments));
            return new BubblewrapProcess(process, limits, request, _options, _time, runDirectory);
        }
        catch
        {
            if (limits is not null)
            {
                await limits.ReleaseAsync();
            }

            TryDeleteDirectory(runDirectory);
            throw;
        }
    }

    internal static IResourceLimiter SelectLimiter(BubblewrapSandboxOptions options, string procSelfCgroup, bool sandboxUserIsRoot)
    {
        var reasons = new List<string>();
        if (options.Limits is SandboxLimitMechanism.Auto or SandboxLimitMechanism.CgroupV2)
        {
            var v2 = CgroupV2Limits.TryCreate(options.CgroupRoot, options.CgroupParent, procSelfCgroup, options.ShellPath, out var reason);
            if (v2 is not null)
            {
                return v2;
            }

            if (options.Limits is SandboxLimitMechanism.CgroupV2)
            {
                throw new SandboxException($"cgroup v2 limits were requested but cannot be used: {reason}");
            }

            reasons.Add(reason);
        }

        if (options.Limits is SandboxLimitMechanism.Auto or SandboxLimitMechanism.CgroupV1)
        {
            var v1 = CgroupV1Limits.TryCreate(options.CgroupRoot, options.CgroupParent, procSelfCgroup, options.ShellPath, out var reason);
            if (v1 is not null)
            {
                return v1;
            }

            if (options.Limits is SandboxLimitMechanism.CgroupV1)
            {
                throw new SandboxException($"cgroup v1 limits were requested but cannot be used: {reason}");
            }

            reasons.Add(reason);
        }

        var why = options.Limits is SandboxLimitMechanism.Rlimit ? "rlimits were configured" : string.Join("; ", reasons);
        return new RlimitLimits(File.Exists(options.PrlimitPath) ? options.PrlimitPath : null, sandboxUserIsRoot, why);
    }

    private async Task<bool> ProbeAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(_options.BubblewrapPath))
        {
            throw new SandboxException(
                $"bubblewrap not found at {_options.BubblewrapPath}: apt-get install -y bubblewrap (or set BubblewrapPath)");
        }

        if (_hostUser is not null)
        {
            if (!Environment.IsPrivilegedProcess)
            {
                throw new SandboxException("HostUserId is set but the agent does not run as root, so it cannot switch to that user; unset it");
            }

            if (!File.Exists(_options.SetprivPath))
            {
                throw new SandboxException($"setpriv not found at {_options.SetprivPath} (needed for HostUserId): apt-get install -y util-linux");
            }
        }

        var probeDirectory = Path.Combine(_options.ScratchDirectory, "probe-" + Guid.NewGuid().ToString("N"));
        try
        {
            var etc = PrepareRunDirectory(probeDirectory);
            var job = Path.Combine(probeDirectory, "job");
            Directory.CreateDirectory(job);
            var request = new SandboxRequest { JobDirectory = job, Command = "true" };
            var (ok, error) = await RunProbeAsync(BubblewrapCommandLine.Build(_options, _host, true, _hostUser, request, etc), cancellationToken);
            if (ok)
            {
                return true;
            }

            if (Environment.IsPrivilegedProcess && _hostUser is null)
            {
                // Root without user namespaces: still a sandbox (namespaces, no capabilities, no new privileges),
                // but the workload runs as uid 0 inside.
                var (okWithout, _) = await RunProbeAsync(BubblewrapCommandLine.Build(_options, _host, false, null, request, etc), cancellationToken);
                if (okWithout)
                {
                    return false;
                }
            }

            throw new SandboxException($"bubblewrap at {_options.BubblewrapPath} cannot create a sandbox on this host: {error}{Advice(error)}");
        }
        finally
        {
            TryDeleteDirectory(probeDirectory);
        }
    }

    private static async Task<(bool Ok, string Error)> RunProbeAsync(BubblewrapInvocation invocation, CancellationToken cancellationToken)
    {
        using var process = await ProcessLauncher.StartAsync(invocation.Arguments);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new SandboxException("bubblewrap did not start a trivial sandbox within 30 s");
        }

        await stdout;
        var error = (await stderr).Trim();
        return (process.ExitCode == 0, error.Length > 0 ? error : $"exit code {process.ExitCode}");
    }

    private static string Advice(string error)
    {
        if (error.Contains("namespace", StringComparison.OrdinalIgnoreCase) || error.Contains("uid map", StringComparison.OrdinalIgnoreCase)
            || error.Contains("Operation not permitted", StringComparison.OrdinalIgnoreCase) || error.Contains("Permission denied", StringComparison.OrdinalIgnoreCase))
        {
            return ". User namespaces look disabled: set sysctl user.max_user_namespaces=15000 and kernel.unprivileged_userns_clone=1 " +
                "(Ubuntu 23.10+: also kernel.apparmor_restrict_unprivileged_userns=0 or an AppArmor profile for bwrap); " +
                "in a container, run it with --security-opt seccomp=unconfined or use a VM";
        }

        return "";
    }

    private string PrepareRunDirectory(string runDirectory)
    {
        const UnixFileMode Traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        if (OperatingSystem.IsWindows())
        {
            throw new SandboxException("the bubblewrap sandbox runs on Linux only");
        }

        try
        {
            Directory.CreateDirectory(_options.ScratchDirectory, Traversable);
            Directory.CreateDirectory(runDirectory, Traversable);
            var etc = Path.Combine(runDirectory, "etc");
            SandboxEtc.Write(etc, _options.SandboxUserId, _options.SandboxGroupId, _options.Hostname);
            return etc;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SandboxException($"cannot write the sandbox's files under ScratchDirectory {_options.ScratchDirectory}: {e.Message}", e);
        }
    }

    private static async Task ChownAsync(string directory, int uid, int gid, CancellationToken cancellationToken)
    {
        // -h: symlinks themselves, never their targets.
        using var process = await ProcessLauncher.StartAsync(["chown", "-R", "-h", $"{uid}:{gid}", "--", directory]);
        var error = await process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new SandboxException($"cannot hand JobDirectory {directory} to host user {uid}: {error.Trim()}");
        }
    }

    private static string ReadOrEmpty(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }

    private static void TryDeleteDirectory(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Scratch leftovers are harmless.
        }
    }
}
