using System.Globalization;

namespace Kumo.Provider.Sandbox;

/// <summary>A top-level entry of the host's root that the sandbox mirrors: /bin, /lib64... as a symlink or a read-only bind.</summary>
/// <param name="Name">Name under /, e.g. "lib64".</param>
/// <param name="SymlinkTarget">Target when the host entry is a symlink (merged /usr: "usr/lib64"); null for a directory.</param>
internal sealed record RootEntry(string Name, string? SymlinkTarget);

/// <summary>What the command-line builder needs to know about the host, so that it can be unit-tested anywhere.</summary>
/// <param name="RootEntries">/bin, /sbin, /lib* as they exist on the host.</param>
/// <param name="PathExists">Whether a host path exists (device nodes).</param>
internal sealed record HostView(IReadOnlyList<RootEntry> RootEntries, Func<string, bool> PathExists)
{
    private static readonly string[] MirroredRootEntries = ["bin", "sbin", "lib", "lib32", "lib64", "libx32"];

    public static HostView Detect()
    {
        var entries = new List<RootEntry>();
        foreach (var name in MirroredRootEntries)
        {
            var info = new DirectoryInfo("/" + name);
            if (info.LinkTarget is { } target)
            {
                entries.Add(new RootEntry(name, target));
            }
            else if (info.Exists)
            {
                entries.Add(new RootEntry(name, null));
            }
        }

        return new HostView(entries, p => File.Exists(p) || Directory.Exists(p));
    }
}

/// <summary>The full command line that starts a sandbox, and the environment the workload will see.</summary>
internal sealed record BubblewrapInvocation(IReadOnlyList<string> Arguments, IReadOnlyDictionary<string, string> Environment);

