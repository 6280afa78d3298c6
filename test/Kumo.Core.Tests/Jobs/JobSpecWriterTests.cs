using System.Text.Json.Nodes;
using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

public class JobSpecWriterTests
{
    private static JobSpec ReadValid(string text, string sourceName = "job.yaml")
    {
        var result = JobSpecReader.Read(text, sourceName);
        Assert.True(result.Succeeded, result.ToString());
        return result.Spec;
    }

    /// <summary>The documented example after the CLI uploaded its local input.</summary>
    private static JobSpec UploadedFull()
    {
        var spec = ReadValid(SampleSpecs.Full);
        return spec with
        {
            Workload = spec.Workload with
            {
                Inputs = [.. spec.Workload.Inputs.Select(i => i.Path is null ? i : i with { Path = null, Cid = SampleSpecs.OtherCid })],
            },
        };
    }

    [Fact]
    public void The_wire_form_spells_every_quantity_as_an_exact_integer_form()
    {
        var json = JobSpecWriter.ToJson(UploadedFull());

        var expected =
            "{\"version\":\"kumo/v1\",\"name\":\"hello-world\"," +
            "\"resources\":{\"cpu\":\"1000m\",\"memory\":268435456,\"disk\":1073741824," +
            "\"gpu\":{\"count\":1,\"model\":[\"H100*\"],\"vram\":42949672960,\"vendor\":\"nvidia\"}}," +
            "\"workload\":{\"exec\":{\"command\":\"/bin/sh\",\"args\":[\"-c\",\"echo hi > out/hello.txt\"]," +
            "\"env\":{\"GREETING\":\"hello\"},\"network\":false}," +
            "\"inputs\":[{\"name\":\"words.txt\",\"cid\":\"" + SampleSpecs.OtherCid + "\"}," +
            "{\"name\":\"model.bin\",\"cid\":\"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku\"}]," +
            "\"outputs\":[\"out/*.txt\"]}," +
            "\"price\":{\"maxPerHour\":\"2500000u\"},\"timeout\":600," +
            "\"market\":{\"mode\":\"auction\",\"window\":10,\"accept\":\"auto\",\"perBenchmarkHour\":null," +
            "\"minReputation\":0,\"regions\":[],\"auditor\":null,\"attested\":{}},\"retries\":2}";
        Assert.Equal(expected, json);
    }

    [Fact]
    public void The_wire_form_of_the_cluster_example_carries_the_new_parts_normalized()
    {
        var json = JobSpecWriter.ToJson(ReadValid(SampleSpecs.Cluster.Replace("interface: sxm", "interface: SXM", StringComparison.Ordinal)));

        Assert.Contains(
            "\"gpu\":{\"count\":8,\"model\":[\"H100*\"],\"vram\":85899345920,\"vendor\":\"nvidia\",\"interface\":\"sxm\"}",
            json, StringComparison.Ordinal);
        Assert.EndsWith(
            "\"price\":{\"maxPerHour\":\"80000000u\"},\"timeout\":172800," +
            "\"cluster\":{\"nodes\":4,\"maxRtt\":\"5ms\"}," +
            "\"market\":{\"mode\":\"auction\",\"window\":30,\"accept\":\"manual\",\"perBenchmarkHour\":null," +
            "\"minReputation\":0.8,\"regions\":[\"eu-west\",\"us-east\"],\"auditor\":\"" + SampleSpecs.Auditor + "\"," +
            "\"attested\":{\"tier\":\"datacenter\"}}," +
            "\"checkpoint\":{\"path\":\"ckpt\",\"every\":600},\"retries\":3}",
            json, StringComparison.Ordinal);
    }

