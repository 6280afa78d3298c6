using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

/// <summary>The valid forms of the cluster, market, checkpoint and retries parts, and of gpu.interface.</summary>
public class JobSpecMarketReaderTests
{
    private static JobSpec ReadValid(string text)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.True(result.Succeeded, result.ToString());
        Assert.Empty(result.Errors);
        return result.Spec;
    }

    private static JobSpec ReadPlus(string lines) => ReadValid(SampleSpecs.MinimalPlus(lines));

    [Fact]
    public void The_documented_cluster_example_reads_to_the_expected_spec()
    {
        var spec = ReadValid(SampleSpecs.Cluster);

        var expected = new JobSpec
        {
            Version = "kumo/v1",
            Name = "llm-finetune",
            Resources = new ResourceRequest
            {
                CpuMillicores = 32_000,
                MemoryBytes = 512L << 30,
                DiskBytes = 2L << 40,
                Gpu = new GpuRequest
                {
                    Count = 8, Models = ["H100*"], MinVramBytes = 80L << 30, Vendor = "nvidia", Interface = "sxm",
                },
            },
            Workload = new Workload
            {
                Exec = new ExecWorkload { Command = "torchrun", Args = ["--nnodes=4", "train.py", "--checkpoint-dir", "ckpt"] },
                Inputs = [new JobInput { Name = "dataset.tar", Cid = SampleSpecs.Cid }],
                Outputs = ["model/**"],
            },
            MaxPricePerHourMicros = 80_000_000,
            Timeout = TimeSpan.FromDays(2),
            Cluster = new ClusterRequest { Nodes = 4, MaxRtt = TimeSpan.FromMilliseconds(5) },
            Market = new MarketTerms
            {
                Mode = MarketMode.Auction,
                Window = TimeSpan.FromSeconds(30),
                ManualAccept = true,
                MinReputation = 0.8,
                Regions = ["eu-west", "us-east"],
                Auditor = SampleSpecs.Auditor,
                Attested = new Dictionary<string, string> { ["tier"] = "datacenter" },
            },
            Checkpoint = new CheckpointPolicy { Path = "ckpt", Every = TimeSpan.FromMinutes(10) },
            Retries = 3,
        };
        Assert.Equal(expected, spec);
        Assert.Equal(4, spec.NodeCount);
    }

    [Fact]
    public void A_spec_without_the_new_parts_takes_their_defaults()
    {
        var spec = ReadValid(SampleSpecs.Minimal);

        Assert.Null(spec.Cluster);
        Assert.Equal(1, spec.NodeCount);
        Assert.Null(spec.Checkpoint);
        Assert.Equal(2, spec.Retries);
        Assert.Equal(MarketTerms.Default, spec.Market);
        var market = spec.Market;
        Assert.Equal(MarketMode.Auction, market.Mode);
        Assert.Equal(TimeSpan.FromSeconds(10), market.Window);
        Assert.False(market.ManualAccept);
        Assert.Null(market.PerformanceRatePerHourMicros);
        Assert.Equal(0, market.MinReputation);
        Assert.Empty(market.Regions);
        Assert.Null(market.Auditor);
        Assert.Empty(market.Attested);
    }

    [Fact]
    public void A_spec_built_in_code_has_the_same_defaults_as_one_read()
    {
        var built = new JobSpec
        {
            Version = JobSpec.CurrentVersion,
            Name = "minimal",
            Resources = new ResourceRequest { CpuMillicores = 500, MemoryBytes = 64L << 20, DiskBytes = 0 },
            Workload = new Workload { Exec = new ExecWorkload { Command = "/bin/true" } },
            MaxPricePerHourMicros = 1_000_000,
            Timeout = TimeSpan.FromSeconds(90),
        };

        Assert.Equal(ReadValid(SampleSpecs.Minimal), built);
        Assert.Equal(new MarketTerms(), MarketTerms.Default);
    }

    [Fact]
    public void Empty_new_parts_count_as_absent()
    {
        var spec = ReadPlus("cluster:\nmarket: ~\ncheckpoint: null\nretries:");

        Assert.Null(spec.Cluster);
        Assert.Equal(MarketTerms.Default, spec.Market);
        Assert.Null(spec.Checkpoint);
        Assert.Equal(2, spec.Retries);
    }

    [Theory]
    [InlineData("sxm", "sxm")]
    [InlineData("SXM", "sxm")]
    [InlineData("Sxm", "sxm")]
    [InlineData("pcie", "pcie")]
    [InlineData("PCIe", "pcie")]
    public void Gpu_interface_is_case_insensitive_and_stored_in_lower_case(string written, string stored)
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("disk: 0", $"disk: 0\n  gpu:\n    count: 1\n    interface: {written}"));

        Assert.Equal(stored, spec.Resources.Gpu!.Interface);
    }

    [Fact]
    public void Without_an_interface_any_is_accepted()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu: {count: 1}"));

        Assert.Null(spec.Resources.Gpu!.Interface);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(64)]
    public void A_cluster_has_one_to_sixty_four_nodes(int nodes)
    {
        var spec = ReadPlus($"cluster:\n  nodes: {nodes}");

        Assert.Equal(new ClusterRequest { Nodes = nodes }, spec.Cluster);
        Assert.Equal(nodes, spec.NodeCount);
    }

    [Fact]
    public void Thirty_two_nodes_of_sixteen_gpus_are_exactly_the_most_an_order_holds()
    {
        var spec = ReadValid(SampleSpecs.MinimalPlus("cluster: {nodes: 32}").Replace("disk: 0", "disk: 0\n  gpu: {count: 16}", StringComparison.Ordinal));

        Assert.Equal(512, spec.NodeCount * spec.Resources.Gpu!.Count);
    }

    [Theory]
    [InlineData("5ms", 5_000)]
    [InlineData("0.5ms", 500)]
    [InlineData("0.001ms", 1)]
    [InlineData("\"2ms\"", 2_000)]
    [InlineData("1s", 1_000_000)]
    [InlineData("0.01s", 10_000)]
    [InlineData("10s", 10_000_000)]
    [InlineData("10000ms", 10_000_000)]
    [InlineData("1.500ms", 1_500)]
    public void Max_rtt_is_read_in_milliseconds_or_seconds_to_the_microsecond(string written, long microseconds)
    {
        var spec = ReadPlus($"cluster:\n  nodes: 2\n  maxRtt: {written}");

        Assert.Equal(TimeSpan.FromMicroseconds(microseconds), spec.Cluster!.MaxRtt);
    }

    [Theory]
    [InlineData("auction", MarketMode.Auction)]
    [InlineData("market", MarketMode.Market)]
    [InlineData("Auction", MarketMode.Auction)]
    [InlineData("MARKET", MarketMode.Market)]
    public void Market_modes_are_read_in_any_case(string written, MarketMode mode)
    {
        var spec = ReadPlus($"market:\n  mode: {written}");

        Assert.Equal(mode, spec.Market.Mode);
        Assert.Null(spec.Market.PerformanceRatePerHourMicros);
    }

    [Theory]
    [InlineData("0.02", 20_000)]
    [InlineData("\"20000u\"", 20_000)]
    [InlineData("1", 1_000_000)]
    [InlineData("0.000001", 1)]
    public void The_performance_mode_reads_its_price_per_benchmark_unit_hour(string written, long micros)
    {
        var spec = ReadPlus($"market:\n  mode: performance\n  perBenchmarkHour: {written}");

        Assert.Equal(MarketMode.Performance, spec.Market.Mode);
        Assert.Equal(micros, spec.Market.PerformanceRatePerHourMicros);
    }

    [Theory]
    [InlineData("1", 1)]
    [InlineData("1s", 1)]
    [InlineData("10s", 10)]
    [InlineData("90s", 90)]
    [InlineData("\"2m\"", 120)]
    [InlineData("10m", 600)]
    public void The_window_is_read_as_a_duration(string written, long seconds)
    {
        var spec = ReadPlus($"market:\n  window: {written}");

        Assert.Equal(TimeSpan.FromSeconds(seconds), spec.Market.Window);
    }

    [Theory]
    [InlineData("auto", false)]
    [InlineData("manual", true)]
    [InlineData("Manual", true)]
    public void Accept_is_auto_or_manual(string written, bool manual)
    {
        var spec = ReadPlus($"market: {{accept: {written}}}");

        Assert.Equal(manual, spec.Market.ManualAccept);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("1", 1)]
    [InlineData("0.8", 0.8)]
    [InlineData("\"0.85\"", 0.85)]
    [InlineData("0.001", 0.001)]
    [InlineData("0.999", 0.999)]
    [InlineData("1.000", 1)]
    [InlineData("0.5000", 0.5)]
    public void Min_reputation_is_a_number_from_zero_to_one(string written, double reputation)
    {
        var spec = ReadPlus($"market:\n  minReputation: {written}");

        Assert.Equal(reputation, spec.Market.MinReputation);
    }

    [Fact]
    public void Regions_are_kept_in_the_order_written()
    {
        var flow = ReadPlus("market:\n  regions: [us-east, eu-west, ap-1]");
        var block = ReadPlus("market:\n  regions:\n    - us-east\n    - eu-west\n    - ap-1");
        var none = ReadPlus("market:\n  regions: []");

        Assert.Equal(["us-east", "eu-west", "ap-1"], flow.Market.Regions);
        Assert.Equal(flow.Market, block.Market);
        Assert.Empty(none.Market.Regions);
        Assert.Equal(MarketTerms.Default, none.Market);
    }

    [Fact]
    public void An_auditor_and_its_attested_attributes_are_read_together()
    {
        var spec = ReadPlus($"""
            market:
              auditor: {SampleSpecs.Auditor}
              attested:
                tier: datacenter
                iso.27001: "yes"
                power_backup: "2"
                country: de
            """);

        Assert.Equal(SampleSpecs.Auditor, spec.Market.Auditor);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["tier"] = "datacenter", ["iso.27001"] = "yes", ["power_backup"] = "2", ["country"] = "de",
            },
            spec.Market.Attested);
    }

    [Theory]
    [InlineData("ckpt")]
    [InlineData("state/ckpt")]
    [InlineData("\"out/ckpt-1\"")]
    [InlineData("inputs-copy")]
    [InlineData("my.inputs/x")]
    [InlineData("out/inputs")]
    public void A_checkpoint_lives_in_a_relative_directory_outside_inputs(string path)
    {
        var spec = ReadPlus($"checkpoint:\n  path: {path}");

        Assert.Equal(path.Trim('"'), spec.Checkpoint!.Path);
        Assert.Equal(TimeSpan.FromMinutes(5), spec.Checkpoint.Every);
    }

    [Theory]
    [InlineData("10s", 10)]
    [InlineData("600", 600)]
    [InlineData("1h30m", 5_400)]
    [InlineData("24h", 86_400)]
    [InlineData("1d", 86_400)]
    public void The_checkpoint_interval_is_read_as_a_duration(string written, long seconds)
    {
        var spec = ReadPlus($"checkpoint: {{path: ckpt, every: {written}}}");

        Assert.Equal(TimeSpan.FromSeconds(seconds), spec.Checkpoint!.Every);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(10)]
    public void Retries_are_zero_to_ten(int retries)
    {
        var spec = ReadPlus($"retries: {retries}");

        Assert.Equal(retries, spec.Retries);
    }

    [Fact]
    public void A_performance_job_in_json_is_read_with_the_same_rules()
    {
        var json = """
            {
              "version": "kumo/v1", "name": "bench-paid",
              "resources": {"cpu": 4, "memory": "16Gi", "disk": "100Gi", "gpu": {"count": 1, "interface": "PCIe"}},
              "workload": {"exec": {"command": "/bin/run"}},
              "price": {"maxPerHour": 3}, "timeout": "1h",
              "cluster": {"nodes": 2, "maxRtt": "0.25ms"},
              "market": {"mode": "performance", "perBenchmarkHour": "20000u", "window": 60, "accept": "auto",
                         "minReputation": 0.95, "regions": ["eu-west"], "auditor": null, "attested": {}},
              "checkpoint": {"path": "state", "every": 600},
              "retries": 0
            }
            """;

        var spec = ReadValid(json);

        Assert.Equal("pcie", spec.Resources.Gpu!.Interface);
        Assert.Equal(new ClusterRequest { Nodes = 2, MaxRtt = TimeSpan.FromMicroseconds(250) }, spec.Cluster);
        Assert.Equal(
            new MarketTerms
            {
                Mode = MarketMode.Performance,
                PerformanceRatePerHourMicros = 20_000,
                Window = TimeSpan.FromMinutes(1),
                MinReputation = 0.95,
                Regions = ["eu-west"],
            },
            spec.Market);
        Assert.Equal(new CheckpointPolicy { Path = "state", Every = TimeSpan.FromMinutes(10) }, spec.Checkpoint);
        Assert.Equal(0, spec.Retries);
    }

    [Fact]
    public void Market_terms_compare_by_value_lists_and_maps_included()
    {
        var a = new MarketTerms
        {
            Regions = ["eu-west", "us-east"],
            Auditor = SampleSpecs.Auditor,
            Attested = new Dictionary<string, string> { ["a"] = "1", ["b"] = "2" },
        };
        var same = a with
        {
            Regions = ["eu-west", "us-east"],
            Attested = new Dictionary<string, string> { ["b"] = "2", ["a"] = "1" },
        };

        Assert.Equal(a, same);
        Assert.Equal(a.GetHashCode(), same.GetHashCode());
        Assert.NotEqual(a, a with { Regions = ["us-east", "eu-west"] });
        Assert.NotEqual(a, a with { Attested = new Dictionary<string, string> { ["a"] = "1", ["b"] = "3" } });
        Assert.NotEqual(a, a with { Auditor = SampleSpecs.OtherAuditor });
        Assert.NotEqual(a, a with { MinReputation = 0.001 });
        Assert.NotEqual(new GpuRequest { Count = 1, Interface = "sxm" }, new GpuRequest { Count = 1, Interface = "pcie" });
    }
}
