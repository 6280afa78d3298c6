using Kumo.Hardware;
using Kumo.Provider.Inventory;

namespace Kumo.Provider.Tests.Inventory;

public sealed class NvidiaSmiParserTests
{
    private const long MiB = 1024 * 1024;

    private static List<GpuDevice> Parse(string output, out List<string> warnings)
    {
        warnings = [];
        return NvidiaSmiParser.ParseQuery(output, warnings);
    }

    [Fact]
    public void Eight_h100_box()
    {
        var gpus = Parse(CapturedOutputs.EightH100, out var warnings);

        Assert.Empty(warnings);
        Assert.Equal(Enumerable.Range(0, 8), gpus.Select(g => g.Index));
        Assert.All(gpus, g =>
        {
            Assert.Equal("NVIDIA H100 80GB HBM3", g.Model);
            Assert.Equal(81559 * MiB, g.VramBytes);
            Assert.Equal("nvidia", g.Vendor);
            Assert.Equal("550.54.15", g.DriverVersion);
            Assert.False(g.Simulated);
            Assert.Null(g.CudaVersion);
        });
        Assert.Equal("GPU-9d1a4f1e-3b2c-4f6a-8e7d-1c2b3a4d5e67", gpus[7].Uuid);
        Assert.Equal("00000000:DB:00.0", gpus[7].PciBusId);
        Assert.Equal(8, gpus.Select(g => g.Uuid).Distinct().Count());
    }

    [Fact]
    public void Four_a100_box_keeps_dashes_in_the_name()
    {
        var gpus = Parse(CapturedOutputs.FourA100, out var warnings);

        Assert.Empty(warnings);
        Assert.Equal(4, gpus.Count);
        Assert.All(gpus, g => Assert.Equal("NVIDIA A100-SXM4-40GB", g.Model));
        Assert.All(gpus, g => Assert.Equal(40L << 30, g.VramBytes));
        Assert.Equal(["00000000:07:00.0", "00000000:0F:00.0", "00000000:47:00.0", "00000000:4E:00.0"], gpus.Select(g => g.PciBusId));
    }

    [Fact]
    public void Single_rtx_4090_desktop()
    {
        var gpu = Assert.Single(Parse(CapturedOutputs.OneRtx4090, out var warnings));

        Assert.Empty(warnings);
        Assert.Equal(new GpuDevice(0, "nvidia", "NVIDIA GeForce RTX 4090", 24564 * MiB, "GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a258",
            "545.29.06", null, "00000000:01:00.0", false), gpu);
    }

    [Fact]
    public void Mixed_box_with_padded_fields()
    {
        var gpus = Parse(CapturedOutputs.Mixed, out var warnings);

        Assert.Empty(warnings);
        Assert.Equal(["NVIDIA GeForce RTX 3090", "NVIDIA RTX A6000", "Tesla T4"], gpus.Select(g => g.Model));
        Assert.Equal([24576 * MiB, 49140 * MiB, 15360 * MiB], gpus.Select(g => g.VramBytes));
        Assert.Equal("GPU-1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809", gpus[1].Uuid);
        Assert.Equal("535.183.01", gpus[1].DriverVersion);
    }

    [Fact]
    public void Unavailable_optional_fields_become_null_and_unavailable_memory_skips_the_gpu()
    {
        var gpus = Parse(CapturedOutputs.WithNotAvailable, out var warnings);

        var gpu = Assert.Single(gpus);
        Assert.Equal(0, gpu.Index);
        Assert.Null(gpu.DriverVersion);
        Assert.Null(gpu.PciBusId);
        Assert.Equal(23028 * MiB, gpu.VramBytes);
        var warning = Assert.Single(warnings);
        Assert.Contains("line 2", warning, StringComparison.Ordinal);
        Assert.Contains("memory.total '[N/A]'", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_output_means_no_gpu()
    {
        Assert.Empty(Parse("", out var warnings));
        Assert.Empty(warnings);
        Assert.Empty(Parse("\n\n", out _));
    }

    [Fact]
    public void Garbage_lines_are_skipped_with_a_warning_each_and_good_lines_kept()
    {
        var gpus = Parse(CapturedOutputs.Garbage, out var warnings);

        var gpu = Assert.Single(gpus);
        Assert.Equal("GPU-6b2a9e4c-5d1f-8a73-c0e2-94b1d7f3a258", gpu.Uuid);
        Assert.Equal(5, warnings.Count);
        Assert.Contains("line 1 skipped: expected 6 comma-separated fields", warnings[0], StringComparison.Ordinal);
        Assert.Contains("index 'x' is not a number", warnings[1], StringComparison.Ordinal);
        Assert.Contains("memory.total 'lots'", warnings[2], StringComparison.Ordinal);
        Assert.Contains("uuid 'not-a-uuid'", warnings[3], StringComparison.Ordinal);
        Assert.Contains("appears twice", warnings[4], StringComparison.Ordinal);
    }

    [Fact]
    public void A_name_containing_a_comma_is_kept_whole()
    {
        var gpu = Assert.Single(Parse("0, NVIDIA Future, Edition, 1024, GPU-00000000-0000-0000-0000-000000000000, 600.1, 00000000:01:00.0", out _));

        Assert.Equal("NVIDIA Future, Edition", gpu.Model);
        Assert.Equal(1024 * MiB, gpu.VramBytes);
    }

    [Theory]
    [InlineData(CapturedOutputs.BannerH100, "12.4")]
    [InlineData(CapturedOutputs.BannerOld, "11.4")]
    [InlineData(CapturedOutputs.BannerNoCuda, null)]
    [InlineData("", null)]
    [InlineData("| NVIDIA-SMI 580.65.06   Driver Version: 580.65.06   CUDA Version: 13.0 |", "13.0")]
    public void Cuda_version_comes_from_the_banner(string banner, string? expected)
    {
        Assert.Equal(expected, NvidiaSmiParser.ParseCudaVersion(banner));
    }
}