    [Fact]
    public void The_performance_mode_writes_its_rate_in_micro_kumo()
    {
        var spec = ReadValid(SampleSpecs.MinimalPlus("market: {mode: Performance, perBenchmarkHour: 0.02}"));

        var market = JobSpecWriter.ToJsonObject(spec)["market"]!.AsObject();

        Assert.Equal("performance", market["mode"]!.GetValue<string>());
        Assert.Equal("20000u", market["perBenchmarkHour"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("5ms", "5ms")]
    [InlineData("0.5ms", "0.5ms")]
    [InlineData("0.001ms", "0.001ms")]
    [InlineData("1.25ms", "1.25ms")]
    [InlineData("1s", "1000ms")]
    [InlineData("0.0105s", "10.5ms")]
    public void Max_rtt_is_written_in_milliseconds(string written, string wire)
    {
        var spec = ReadValid(SampleSpecs.MinimalPlus($"cluster: {{nodes: 2, maxRtt: {written}}}"));

        var json = JobSpecWriter.ToJsonObject(spec);

        Assert.Equal(wire, json["cluster"]!["maxRtt"]!.GetValue<string>());
        Assert.Equal(spec, ReadValid(json.ToJsonString(), "wire.json"));
    }

    [Fact]
    public void Absent_cluster_and_checkpoint_are_left_out_and_an_absent_rtt_is_null()
    {
        var minimal = JobSpecWriter.ToJsonObject(ReadValid(SampleSpecs.Minimal));
        var cluster = JobSpecWriter.ToJsonObject(ReadValid(SampleSpecs.MinimalPlus("cluster: {nodes: 3}")));

        Assert.False(minimal.ContainsKey("cluster"));
        Assert.False(minimal.ContainsKey("checkpoint"));
        Assert.True(minimal.ContainsKey("market"));
        Assert.Equal(2, minimal["retries"]!.GetValue<int>());
        Assert.Equal(3, cluster["cluster"]!["nodes"]!.GetValue<int>());
        Assert.True(cluster["cluster"]!.AsObject().ContainsKey("maxRtt"));
        Assert.Null(cluster["cluster"]!["maxRtt"]);
    }

    [Fact]
    public void Attested_attributes_are_written_sorted_by_name_and_regions_as_given()
    {
        var spec = ReadValid(SampleSpecs.MinimalPlus(
            $"market:\n  regions: [us-east, eu-west]\n  auditor: {SampleSpecs.Auditor}\n  attested: {{z: '1', a: '2', m: '3'}}"));

        var market = JobSpecWriter.ToJsonObject(spec)["market"]!;

        Assert.Equal(["a", "m", "z"], market["attested"]!.AsObject().Select(pair => pair.Key));
        Assert.Equal(["us-east", "eu-west"], market["regions"]!.AsArray().Select(r => r!.GetValue<string>()));
    }

    [Theory]
    [InlineData(0.001, "0.001")]
    [InlineData(0.5, "0.5")]
    [InlineData(0.999, "0.999")]
    [InlineData(1, "1")]
    public void Min_reputation_is_written_as_a_plain_number(double reputation, string written)
    {
        var spec = ReadValid(SampleSpecs.Minimal) with { Market = new MarketTerms { MinReputation = reputation } };

        var json = JobSpecWriter.ToJson(spec);

        Assert.Contains($"\"minReputation\":{written},", json, StringComparison.Ordinal);
        Assert.Equal(spec, ReadValid(json, "wire.json"));
    }

    [Fact]
    public void Writing_durations_the_wire_form_cannot_carry_throws()
    {
        var spec = ReadValid(SampleSpecs.Minimal);

        Assert.Throws<InvalidOperationException>(() => JobSpecWriter.ToJson(
            spec with { Market = new MarketTerms { Window = TimeSpan.FromMilliseconds(1500) } }));
        Assert.Throws<InvalidOperationException>(() => JobSpecWriter.ToJson(
            spec with { Checkpoint = new CheckpointPolicy { Path = "ckpt", Every = TimeSpan.FromMilliseconds(10_500) } }));
        Assert.Throws<InvalidOperationException>(() => JobSpecWriter.ToJson(
            spec with { Cluster = new ClusterRequest { Nodes = 2, MaxRtt = TimeSpan.FromTicks(15) } }));
    }

    [Fact]
    public void The_cluster_example_survives_a_round_trip_through_the_wire_form_reader()
    {
        var spec = ReadValid(SampleSpecs.Cluster);

        var json = JobSpecWriter.ToJson(spec);
        var result = JobSpecReader.ReadWireForm(json, "wire.json");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(spec, result.Spec);
        Assert.Equal(json, JobSpecWriter.ToJson(result.Spec));
        Assert.Equal(spec, ReadValid(JobSpecWriter.ToJson(spec, indented: true), "wire.json"));
    }

    [Fact]
    public void Optional_parts_are_written_out_and_an_absent_gpu_is_left_out()
    {
        var json = JobSpecWriter.ToJsonObject(ReadValid(SampleSpecs.Minimal));

        var resources = json["resources"]!.AsObject();
        Assert.False(resources.ContainsKey("gpu"));
        Assert.Equal("500m", resources["cpu"]!.GetValue<string>());
        var exec = json["workload"]!["exec"]!.AsObject();
        Assert.Empty(exec["args"]!.AsArray());
        Assert.Empty(exec["env"]!.AsObject());
        Assert.False(exec["network"]!.GetValue<bool>());
        Assert.Empty(json["workload"]!["inputs"]!.AsArray());
        Assert.Empty(json["workload"]!["outputs"]!.AsArray());
        Assert.Equal(90, json["timeout"]!.GetValue<long>());
    }

    [Fact]
    public void Environment_variables_are_written_sorted_by_name()
    {
        var spec = ReadValid(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    env: {Z: '1', A: '2', M: '3'}"));

        var env = JobSpecWriter.ToJsonObject(spec)["workload"]!["exec"]!["env"]!.AsObject();

        Assert.Equal(["A", "M", "Z"], env.Select(pair => pair.Key));
    }

    [Fact]
    public void The_same_spec_always_gives_the_same_text()
    {
        Assert.Equal(JobSpecWriter.ToJson(UploadedFull()), JobSpecWriter.ToJson(UploadedFull()));
    }

    [Fact]
    public void Writing_an_input_that_has_only_a_local_path_throws()
    {
        var spec = ReadValid(SampleSpecs.Full);

        var e = Assert.Throws<InvalidOperationException>(() => JobSpecWriter.ToJson(spec));

        Assert.Contains("words.txt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Writing_a_timeout_with_a_fraction_of_a_second_throws()
    {
        var spec = ReadValid(SampleSpecs.Minimal) with { Timeout = TimeSpan.FromMilliseconds(1500) };

        Assert.Throws<InvalidOperationException>(() => JobSpecWriter.ToJson(spec));
    }

    [Fact]
    public void The_documented_example_survives_a_round_trip_through_the_wire_form()
    {
        var spec = UploadedFull();

        var json = JobSpecWriter.ToJson(spec);
        var reread = ReadValid(json, "wire.json");

        Assert.Equal(spec, reread);
        Assert.Equal(json, JobSpecWriter.ToJson(reread));
    }

    [Fact]
    public void The_wire_form_reader_accepts_what_the_writer_writes()
    {
        var spec = UploadedFull();

        var result = JobSpecReader.ReadWireForm(JobSpecWriter.ToJson(spec), "wire.json");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(spec, result.Spec);
    }

    [Fact]
    public void The_wire_form_reader_refuses_local_paths_at_the_path()
    {
        var result = JobSpecReader.ReadWireForm(SampleSpecs.Full, "job.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal("workload.inputs[0].path", error.Path);
        Assert.Equal((20, 13), (error.Line, error.Column));
        Assert.StartsWith("a submitted spec names inputs by cid only", error.Message, StringComparison.Ordinal);
        Assert.Single(JobSpecValidator.ValidateWireForm(ReadValid(SampleSpecs.Full)));
    }

    [Fact]
    public void Indented_output_reads_back_the_same()
    {
        var spec = UploadedFull();

        var indented = JobSpecWriter.ToJson(spec, indented: true);

        Assert.Contains('\n', indented);
        Assert.Equal(spec, ReadValid(indented, "wire.json"));
    }

    [Fact]
    public void Text_that_needs_escaping_survives_a_round_trip()
    {
        var spec = ReadValid(SampleSpecs.Minimal) with
        {
            Workload = new Workload
            {
                Exec = new ExecWorkload
                {
                    Command = "/bin/sh",
                    Args =
                    [
                        "quote \" backslash \\ tab \t newline \n", "é 😀 \u2028 <>&'+", "\u0001\u007f\u00a0\ufeff", "",
                        "null", "1", "true", "~", "- x", "#", "*a", "&a", "{}", "[]", "'", "%", "@", "`",
                    ],
                    Env = new Dictionary<string, string> { ["EMPTY"] = "", ["UNICODE"] = "日本語" },
                },
                Outputs = ["out/*", "a b/c"],
            },
        };

        Assert.Equal(spec, ReadValid(JobSpecWriter.ToJson(spec), "wire.json"));
        Assert.Equal(spec, ReadValid(JobSpecWriter.ToJson(spec, indented: true), "wire.json"));
    }

    [Fact]
    public void Random_valid_specs_survive_a_round_trip()
    {
        var random = new Random(20240601);
        for (var i = 0; i < 300; i++)
        {
            var spec = RandomSpec(random);
            var problems = JobSpecValidator.Validate(spec);
            Assert.True(problems.Count == 0, $"case {i}: " + string.Join("\n", problems));

            var json = JobSpecWriter.ToJson(spec);
            var result = JobSpecReader.Read(json, "wire.json");

            Assert.True(result.Succeeded, $"case {i}: {json}\n{result}");
            Assert.Equal(spec, result.Spec);
            Assert.Equal(json, JobSpecWriter.ToJson(result.Spec));
        }
    }

    [Fact]
    public void The_wire_form_is_json_that_standard_parsers_read()
    {
        var node = JsonNode.Parse(JobSpecWriter.ToJson(UploadedFull()));

        Assert.Equal("2500000u", node!["price"]!["maxPerHour"]!.GetValue<string>());
    }

    private const string NameChars = "abcdefghijklmnopqrstuvwxyz0123456789-";

    /// <summary>Characters that mean something to YAML or JSON, and some that need escaping.</summary>
    private const string TextChars = "abcXYZ019 -_./*:#'\"\\{}[],&!%@`\t\néü\u2028";

    private static JobSpec RandomSpec(Random random)
    {
        string Word(int min, int max, string alphabet) =>
            new([.. Enumerable.Range(0, random.Next(min, max + 1)).Select(_ => alphabet[random.Next(alphabet.Length)])]);

        var inputNames = new HashSet<string>(StringComparer.Ordinal);
        return new JobSpec
        {
            Version = JobSpec.CurrentVersion,
            Name = "j" + Word(0, 62, NameChars),
            Resources = new ResourceRequest
            {
                CpuMillicores = random.Next(JobSpecLimits.MinCpuMillicores, JobSpecLimits.MaxCpuMillicores + 1),
                MemoryBytes = random.NextInt64(JobSpecLimits.MinMemoryBytes, JobSpecLimits.MaxMemoryBytes + 1),
                DiskBytes = random.NextInt64(0, JobSpecLimits.MaxDiskBytes + 1),
                Gpu = random.Next(2) == 0
                    ? null
                    : new GpuRequest
                    {
                        Count = random.Next(1, JobSpecLimits.MaxGpusPerNode + 1),
                        Models = [.. Enumerable.Range(0, random.Next(3)).Select(_ => "m" + Word(0, 10, "aZ09 -_*?[]{}:#'\"é"))],
                        MinVramBytes = random.NextInt64(0, JobSpecLimits.MaxVramBytes + 1),
                        Vendor = random.Next(4) switch { 0 => null, var n => JobSpecLimits.GpuVendors[n - 1] },
                        Interface = random.Next(3) switch { 0 => null, var n => JobSpecLimits.GpuInterfaces[n - 1] },
                    },
            },
            Workload = new Workload
            {
                Exec = new ExecWorkload
                {
                    Command = "/" + Word(1, 20, TextChars),
                    Args = [.. Enumerable.Range(0, random.Next(5)).Select(_ => Word(0, 20, TextChars))],
                    Env = Enumerable.Range(0, random.Next(4))
                        .Select(_ => ("V" + Word(0, 8, "ABCxyz019_"), Word(0, 20, TextChars)))
                        .DistinctBy(pair => pair.Item1)
                        .ToDictionary(pair => pair.Item1, pair => pair.Item2),
                    Network = random.Next(2) == 0,
                },
                Inputs = [.. Enumerable.Range(0, random.Next(4))
                    .Select(_ => Word(1, 30, "abcXYZ019._-"))
                    .Where(name => name is not "." and not ".." && inputNames.Add(name))
                    .Select(name => new JobInput { Name = name, Cid = Kumo.Content.Cid.Raw(System.Text.Encoding.UTF8.GetBytes(Word(1, 40, "abcdefghijklmnopqrstuvwxyz234567"))).ToString() })],
                Outputs = [.. Enumerable.Range(0, random.Next(3)).Select(_ => "out/" + Word(1, 10, "abc*?[]{}.-_ ")).Where(pattern => pattern != "out/..")],
            },
            MaxPricePerHourMicros = random.NextInt64(1, JobSpecLimits.MaxPricePerHourMicros + 1),
            Timeout = TimeSpan.FromSeconds(random.NextInt64(1, (long)JobSpecLimits.MaxTimeout.TotalSeconds + 1)),
            Cluster = random.Next(2) == 0
                ? null
                : new ClusterRequest
                {
                    // Few enough nodes that any gpu count stays within the GPUs an order may hold.
                    Nodes = random.Next(1, JobSpecLimits.MaxGpusPerOrder / JobSpecLimits.MaxGpusPerNode + 1),
                    MaxRtt = random.Next(3) == 0
                        ? null
                        : TimeSpan.FromMicroseconds(random.NextInt64(1, (long)JobSpecLimits.MaxClusterRtt.TotalMicroseconds + 1)),
                },
            Market = RandomMarket(random, Word),
            Checkpoint = random.Next(2) == 0
                ? null
                : new CheckpointPolicy
                {
                    Path = string.Join('/', Enumerable.Range(0, random.Next(1, 4)).Select(_ => "c" + Word(0, 12, "abcXYZ019._- "))),
                    Every = TimeSpan.FromSeconds(random.NextInt64(
                        (long)JobSpecLimits.MinCheckpointInterval.TotalSeconds, (long)JobSpecLimits.MaxCheckpointInterval.TotalSeconds + 1)),
                },
            Retries = random.Next(JobSpecLimits.MaxRetries + 1),
        };
    }

    private static MarketTerms RandomMarket(Random random, Func<int, int, string, string> word)
    {
        const string RegionChars = "abcdefghijklmnopqrstuvwxyz0123456789-";
        const string AttributeChars = "abcdefghijklmnopqrstuvwxyz0123456789_.-";
        if (random.Next(4) == 0)
        {
            return MarketTerms.Default;
        }
        var mode = (MarketMode)random.Next(3);
        var audited = random.Next(2) == 0;
        return new MarketTerms
        {
            Mode = mode,
            Window = TimeSpan.FromSeconds(random.NextInt64(
                (long)JobSpecLimits.MinMarketWindow.TotalSeconds, (long)JobSpecLimits.MaxMarketWindow.TotalSeconds + 1)),
            ManualAccept = random.Next(2) == 0,
            PerformanceRatePerHourMicros = mode == MarketMode.Performance
                ? random.NextInt64(1, JobSpecLimits.MaxPerformanceRatePerHourMicros + 1)
                : null,
            MinReputation = random.Next(1001) / 1000.0,
            Regions = [.. Enumerable.Range(0, random.Next(4)).Select(_ => word(1, JobSpecLimits.MaxRegionNameLength, RegionChars)).Distinct()],
            Auditor = audited ? (random.Next(2) == 0 ? SampleSpecs.Auditor : SampleSpecs.OtherAuditor) : null,
            Attested = audited
                ? Enumerable.Range(0, random.Next(1, 4))
                    .Select(_ => (word(1, JobSpecLimits.MaxAttestedTextLength, AttributeChars), word(1, JobSpecLimits.MaxAttestedTextLength, AttributeChars)))
                    .DistinctBy(pair => pair.Item1)
                    .ToDictionary(pair => pair.Item1, pair => pair.Item2)
                : new Dictionary<string, string>(),
        };
    }
}
