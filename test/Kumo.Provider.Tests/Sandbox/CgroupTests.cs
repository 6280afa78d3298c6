using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

/// <summary>cgroup detection and the v2 file formats. v2 cannot be exercised for real on this cgroup-v1 machine, so its
/// writes are checked against a directory laid out like a delegated cgroup2 subtree.</summary>
public sealed class CgroupTests : IDisposable
{
    private const string HybridProcSelfCgroup = """
        9:name=systemd:/
        8:pids:/
        4:memory:/process_api/7bc0ef03
        2:cpu,cpuacct:/agents/kumo
        0::/
        """;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "kumo-cgroup-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Theory]
    [InlineData("memory", "/process_api/7bc0ef03")]
    [InlineData("pids", "/")]
    [InlineData("cpu", "/agents/kumo")]
    [InlineData("cpuacct", "/agents/kumo")]
    [InlineData("freezer", null)]
    [InlineData(null, "/")]
    public void Own_cgroup_is_found_per_hierarchy(string? controller, string? expected)
    {
        Assert.Equal(expected, CgroupFiles.OwnPath(HybridProcSelfCgroup, controller));
    }

    [Fact]
    public void Cgroup_paths_refuse_dot_dot()
    {
        Assert.Equal("/sys/fs/cgroup/memory/a/b/kumo", CgroupFiles.Combine("/sys/fs/cgroup/memory/", "/a/b/", "kumo"));
        Assert.Throws<SandboxException>(() => CgroupFiles.Combine("/sys/fs/cgroup", "/a/../b"));
    }

    [Fact]
    public void Keyed_values_are_read_from_event_files()
    {
        Directory.CreateDirectory(_root);
        var events = Path.Combine(_root, "memory.events");
        File.WriteAllText(events, "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\noom_group_kill 0\n");

        Assert.Equal(1, CgroupFiles.ReadKeyedValue(events, "oom_kill"));
        Assert.Equal(12, CgroupFiles.ReadKeyedValue(events, "max"));
        Assert.Null(CgroupFiles.ReadKeyedValue(events, "absent"));
        Assert.Null(CgroupFiles.ReadKeyedValue(Path.Combine(_root, "missing"), "oom_kill"));
    }

    [Fact]
    public void V2_is_not_chosen_on_a_hybrid_host_whose_unified_mount_has_no_controllers()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "\n");

        Assert.Null(CgroupV2Limits.TryCreate(_root, null, HybridProcSelfCgroup, "/bin/sh", out var reason));
        Assert.Contains("memory and pids", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void V2_delegates_controllers_down_to_kumo_and_writes_limits_in_its_formats()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "cpuset cpu io memory hugetlb pids rdma misc\n");
        var procSelf = "0::/system.slice/kumo-provider.service\n";

        var limits = CgroupV2Limits.TryCreate(_root, null, procSelf, "/bin/sh", out var reason);

        Assert.True(limits is not null, reason);
        Assert.Equal(Path.Combine(_root, "system.slice/kumo-provider.service/kumo"), limits.Parent);
        foreach (var level in new[] { "", "system.slice", "system.slice/kumo-provider.service", "system.slice/kumo-provider.service/kumo" })
        {
            // Each level received its own "+controller" writes (a real cgroupfs accumulates them; this directory keeps the last).
            Assert.True(File.Exists(Path.Combine(_root, level, "cgroup.subtree_control")), $"subtree_control at '{level}'");
        }

        Assert.Equal("cgroup-v2", limits.Name);
        Assert.StartsWith("cgroup v2 cpu.max", limits.CpuLimit, StringComparison.Ordinal);

        var run = limits.Apply("run-1", new ResourceLimits(CpuMillicores: 1500, MemoryBytes: 256L << 20, MaxProcesses: 100));
        var dir = Assert.Single(run.CgroupDirectories);
        Assert.Equal("150000 100000", File.ReadAllText(Path.Combine(dir, "cpu.max")));
        Assert.Equal((256L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture), File.ReadAllText(Path.Combine(dir, "memory.max")));
        Assert.Equal("100", File.ReadAllText(Path.Combine(dir, "pids.max")));
        Assert.Equal($"echo $$ > '{dir}/cgroup.procs' && exec \"$@\"", run.Wrap(["bwrap"])[2]);

        Assert.False(run.WasOutOfMemoryKilled());
        File.WriteAllText(Path.Combine(dir, "memory.events"), "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
        Assert.True(run.WasOutOfMemoryKilled());
    }

    [Fact]
    public void V2_with_explicit_parent_and_no_limits_writes_max()
    {
        Directory.CreateDirectory(_root);
        File.WriteAllText(Path.Combine(_root, "cgroup.controllers"), "memory pids\n");

        var limits = CgroupV2Limits.TryCreate(_root, "/kumo.slice/jobs", "0::/\n", "/bin/sh", out var reason);
        Assert.True(limits is not null, reason);
        var run = limits.Apply("run-2", new ResourceLimits(0, 0, 0));
        var dir = Assert.Single(run.CgroupDirectories);

        Assert.Equal(Path.Combine(_root, "kumo.slice/jobs/run-2"), dir);
        Assert.Equal("max", File.ReadAllText(Path.Combine(dir, "pids.max")));
        Assert.False(File.Exists(Path.Combine(dir, "cpu.max")));
        Assert.False(File.Exists(Path.Combine(dir, "memory.max")));
        Assert.StartsWith("not enforced", limits.CpuLimit, StringComparison.Ordinal);
    }

    [Fact]
    public void V1_is_detected_on_this_machine_under_the_agents_own_cgroups()
    {
        var procSelf = File.ReadAllText("/proc/self/cgroup");
        var limits = CgroupV1Limits.TryCreate("/sys/fs/cgroup", null, procSelf, "/bin/sh", out var reason);

        Assert.True(limits is not null, reason);
        var ownMemory = CgroupFiles.OwnPath(procSelf, "memory")!;
        Assert.Equal(CgroupFiles.Combine("/sys/fs/cgroup/memory", ownMemory, "kumo"), limits.Parents["memory"]);
        Assert.Contains("pids", limits.Parents.Keys);
    }

    [Fact]
    public void Selection_falls_back_to_rlimits_with_the_reasons_when_no_cgroup_is_usable()
    {
        var options = new BubblewrapSandboxOptions { CgroupRoot = Path.Combine(_root, "nothing-here") };

        var limiter = BubblewrapSandbox.SelectLimiter(options, "0::/\n", sandboxUserIsRoot: false);

        Assert.Equal("rlimit", limiter.Name);
        Assert.Contains("no cgroup2 mount", limiter.CpuLimit, StringComparison.Ordinal);
        Assert.Equal("RLIMIT_NPROC via prlimit (counts every process of the sandbox's host user)", limiter.ProcessLimit);
        Assert.Equal(["/usr/bin/prlimit", "--as=1048576:1048576", "--nproc=10:10", "--", "bwrap"],
            limiter.Apply("r", new ResourceLimits(500, 1L << 20, 10)).Wrap(["bwrap"]));
    }

    [Fact]
    public void Explicitly_requested_cgroup_v2_that_cannot_work_is_an_error()
    {
        var options = new BubblewrapSandboxOptions { CgroupRoot = Path.Combine(_root, "nothing-here"), Limits = SandboxLimitMechanism.CgroupV2 };

        var error = Assert.Throws<SandboxException>(() => BubblewrapSandbox.SelectLimiter(options, "0::/\n", false));
        Assert.Contains("cgroup v2 limits were requested", error.Message, StringComparison.Ordinal);
    }
}
