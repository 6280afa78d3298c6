using Kumo.Hardware;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>The bubblewrap command line, built against a described host (no GPU needed).</summary>
public sealed class BubblewrapCommandLineTests
{
    private static readonly BubblewrapSandboxOptions Options = new();

    private static readonly HashSet<string> GpuHostNodes =
        ["/dev/nvidia0", "/dev/nvidia1", "/dev/nvidia2", "/dev/nvidia3", "/dev/nvidiactl", "/dev/nvidia-uvm"];

    private static readonly HostView MergedUsr = new(
        [new RootEntry("bin", "usr/bin"), new RootEntry("sbin", "usr/sbin"), new RootEntry("lib", "usr/lib"), new RootEntry("lib64", "usr/lib64")],
        path => GpuHostNodes.Contains(path));

    private static SandboxRequest Request(params GpuDevice[] gpus) => new()
    {
        JobDirectory = "/var/lib/kumo/jobs/j1",
        Command = "python3",
        Args = ["train.py", "--epochs", "3"],
        Gpus = gpus,
    };

    private static GpuDevice Gpu(int index, bool simulated = false) =>
        new(index, "nvidia", "NVIDIA H100 80GB HBM3", 80L << 30, simulated ? $"SIM-seed-{index}" : $"GPU-0000000{index}-aaaa-bbbb-cccc-dddddddddddd",
            "550.54.15", "12.4", null, simulated);

    private static BubblewrapInvocation Build(SandboxRequest request, bool userNamespace = true, (int, int)? hostUser = null) =>
        BubblewrapCommandLine.Build(Options, MergedUsr, userNamespace, hostUser, request, "/scratch/run-1/etc");

    /// <summary>The (option, value...) groups of the command line as strings, e.g. "--dev-bind /dev/nvidia1 /dev/nvidia1".</summary>
    private static List<string> Pairs(IReadOnlyList<string> args, string option, int values)
    {
        var found = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            if (args[i] == "--")
            {
                break;
            }

            if (args[i] == option)
            {
                found.Add(string.Join(' ', args.Skip(i + 1).Take(values)));
            }
        }

