using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Kumo.Jobs;

/// <summary>
/// Writes the normalized wire form of a spec, the JSON the CLI sends to the hub: the YAML's structure and field
/// names, with every quantity as an exact integer form (CPU "1500m", bytes, seconds, price "2500000u", round-trip
/// time "5ms"), every optional collection written out, env and attested sorted by name, market and retries always
/// written, cluster and checkpoint only when set. <see cref="JobSpecReader"/> reads it back to an equal spec.
/// </summary>
public static class JobSpecWriter
{
    private static readonly JsonSerializerOptions Compact = new()
    {
        // The text goes to a YAML-reading hub, not into HTML; only what JSON requires is escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private static readonly JsonSerializerOptions Indented = new(Compact) { WriteIndented = true };

    /// <summary>The wire form as text.</summary>
    /// <exception cref="InvalidOperationException">
    /// An input has no CID, a duration carried in seconds (timeout, window, every) is not whole seconds, or maxRtt is not
    /// whole microseconds.
    /// </exception>
    public static string ToJson(JobSpec spec, bool indented = false) =>
        ToJsonObject(spec).ToJsonString(indented ? Indented : Compact);

    /// <summary>The wire form as a JSON tree.</summary>
    /// <exception cref="InvalidOperationException">As <see cref="ToJson"/>.</exception>
    public static JsonObject ToJsonObject(JobSpec spec)
    {
        var json = new JsonObject
        {
            ["version"] = spec.Version,
            ["name"] = spec.Name,
            ["resources"] = WriteResources(spec.Resources),
            ["workload"] = WriteWorkload(spec.Workload),
            ["price"] = new JsonObject { ["maxPerHour"] = Micros(spec.MaxPricePerHourMicros) },
            ["timeout"] = WholeSeconds(spec.Timeout, "timeout"),
        };
        if (spec.Cluster is { } cluster)
        {
            json["cluster"] = new JsonObject
            {
                ["nodes"] = cluster.Nodes,
                ["maxRtt"] = cluster.MaxRtt is { } rtt ? Milliseconds(rtt) : null,
            };
        }
        json["market"] = WriteMarket(spec.Market);
        if (spec.Checkpoint is { } checkpoint)
        {
            json["checkpoint"] = new JsonObject
            {
                ["path"] = checkpoint.Path,
                ["every"] = WholeSeconds(checkpoint.Every, "checkpoint interval"),
            };
        }
        json["retries"] = spec.Retries;
        return json;
    }

    private static JsonObject WriteMarket(MarketTerms market)
    {
        var attested = new JsonObject();
        foreach (var (name, value) in market.Attested.OrderBy(pair => pair.Key, StringComparer.Ordinal))
        {
            attested[name] = value;
        }
        return new JsonObject
        {
            ["mode"] = market.Mode.ToString().ToLowerInvariant(),
            ["window"] = WholeSeconds(market.Window, "market window"),
            ["accept"] = market.ManualAccept ? "manual" : "auto",
            ["perBenchmarkHour"] = market.PerformanceRatePerHourMicros is { } rate ? Micros(rate) : null,
            ["minReputation"] = market.MinReputation,
            ["regions"] = StringArray(market.Regions),
            ["auditor"] = market.Auditor,
            ["attested"] = attested,
        };
    }

    /// <summary>"2500000u": a price in µKUMO.</summary>
    private static string Micros(long micros) => micros.ToString(CultureInfo.InvariantCulture) + "u";

    private static long WholeSeconds(TimeSpan duration, string what) =>
        duration.Ticks % TimeSpan.TicksPerSecond == 0
            ? duration.Ticks / TimeSpan.TicksPerSecond
            : throw new InvalidOperationException(
                $"The {what} {duration} is not a whole number of seconds; the wire form cannot carry it.");

    private static string Milliseconds(TimeSpan duration) =>
        duration.Ticks % TimeSpan.TicksPerMicrosecond == 0
            ? Quantity.FormatMilliseconds(duration)
            : throw new InvalidOperationException(
                $"The maxRtt {duration} is not a whole number of microseconds; the wire form cannot carry it.");

    private static JsonObject WriteResources(ResourceRequest resources)
    {
        var json = new JsonObject
        {
            ["cpu"] = Quantity.FormatCpu(resources.CpuMillicores),
            ["memory"] = resources.MemoryBytes,
            ["disk"] = resources.DiskBytes,
        };
        if (resources.Gpu is { } gpu)
        {
            var gpuJson = new JsonObject
            {
                ["count"] = gpu.Count,
                ["model"] = StringArray(gpu.Models),
                ["vram"] = gpu.MinVramBytes,
            };
            if (gpu.Vendor is not null)
            {
                gpuJson["vendor"] = gpu.Vendor;
            }
            if (gpu.Interface is not null)
            {
                gpuJson["interface"] = gpu.Interface;
            }
            json["gpu"] = gpuJson;
        }
        return json;
    }

    private static JsonObject WriteWorkload(Workload workload)
    {
        var json = new JsonObject();
        if (workload.Exec is { } exec)
        {
            var env = new JsonObject();
            foreach (var (name, value) in exec.Env.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                env[name] = value;
            }
            json["exec"] = new JsonObject
            {
                ["command"] = exec.Command,
                ["args"] = StringArray(exec.Args),
                ["env"] = env,
                ["network"] = exec.Network,
            };
        }
        if (workload.Train is { } train)
        {
            json["train"] = new JsonObject
            {
                ["model"] = train.Model,
                ["data"] = train.Data,
                ["steps"] = train.Steps,
                ["batchSize"] = train.BatchSize,
                // A string: the exact decimal, independent of how a JSON number would be formatted.
                ["learningRate"] = train.LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["optimizer"] = train.Optimizer,
                ["seed"] = train.Seed,
                ["checkpointEvery"] = train.CheckpointEvery,
                ["hidden"] = train.Hidden,
                ["layers"] = train.Layers,
                ["heads"] = train.Heads,
                ["embed"] = train.Embed,
                ["context"] = train.Context,
            };
            if (train.ResumeFrom is not null)
            {
                json["train"]!["resumeFrom"] = train.ResumeFrom;
            }
        }
        if (workload.Infer is { } infer)
        {
            var inferJson = new JsonObject { ["model"] = infer.Model, ["tokens"] = infer.Tokens, ["seed"] = infer.Seed };
            if (infer.Data is not null)
            {
                inferJson["data"] = infer.Data;
            }
            if (infer.Prompt is not null)
            {
                inferJson["prompt"] = infer.Prompt;
            }
            json["infer"] = inferJson;
        }
        if (workload.Quantize is { } quantize)
        {
            var quantizeJson = new JsonObject { ["model"] = quantize.Model, ["scheme"] = quantize.Scheme };
            if (quantize.Eval is not null)
            {
                quantizeJson["eval"] = quantize.Eval;
            }
            json["quantize"] = quantizeJson;
        }
        var inputs = new JsonArray();
        foreach (var input in workload.Inputs)
        {
            if (input.Cid is null)
            {
                throw new InvalidOperationException(
                    $"Input '{input.Name}' has no CID; upload its file and set the CID before writing the wire form.");
            }
            inputs.Add(new JsonObject { ["name"] = input.Name, ["cid"] = input.Cid });
        }
        json["inputs"] = inputs;
        json["outputs"] = StringArray(workload.Outputs);
        return json;
    }

    private static JsonArray StringArray(IEnumerable<string> items) =>
        new([.. items.Select(item => (JsonNode?)JsonValue.Create(item))]);
}