/// <summary>Turns a <see cref="SandboxRequest"/> into a bubblewrap command line. Pure: no I/O besides <see cref="HostView"/>.</summary>
internal static class BubblewrapCommandLine
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <summary>coreutils' env inside the sandbox, which starts the command with the exact environment.</summary>
    public const string EnvPath = "/usr/bin/env";

    /// <summary>Files written per run into the scratch etc directory and bound read-only into /etc.</summary>
    public static readonly IReadOnlyList<string> GeneratedEtcFiles = ["passwd", "group", "hosts", "hostname", "nsswitch.conf"];

    /// <summary>NVIDIA control nodes bound when any real GPU is allocated (those that exist on the host).</summary>
    public static readonly IReadOnlyList<string> NvidiaControlDevices = ["/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"];

    /// <param name="options">Sandbox options (bwrap path, uid/gid inside, hostname, /etc entries).</param>
    /// <param name="host">The host's root layout and a path-existence check.</param>
    /// <param name="userNamespace">Whether to create a user namespace (mapping to the sandbox uid/gid).</param>
    /// <param name="hostUser">When set, setpriv drops to this host uid/gid before bubblewrap runs.</param>
    /// <param name="request">What to run.</param>
    /// <param name="etcDirectory">Directory holding the generated /etc files.</param>
    public static BubblewrapInvocation Build(
        BubblewrapSandboxOptions options,
        HostView host,
        bool userNamespace,
        (int Uid, int Gid)? hostUser,
        SandboxRequest request,
        string etcDirectory)
    {
        Validate(request);
        var environment = BuildEnvironment(request);
        var a = new List<string>();
        if (hostUser is var (uid, gid))
        {
            a.AddRange([options.SetprivPath, $"--reuid={uid}", $"--regid={gid}", "--clear-groups", "--"]);
        }

        a.Add(options.BubblewrapPath);

        // Namespaces: everything unshared; the host network only on request.
        if (userNamespace)
        {
            a.AddRange(["--unshare-user", "--uid", Invariant(options.SandboxUserId), "--gid", Invariant(options.SandboxGroupId), "--disable-userns"]);
        }

        a.AddRange(["--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup"]);
        if (!request.Network)
        {
            a.Add("--unshare-net");
        }

        a.AddRange(["--hostname", options.Hostname, "--die-with-parent", "--new-session", "--cap-drop", "ALL"]);

        a.Add("--clearenv");
        foreach (var (name, value) in environment.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            a.AddRange(["--setenv", name, value]);
        }

        // A read-only system: /usr, and /bin, /lib... as the host has them (symlinks on merged-/usr Debian).
        a.AddRange(["--ro-bind", "/usr", "/usr"]);
        foreach (var entry in host.RootEntries)
        {
            if (entry.SymlinkTarget is { } target)
            {
                a.AddRange(["--symlink", target, "/" + entry.Name]);
            }
            else
            {
                a.AddRange(["--ro-bind", "/" + entry.Name, "/" + entry.Name]);
            }
        }

        a.AddRange(["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]);

        // Only the allocated GPUs: their device nodes, plus the control nodes CUDA needs.
        var realGpus = request.Gpus.Where(g => !g.Simulated).ToList();
        foreach (var gpu in realGpus)
        {
            var node = "/dev/nvidia" + Invariant(gpu.Index);
            if (!host.PathExists(node))
            {
                throw new SandboxException($"GPU {gpu.Index} ({gpu.Uuid}) is allocated to this job but {node} does not exist on this host");
            }

            a.AddRange(["--dev-bind", node, node]);
        }

        if (realGpus.Count > 0)
        {
            foreach (var node in NvidiaControlDevices.Where(host.PathExists))
            {
                a.AddRange(["--dev-bind", node, node]);
            }
        }

        // A curated /etc: a few host entries read-only, identity files generated for this run.
        a.AddRange(["--dir", "/etc"]);
        var etcEntries = request.Network ? options.EtcEntries.Concat(["/etc/resolv.conf", "/etc/gai.conf"]) : options.EtcEntries;
        foreach (var entry in etcEntries)
        {
            a.AddRange(["--ro-bind-try", entry, entry]);
        }

        foreach (var file in GeneratedEtcFiles)
        {
            a.AddRange(["--ro-bind", Path.Combine(etcDirectory, file), "/etc/" + file]);
        }

        a.AddRange(["--bind", request.JobDirectory, "/job"]);
        foreach (var mount in request.ReadOnlyMounts)
        {
            a.AddRange(["--ro-bind", mount.HostPath, mount.SandboxPath]);
        }

        // Last: the root tmpfs (and the directories bwrap created in it) becomes read-only; /job, /tmp, /dev/shm stay writable.
        a.AddRange(["--remount-ro", "/", "--chdir", "/job", "--"]);

        // bubblewrap sets PWD after --chdir; env restores exactly the requested environment and then execs the
        // command (no extra process stays behind).
        a.AddRange([EnvPath, "-u", "PWD"]);
        if (environment.TryGetValue("PWD", out var pwd))
        {
            a.Add("PWD=" + pwd);
        }

        a.Add(request.Command);
        a.AddRange(request.Args);
        return new BubblewrapInvocation(a, environment);
    }

    /// <summary>The request's environment, plus PATH, HOME=/job and TMPDIR=/tmp when not given, plus the GPU variables.</summary>
    public static IReadOnlyDictionary<string, string> BuildEnvironment(SandboxRequest request)
    {
        var env = new Dictionary<string, string>(request.Environment, StringComparer.Ordinal);
        env.TryAdd("PATH", DefaultPath);
        env.TryAdd("HOME", "/job");
        env.TryAdd("TMPDIR", "/tmp");
        if (request.Gpus.Count > 0)
        {
            // The allocation decides, whatever the request says: only these devices, named by UUID so that
            // indices inside the sandbox cannot be confused with host indices.
            var uuids = string.Join(",", request.Gpus.Select(g => g.Uuid));
            env["CUDA_VISIBLE_DEVICES"] = uuids;
            env["NVIDIA_VISIBLE_DEVICES"] = uuids;
            if (request.Gpus.Any(g => g.Simulated))
            {
                env["KUMO_SIMULATED_GPUS"] = "1";
            }
        }

        return env;
    }

    /// <summary>Refuses requests that cannot be turned into a safe command line, with the field at fault.</summary>
    public static void Validate(SandboxRequest request)
    {
        if (string.IsNullOrEmpty(request.Command) || request.Command.Contains('\0', StringComparison.Ordinal)
            || request.Command.Contains('=', StringComparison.Ordinal))
        {
            throw new SandboxException($"Command '{request.Command}' must be a non-empty string without '=' or NUL characters");
        }

        if (!Path.IsPathFullyQualified(request.JobDirectory))
        {
            throw new SandboxException($"JobDirectory '{request.JobDirectory}' must be an absolute path");
        }

        foreach (var (name, value) in request.Environment)
        {
            if (name.Length == 0 || name.Contains('=', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
                || value.Contains('\0', StringComparison.Ordinal))
            {
                throw new SandboxException($"Environment variable '{name}' is invalid: names must be non-empty without '=' or NUL, values without NUL");
            }
        }

        foreach (var arg in request.Args)
        {
            if (arg.Contains('\0', StringComparison.Ordinal))
            {
                throw new SandboxException("Args must not contain NUL characters");
            }
        }

        foreach (var mount in request.ReadOnlyMounts)
        {
            if (!Path.IsPathFullyQualified(mount.HostPath))
            {
                throw new SandboxException($"ReadOnlyMounts: host path '{mount.HostPath}' must be absolute");
            }

            var target = mount.SandboxPath;
            if (!target.StartsWith('/') || target == "/" || target.Split('/').Any(s => s is "." or "..")
                || target.Contains("//", StringComparison.Ordinal) || target.Contains('\0', StringComparison.Ordinal))
            {
                throw new SandboxException($"ReadOnlyMounts: sandbox path '{target}' must be a normalized absolute path other than /");
            }
        }
    }

    private static string Invariant(int value) => value.ToString(CultureInfo.InvariantCulture);
}