        return found;
    }

    [Fact]
    public void Only_allocated_gpus_are_bound_and_named_by_uuid()
    {
        var invocation = Build(Request(Gpu(1), Gpu(3)));

        Assert.Equal(
            ["/dev/nvidia1 /dev/nvidia1", "/dev/nvidia3 /dev/nvidia3", "/dev/nvidiactl /dev/nvidiactl", "/dev/nvidia-uvm /dev/nvidia-uvm"],
            Pairs(invocation.Arguments, "--dev-bind", 2));
        var uuids = "GPU-00000001-aaaa-bbbb-cccc-dddddddddddd,GPU-00000003-aaaa-bbbb-cccc-dddddddddddd";
        Assert.Equal(uuids, invocation.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal(uuids, invocation.Environment["NVIDIA_VISIBLE_DEVICES"]);
        Assert.False(invocation.Environment.ContainsKey("KUMO_SIMULATED_GPUS"));
        Assert.Contains("CUDA_VISIBLE_DEVICES " + uuids, Pairs(invocation.Arguments, "--setenv", 2));
    }

    [Fact]
    public void Simulated_gpus_bind_no_device_and_are_flagged()
    {
        var invocation = Build(Request(Gpu(0, simulated: true), Gpu(1, simulated: true)));

        Assert.Empty(Pairs(invocation.Arguments, "--dev-bind", 2));
        Assert.Equal("SIM-seed-0,SIM-seed-1", invocation.Environment["CUDA_VISIBLE_DEVICES"]);
        Assert.Equal("SIM-seed-0,SIM-seed-1", invocation.Environment["NVIDIA_VISIBLE_DEVICES"]);
        Assert.Equal("1", invocation.Environment["KUMO_SIMULATED_GPUS"]);
    }

    [Fact]
    public void No_gpu_means_no_device_and_no_gpu_variables()
    {
        var invocation = Build(Request());

        Assert.Empty(Pairs(invocation.Arguments, "--dev-bind", 2));
        Assert.DoesNotContain("CUDA_VISIBLE_DEVICES", invocation.Environment.Keys);
        Assert.DoesNotContain("NVIDIA_VISIBLE_DEVICES", invocation.Environment.Keys);
    }

    [Fact]
    public void The_allocation_overrides_gpu_variables_in_the_request()
    {
        var request = Request(Gpu(2)) with { Environment = new Dictionary<string, string> { ["CUDA_VISIBLE_DEVICES"] = "0,1,2,3" } };

        Assert.Equal(Gpu(2).Uuid, Build(request).Environment["CUDA_VISIBLE_DEVICES"]);
    }

    [Fact]
    public void An_allocated_gpu_without_device_node_is_refused()
    {
        var error = Assert.Throws<SandboxException>(() => Build(Request(Gpu(7))));

        Assert.Contains("/dev/nvidia7", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Namespaces_user_and_capabilities_are_locked_down()
    {
        var args = Build(Request()).Arguments;

        Assert.Equal("/usr/bin/bwrap", args[0]);
        Assert.Equal(["1000"], Pairs(args, "--uid", 1));
        Assert.Equal(["1000"], Pairs(args, "--gid", 1));
        Assert.Equal(["ALL"], Pairs(args, "--cap-drop", 1));
        foreach (var flag in new[] { "--unshare-user", "--disable-userns", "--unshare-ipc", "--unshare-pid", "--unshare-uts", "--unshare-cgroup",
            "--unshare-net", "--die-with-parent", "--new-session", "--clearenv" })
        {
            Assert.Contains(flag, args);
        }

        Assert.DoesNotContain("--share-net", args);
        Assert.DoesNotContain("/etc/resolv.conf /etc/resolv.conf", Pairs(args, "--ro-bind-try", 2));
    }

    [Fact]
    public void Network_keeps_the_host_network_and_resolver()
    {
        var args = Build(Request() with { Network = true }).Arguments;

        Assert.DoesNotContain("--unshare-net", args);
        Assert.Contains("/etc/resolv.conf /etc/resolv.conf", Pairs(args, "--ro-bind-try", 2));
        Assert.Contains("--unshare-pid", args);
    }

    [Fact]
    public void Without_user_namespace_no_uid_mapping_is_requested()
    {
        var args = Build(Request(), userNamespace: false).Arguments;

        Assert.DoesNotContain("--unshare-user", args);
        Assert.DoesNotContain("--uid", args);
        Assert.Contains("--cap-drop", args);
    }

    [Fact]
    public void Filesystem_is_read_only_system_curated_etc_and_writable_job()
    {
        var args = Build(Request() with { ReadOnlyMounts = [new SandboxMount("/data/in", "/job/inputs")] }).Arguments;

        Assert.Equal(["/usr /usr", "/scratch/run-1/etc/passwd /etc/passwd", "/scratch/run-1/etc/group /etc/group",
            "/scratch/run-1/etc/hosts /etc/hosts", "/scratch/run-1/etc/hostname /etc/hostname",
            "/scratch/run-1/etc/nsswitch.conf /etc/nsswitch.conf", "/data/in /job/inputs"], Pairs(args, "--ro-bind", 2));
        Assert.Equal(["usr/bin /bin", "usr/sbin /sbin", "usr/lib /lib", "usr/lib64 /lib64"], Pairs(args, "--symlink", 2));
        Assert.Equal(["/var/lib/kumo/jobs/j1 /job"], Pairs(args, "--bind", 2));
        Assert.Equal(["/dev/shm", "/tmp"], Pairs(args, "--tmpfs", 1));
        Assert.Equal(["/proc"], Pairs(args, "--proc", 1));
        Assert.Equal(["/dev"], Pairs(args, "--dev", 1));
        Assert.Equal(["/job"], Pairs(args, "--chdir", 1));
        var etc = Pairs(args, "--ro-bind-try", 2);
        Assert.All(etc, e => Assert.StartsWith("/etc/", e, StringComparison.Ordinal));
        Assert.DoesNotContain(etc, e => e.Contains("shadow", StringComparison.Ordinal) || e.StartsWith("/etc/ssl ", StringComparison.Ordinal));
        Assert.DoesNotContain("/etc /etc", Pairs(args, "--ro-bind", 2));

        // The root becomes read-only only after everything was mounted into it.
        var remount = args.ToList().IndexOf("--remount-ro");
        Assert.Equal("/", args[remount + 1]);
        Assert.True(remount > args.ToList().LastIndexOf("--ro-bind"));
    }

    [Fact]
    public void Command_runs_through_env_with_its_arguments_after_the_separator()
    {
        var args = Build(Request()).Arguments;
        var separator = args.ToList().IndexOf("--");

        Assert.Equal(["/usr/bin/env", "-u", "PWD", "python3", "train.py", "--epochs", "3"], args.Skip(separator + 1));
    }

    [Fact]
    public void A_host_user_is_switched_to_with_setpriv_before_bubblewrap()
    {
        var args = Build(Request(), hostUser: (65534, 65533)).Arguments;

        Assert.Equal(["/usr/bin/setpriv", "--reuid=65534", "--regid=65533", "--clear-groups", "--", "/usr/bin/bwrap"], args.Take(6));
    }

    [Fact]
    public void Environment_gets_defaults_only_where_missing_and_is_set_in_order()
    {
        var request = Request() with { Environment = new Dictionary<string, string> { ["Z"] = "last", ["HOME"] = "/elsewhere", ["A"] = "a b" } };
        var invocation = Build(request);

        Assert.Equal(["A a b", "HOME /elsewhere", "PATH " + BubblewrapCommandLine.DefaultPath, "TMPDIR /tmp", "Z last"],
            Pairs(invocation.Arguments, "--setenv", 2));
        Assert.True(invocation.Arguments.ToList().IndexOf("--clearenv") < invocation.Arguments.ToList().IndexOf("--setenv"));
    }

    [Theory]
    [InlineData("", "Command")]
    [InlineData("a=b", "Command")]
    public void Bad_commands_are_refused(string command, string field)
    {
        var error = Assert.Throws<SandboxException>(() => Build(Request() with { Command = command }));

        Assert.Contains(field, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("relative/in", "/job/in")]
    [InlineData("/data/in", "job/in")]
    [InlineData("/data/in", "/")]
    [InlineData("/data/in", "/job/../etc")]
    [InlineData("/data/in", "/job//in")]
    public void Bad_mounts_are_refused(string host, string sandboxPath)
    {
        var error = Assert.Throws<SandboxException>(() => Build(Request() with { ReadOnlyMounts = [new SandboxMount(host, sandboxPath)] }));

        Assert.Contains("ReadOnlyMounts", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("", "x")]
    [InlineData("A=B", "x")]
    [InlineData("A", "x\0y")]
    public void Bad_environment_is_refused(string name, string value)
    {
        var request = Request() with { Environment = new Dictionary<string, string> { [name] = value } };

        Assert.Throws<SandboxException>(() => Build(request));
    }

    [Fact]
    public void Relative_job_directory_is_refused()
    {
        Assert.Throws<SandboxException>(() => Build(Request() with { JobDirectory = "jobs/j1" }));
    }

    [Fact]
    public void Cgroup_join_wrapper_joins_every_cgroup_before_exec()
    {
        var argv = CgroupJoin.Wrap("/bin/sh", ["/cg/memory/kumo/r/cgroup.procs", "/cg/it's/cgroup.procs"], ["/usr/bin/bwrap", "--", "x"]);

        Assert.Equal(["/bin/sh", "-c"], argv.Take(2));
        Assert.Equal("echo $$ > '/cg/memory/kumo/r/cgroup.procs' && echo $$ > '/cg/it'\\''s/cgroup.procs' && exec \"$@\"", argv[2]);
        Assert.Equal(["kumo-sandbox", "/usr/bin/bwrap", "--", "x"], argv.Skip(3));
    }
}
