using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

public class JobSpecReaderTests
{
    private static JobSpec ReadValid(string text)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Empty(result.Errors);
        return result.Spec;
    }

    [Fact]
    public void The_documented_example_reads_to_the_expected_spec()
    {
        var spec = ReadValid(SampleSpecs.Full);

        var expected = new JobSpec
        {
            Version = "kumo/v1",
            Name = "hello-world",
            Resources = new ResourceRequest
            {
                CpuMillicores = 1000,
                MemoryBytes = 256L << 20,
                DiskBytes = 1L << 30,
                Gpu = new GpuRequest { Count = 1, Models = ["H100*"], MinVramBytes = 40L << 30, Vendor = "nvidia" },
            },
            Workload = new Workload
            {
                Exec = new ExecWorkload
                {
                    Command = "/bin/sh",
                    Args = ["-c", "echo hi > out/hello.txt"],
                    Env = new Dictionary<string, string> { ["GREETING"] = "hello" },
                    Network = false,
                },
                Inputs =
                [
                    new JobInput { Name = "words.txt", Path = "./words.txt" },
                    new JobInput { Name = "model.bin", Cid = SampleSpecs.Cid },
                ],
                Outputs = ["out/*.txt"],
            },
            MaxPricePerHourMicros = 2_500_000,
            Timeout = TimeSpan.FromMinutes(10),
        };
        Assert.Equal(expected, spec);
    }

    [Fact]
    public void Optional_fields_take_their_defaults()
    {
        var spec = ReadValid(SampleSpecs.Minimal);

        Assert.Null(spec.Resources.Gpu);
        Assert.Equal(0, spec.Resources.DiskBytes);
        var exec = Assert.IsType<ExecWorkload>(spec.Workload.Exec);
        Assert.Empty(exec.Args);
        Assert.Empty(exec.Env);
        Assert.False(exec.Network);
        Assert.Empty(spec.Workload.Inputs);
        Assert.Empty(spec.Workload.Outputs);
    }

    [Theory]
    [InlineData("1", 1000)]
    [InlineData("16", 16_000)]
    [InlineData("0.5", 500)]
    [InlineData("\"0.5\"", 500)]
    [InlineData("1.25", 1250)]
    [InlineData("0.001", 1)]
    [InlineData("1.5000", 1500)]
    [InlineData("500m", 500)]
    [InlineData("\"1500m\"", 1500)]
    [InlineData("1024", 1_024_000)]
    public void Cpu_is_read_as_cores_or_millicores(string written, int millicores)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("cpu: 500m", $"cpu: {written}"));

        Assert.Equal(millicores, spec.Resources.CpuMillicores);
    }

    [Theory]
    [InlineData("1048576", 1L << 20)]
    [InlineData("1024Ki", 1L << 20)]
    [InlineData("256Mi", 256L << 20)]
    [InlineData("2Gi", 2L << 30)]
    [InlineData("1Ti", 1L << 40)]
    [InlineData("64Ti", 64L << 40)]
    [InlineData("1.5Gi", 3L << 29)]
    [InlineData("2000K", 2_000_000)]
    [InlineData("256M", 256_000_000)]
    [InlineData("4G", 4_000_000_000)]
    [InlineData("1T", 1_000_000_000_000)]
    [InlineData("\"512Mi\"", 512L << 20)]
    public void Memory_is_read_as_bytes_with_binary_or_decimal_units(string written, long bytes)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("memory: 64Mi", $"memory: {written}"));

        Assert.Equal(bytes, spec.Resources.MemoryBytes);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("10Gi", 10L << 30)]
    [InlineData("1Pi", 1L << 50)]
    [InlineData("1P", 1_000_000_000_000_000)]
    public void Disk_is_read_as_bytes(string written, long bytes)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("disk: 0", $"disk: {written}"));

        Assert.Equal(bytes, spec.Resources.DiskBytes);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("600", 600)]
    [InlineData("\"600\"", 600)]
    [InlineData("90s", 90)]
    [InlineData("10m", 600)]
    [InlineData("2h", 7200)]
    [InlineData("1h30m", 5400)]
    [InlineData("1d", 86_400)]
    [InlineData("1d2h3m4s", 93_784)]
    [InlineData("30d", 2_592_000)]
    public void Timeout_is_read_as_seconds_or_with_units(string written, long seconds)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("timeout: 90s", $"timeout: {written}"));

        Assert.Equal(TimeSpan.FromSeconds(seconds), spec.Timeout);
    }

    [Theory]
    [InlineData("1", 1_000_000)]
    [InlineData("2.5", 2_500_000)]
    [InlineData("0.000001", 1)]
    [InlineData("\"0.25\"", 250_000)]
    [InlineData("\"2500000u\"", 2_500_000)]
    [InlineData("1u", 1)]
    [InlineData("1000000", 1_000_000_000_000)]
    public void Price_is_read_as_kumo_or_micro_kumo(string written, long micros)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("maxPerHour: 1", $"maxPerHour: {written}"));

        Assert.Equal(micros, spec.MaxPricePerHourMicros);
    }

    [Fact]
    public void Gpu_model_may_be_one_string_or_a_list()
    {
        var one = ReadValid(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu:\n    count: 2\n    model: A100*"));
        var many = ReadValid(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu:\n    count: 2\n    model: [\"H100*\", a100-80gb]"));
        var none = ReadValid(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu:\n    count: 8"));

        Assert.Equal(["A100*"], one.Resources.Gpu!.Models);
        Assert.Equal(["H100*", "a100-80gb"], many.Resources.Gpu!.Models);
        Assert.Empty(none.Resources.Gpu!.Models);
        Assert.Equal(0, none.Resources.Gpu.MinVramBytes);
        Assert.Null(none.Resources.Gpu.Vendor);
    }

    [Theory]
    [InlineData("nvidia")]
    [InlineData("NVIDIA")]
    [InlineData("Nvidia")]
    public void Gpu_vendor_is_case_insensitive_and_stored_in_lower_case(string written)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("disk: 0", $"disk: 0\n  gpu:\n    count: 1\n    vendor: {written}"));

        Assert.Equal("nvidia", spec.Resources.Gpu!.Vendor);
    }

    [Fact]
    public void Amd_and_intel_are_accepted_vendors()
    {
        foreach (var vendor in new[] { "amd", "intel" })
        {
            var spec = ReadValid(SampleSpecs.MinimalWith("disk: 0", $"disk: 0\n  gpu:\n    count: 1\n    vendor: {vendor}"));
            Assert.Equal(vendor, spec.Resources.Gpu!.Vendor);
        }
    }

    [Fact]
    public void Network_true_turns_the_network_on()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    network: true"));

        Assert.True(spec.Workload.Exec!.Network);
    }

    [Fact]
    public void Args_and_env_in_block_style_are_read_in_order()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", """
            command: python3
                args:
                  - train.py
                  - --epochs
                  - "3"
                  - 'yes'
                  - no
                env:
                  LEARNING_RATE: "0.01"
                  MODE: fast
                  _private: "on"
            """));

        var exec = spec.Workload.Exec!;
        Assert.Equal(["train.py", "--epochs", "3", "yes", "no"], exec.Args);
        Assert.Equal("0.01", exec.Env["LEARNING_RATE"]);
        Assert.Equal("fast", exec.Env["MODE"]);
        Assert.Equal("on", exec.Env["_private"]);
    }

    [Fact]
    public void Empty_optional_fields_count_as_absent()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", """
            command: /bin/true
                args:
                env: ~
              inputs:
              outputs: null
            """));

        Assert.Empty(spec.Workload.Exec!.Args);
        Assert.Empty(spec.Workload.Inputs);
    }

    [Fact]
    public void Block_scalars_and_comments_are_fine()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", """
            # the shell does the work
                command: /bin/sh
                args:
                  - -c
                  - |
                    echo one
                    echo two
            """));

        Assert.Equal("echo one\necho two\n", spec.Workload.Exec!.Args[1]);
    }

    [Fact]
    public void Anchors_and_aliases_are_resolved()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", """
            command: &tool /usr/bin/tool
                args: [*tool]
            """));

        Assert.Equal(["/usr/bin/tool"], spec.Workload.Exec!.Args);
    }

    [Fact]
    public void A_byte_order_mark_and_windows_line_ends_are_accepted()
    {
        var spec = ReadValid("\uFEFF" + SampleSpecs.Minimal.Replace("\n", "\r\n", StringComparison.Ordinal));

        Assert.Equal("minimal", spec.Name);
    }

    [Fact]
    public void An_explicit_document_start_and_end_are_accepted()
    {
        var spec = ReadValid("---\n" + SampleSpecs.Minimal + "\n...\n");

        Assert.Equal("minimal", spec.Name);
    }

    [Fact]
    public void Json_text_is_read_with_the_same_rules()
    {
        var json = """
            {
              "version": "kumo/v1",
              "name": "from-json",
              "resources": {"cpu": "1500m", "memory": 268435456, "disk": 0,
                            "gpu": {"count": 2, "model": ["H100*"], "vram": 42949672960, "vendor": "nvidia"}},
              "workload": {
                "exec": {"command": "/bin/sh", "args": ["-c", "echo \u00e9 \ud83d\ude00 > out/x"], "env": {"A": "1"}, "network": true},
                "inputs": [{"name": "data.bin", "cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}],
                "outputs": ["out/**"]
              },
              "price": {"maxPerHour": "2500000u"},
              "timeout": 3600
            }
            """;

        var spec = ReadValid(json);

        Assert.Equal(1500, spec.Resources.CpuMillicores);
        Assert.Equal(256L << 20, spec.Resources.MemoryBytes);
        Assert.Equal(40L << 30, spec.Resources.Gpu!.MinVramBytes);
        Assert.Equal("echo é 😀 > out/x", spec.Workload.Exec!.Args[1]);
        Assert.True(spec.Workload.Exec.Network);
        Assert.Equal(SampleSpecs.Cid, spec.Workload.Inputs[0].Cid);
        Assert.Equal(2_500_000, spec.MaxPricePerHourMicros);
        Assert.Equal(TimeSpan.FromHours(1), spec.Timeout);
    }

    [Fact]
    public void Compact_json_on_one_line_is_read()
    {
        var json =
            "{\"version\":\"kumo/v1\",\"name\":\"x\",\"resources\":{\"cpu\":1,\"memory\":1048576,\"disk\":0}," +
            "\"workload\":{\"exec\":{\"command\":\"a\"}},\"price\":{\"maxPerHour\":1},\"timeout\":1}";

        var spec = ReadValid(json);

        Assert.Equal("x", spec.Name);
    }
}
