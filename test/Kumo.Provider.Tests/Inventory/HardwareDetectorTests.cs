using Kumo.Hardware;
using Kumo.Provider.Inventory;

namespace Kumo.Provider.Tests.Inventory;

public sealed class HardwareDetectorTests
{
    private static FakeHostSystem Host() => new()
    {
        Files =
        {
            ["/proc/cpuinfo"] = CapturedOutputs.CpuInfoTwoSocketsWithSmt,
            ["/proc/meminfo"] = CapturedOutputs.MemInfo,
            ["/etc/os-release"] = CapturedOutputs.OsRelease,
        },
    };

    [Fact]
    public async Task A_gpu_box_is_inventoried_with_cuda_version_from_the_banner()
    {
        var host = Host().WithNvidia(CapturedOutputs.EightH100, CapturedOutputs.BannerH100);

        var (inventory, warnings) = await new HardwareDetector(host).DetectAsync("/var/lib/kumo", CancellationToken.None);

        Assert.Empty(warnings);
        Assert.Equal(new CpuInfo("Intel(R) Xeon(R) Platinum 8480+", 12, 4), inventory.Cpu);
        Assert.Equal(263842204L * 1024, inventory.MemoryBytes);
        Assert.Equal(500L << 30, inventory.DiskBytes);
        Assert.Equal("Ubuntu 22.04.4 LTS", inventory.Os);
        Assert.Equal("x64", inventory.Architecture);
        Assert.Equal(8, inventory.Gpus.Count);
        Assert.All(inventory.Gpus, g => Assert.Equal("12.4", g.CudaVersion));
        Assert.False(inventory.HasSimulatedGpus);
    }

    [Fact]
    public async Task Without_nvidia_smi_there_are_no_gpus_and_no_error()
    {
        var host = Host();

        var (inventory, warnings) = await new HardwareDetector(host).DetectAsync("/var/lib/kumo", CancellationToken.None);

        Assert.Empty(inventory.Gpus);
        Assert.Empty(warnings);
        Assert.Single(host.Ran);
    }

    [Fact]
    public async Task A_failing_nvidia_smi_means_no_gpus_with_a_warning()
    {
        var host = Host();
        host.Commands["nvidia-smi " + string.Join(' ', NvidiaSmiParser.QueryArguments)] = new CommandOutput(9,
            "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n", "");

        var (inventory, warnings) = await new HardwareDetector(host).DetectAsync("/var/lib/kumo", CancellationToken.None);

        Assert.Empty(inventory.Gpus);
        var warning = Assert.Single(warnings);
        Assert.Contains("exit code 9", warning, StringComparison.Ordinal);
        Assert.Contains("couldn't communicate with the NVIDIA driver", warning, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_banner_without_cuda_leaves_it_unknown()
    {
        var host = Host().WithNvidia(CapturedOutputs.OneRtx4090, CapturedOutputs.BannerNoCuda);

        var (inventory, warnings) = await new HardwareDetector(host).DetectAsync("/var/lib/kumo", CancellationToken.None);

        Assert.Null(Assert.Single(inventory.Gpus).CudaVersion);
        Assert.Contains("no CUDA version", Assert.Single(warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_query_output_needs_no_banner_call()
    {
        var host = Host().WithNvidia("", CapturedOutputs.BannerH100);

        var (inventory, _) = await new HardwareDetector(host).DetectAsync("/var/lib/kumo", CancellationToken.None);

        Assert.Empty(inventory.Gpus);
        Assert.Single(host.Ran);
    }

    [Fact]
    public void Arm_cpuinfo_falls_back_to_the_board_model_and_unknown_physical_cores()
    {
        Assert.Equal(new CpuInfo("Raspberry Pi 4 Model B Rev 1.4", 4, null), HardwareDetector.ParseCpu(CapturedOutputs.CpuInfoArm, 4));
    }

    [Fact]
    public void Missing_proc_files_are_reported_not_fatal()
    {
        Assert.Equal(new CpuInfo(HardwareDetector.UnknownModel, 1, null), HardwareDetector.ParseCpu("", 0));
        Assert.Equal(0, HardwareDetector.ParseMemTotal(""));
    }

    [Theory]
    [InlineData("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"", "Debian GNU/Linux 12 (bookworm)")]
    [InlineData("NAME=Fedora\nVERSION='40 (Server Edition)'", "Fedora 40 (Server Edition)")]
    [InlineData("# comment\nPRETTY_NAME=\"Say \\\"hi\\\"\"", "Say \"hi\"")]
    [InlineData("ID=alpine", null)]
    public void Os_release_pretty_name(string text, string? expected)
    {
        Assert.Equal(expected, HardwareDetector.ParseOsRelease(text));
    }

    [Fact]
    public async Task This_machine_is_detected()
    {
        var dir = Path.Combine(Path.GetTempPath(), "kumo-inventory-" + Guid.NewGuid().ToString("N"), "not-yet-created");

        var (inventory, warnings) = await new HardwareDetector().DetectAsync(dir, CancellationToken.None);

        Assert.Empty(warnings);
        Assert.NotEqual(HardwareDetector.UnknownModel, inventory.Cpu.Model);
        Assert.Equal(Environment.ProcessorCount, inventory.Cpu.LogicalCores);
        Assert.True(inventory.MemoryBytes > 256L << 20);
        Assert.True(inventory.DiskBytes > 0);
        Assert.False(string.IsNullOrWhiteSpace(inventory.Os));
        Assert.Equal(System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant(), inventory.Architecture);
        Assert.DoesNotContain(inventory.Gpus, g => g.Simulated);
    }

    [Fact]
    public async Task A_program_that_is_not_installed_is_null_on_the_local_host()
    {
        Assert.Null(await new LocalHostSystem().RunAsync("kumo-no-such-program", [], CancellationToken.None));
        var echo = await new LocalHostSystem().RunAsync("echo", ["hi"], CancellationToken.None);
        Assert.Equal(new CommandOutput(0, "hi\n", ""), echo);
    }

    [Fact]
    public async Task A_hanging_program_is_killed_and_reported_as_failed()
    {
        var result = await new LocalHostSystem(TimeSpan.FromMilliseconds(200)).RunAsync("sleep", ["30"], CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal(-1, result.ExitCode);
        Assert.Contains("did not finish", result.Stderr, StringComparison.Ordinal);
    }
}
