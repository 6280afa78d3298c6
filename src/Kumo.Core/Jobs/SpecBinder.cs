namespace Kumo.Jobs;

/// <summary>
/// Binds a <see cref="SpecNode"/> tree to a <see cref="JobSpec"/> by hand, field by field, so that every
/// unknown field, missing field and wrong type is reported at its position. Binding goes on after an error
/// (a neutral placeholder takes the bad value's place) so that one read reports every problem; a subtree whose
/// type is wrong is not looked into. The paths of failed values are kept so that the semantic validator's
/// findings about placeholders can be dropped.
/// </summary>
internal sealed class SpecBinder(string sourceName)
{
    private static readonly string[] RootFields =
        ["version", "name", "resources", "workload", "price", "timeout", "cluster", "market", "checkpoint", "retries"];
    private static readonly string[] ResourceFields = ["cpu", "memory", "disk", "gpu"];
    private static readonly string[] GpuFields = ["count", "model", "vram", "vendor", "interface"];
    private static readonly string[] WorkloadFields = ["exec", "train", "infer", "quantize", "inputs", "outputs"];
    private static readonly string[] TrainFields =
        ["model", "data", "steps", "batchSize", "learningRate", "optimizer", "seed", "checkpointEvery", "hidden", "layers", "heads", "embed", "context", "resumeFrom"];
    private static readonly string[] InferFields = ["model", "data", "prompt", "tokens", "seed"];
    private static readonly string[] QuantizeFields = ["model", "scheme", "eval"];
    private static readonly string[] ModelKinds = ["mlp", "transformer"];
    private static readonly string[] Optimizers = ["adamw", "sgd"];
    private static readonly string[] QuantizationSchemes = ["int8-per-channel", "q8_0"];
    private static readonly string[] ExecFields = ["command", "args", "env", "network"];
    private static readonly string[] InputFields = ["name", "path", "cid"];
    private static readonly string[] PriceFields = ["maxPerHour"];
    private static readonly string[] ClusterFields = ["nodes", "maxRtt"];
    private static readonly string[] MarketFields =
        ["mode", "window", "accept", "perBenchmarkHour", "minReputation", "regions", "auditor", "attested"];
    private static readonly string[] CheckpointFields = ["path", "every"];
    private static readonly string[] MarketModes = ["auction", "market", "performance"];
    private static readonly string[] AcceptModes = ["auto", "manual"];

    private readonly List<SpecError> _errors = [];
    private readonly Dictionary<string, SpecPosition> _positions = new(StringComparer.Ordinal);
    private readonly HashSet<string> _failed = new(StringComparer.Ordinal);

    public IReadOnlyList<SpecError> Errors => _errors;

    /// <summary>Where each bound value starts, by path ("" is the whole spec).</summary>
    public IReadOnlyDictionary<string, SpecPosition> Positions => _positions;

    /// <summary>Paths whose values could not be bound and hold placeholders.</summary>
    public IReadOnlySet<string> FailedPaths => _failed;

    /// <summary>
    /// The spec as written, with placeholders where values were wrong; null when the text is not a mapping at all.
    /// The result is only meaningful when <see cref="Errors"/> is empty.
    /// </summary>
    public JobSpec? Bind(SpecNode? root)
    {
        if (root is null or ScalarNode { Kind: ScalarKind.Null })
        {
            Error(root?.Start ?? SpecPosition.Start, "",
                "the spec is empty; it needs version, name, resources, workload, price and timeout " +
                "(see docs/JOB-SPEC.md)");
            return null;
        }
        if (root is not MappingNode map)
        {
            var missingSpace = root is ScalarNode { Kind: ScalarKind.String } scalar &&
                               scalar.Value.Contains(':', StringComparison.Ordinal);
            var hint = missingSpace ? " (a ':' between a field and its value needs a space after it)" : "";
            Fail(root, "",
                $"expected a mapping of fields (version, name, ...) at the top level, found {root.Describe()}{hint}");
            return null;
        }
        _positions[""] = map.Start;
        var fields = ReadFields(map, "", RootFields);

        var version = BindString(Required(fields, "version"), "version") ?? JobSpec.CurrentVersion;
        var name = BindString(Required(fields, "name"), "name") ?? "placeholder";
        var resources = BindResources(Required(fields, "resources"));
        var workload = BindWorkload(Required(fields, "workload"));
        var price = BindPrice(Required(fields, "price"));
        var timeout = BindTimeout(Required(fields, "timeout"));

        return new JobSpec
        {
            Version = version,
            Name = name,
            Resources = resources,
            Workload = workload,
            MaxPricePerHourMicros = price,
            Timeout = timeout,
            Cluster = BindCluster(Optional(fields, "cluster")),
            Market = BindMarket(Optional(fields, "market")),
            Checkpoint = BindCheckpoint(Optional(fields, "checkpoint")),
            Retries = BindRetries(Optional(fields, "retries")),
        };
    }

    private ResourceRequest BindResources(SpecNode? node)
    {
        var path = "resources";
        var placeholder = new ResourceRequest { CpuMillicores = 1000, MemoryBytes = 1L << 30, DiskBytes = 0 };
        if (AsMapping(node, path, "a mapping of cpu, memory, disk and gpu") is not { } map)
        {
            return placeholder;
        }
        var fields = ReadFields(map, path, ResourceFields);

        var cpu = placeholder.CpuMillicores;
        if (AsQuantityText(Required(fields, "cpu"), "resources.cpu", "a CPU amount (2, 0.5 or 500m)") is { } cpuText)
        {
            if (Quantity.TryParseCpu(cpuText.Text, out var millicores, out var error))
            {
                cpu = millicores;
            }
            else
            {
                Fail(cpuText.Node, "resources.cpu", error);
            }
        }
        return new ResourceRequest
        {
            CpuMillicores = cpu,
            MemoryBytes = BindBytes(Required(fields, "memory"), "resources.memory", "memory") ?? placeholder.MemoryBytes,
            DiskBytes = BindBytes(Required(fields, "disk"), "resources.disk", "disk") ?? placeholder.DiskBytes,
            Gpu = BindGpu(Optional(fields, "gpu")),
        };
    }

    private GpuRequest? BindGpu(SpecNode? node)
    {
        var path = "resources.gpu";
        if (node is null)
        {
            return null;
        }
        if (AsMapping(node, path, "a mapping of count, model, vram, vendor and interface") is not { } map)
        {
            return null;
        }
        var fields = ReadFields(map, path, GpuFields);
        var countNode = Required(fields, "count");
        var count = BindInteger(countNode, "resources.gpu.count");
        if (countNode is not null && count is < int.MinValue or > int.MaxValue)
        {
            Fail(countNode, "resources.gpu.count", JobSpecValidator.GpuCountMessage(count.Value));
            count = null;
        }
        return new GpuRequest
        {
            Count = count is null ? 1 : (int)count.Value,
            Models = BindStringOrList(Optional(fields, "model"), "resources.gpu.model") ?? [],
            MinVramBytes = BindBytes(Optional(fields, "vram"), "resources.gpu.vram", "vram") ?? 0,
            Vendor = BindString(Optional(fields, "vendor"), "resources.gpu.vendor")?.ToLowerInvariant(),
            Interface = BindString(Optional(fields, "interface"), "resources.gpu.interface")?.ToLowerInvariant(),
        };
    }

    private Workload BindWorkload(SpecNode? node)
    {
        var path = "workload";
        var placeholder = new Workload { Exec = new ExecWorkload { Command = "placeholder" } };
        if (AsMapping(node, path, "a mapping with one of exec, train, infer or quantize, and inputs and outputs") is not { } map)
        {
            return placeholder;
        }
        var fields = ReadFields(map, path, WorkloadFields);
        var exec = Optional(fields, "exec");
        var train = Optional(fields, "train");
        var infer = Optional(fields, "infer");
        var quantize = Optional(fields, "quantize");
        return new Workload
        {
            Exec = exec is null ? null : BindExec(exec) ?? placeholder.Exec,
            Train = train is null ? null : BindTrain(train),
            Infer = infer is null ? null : BindInfer(infer),
            Quantize = quantize is null ? null : BindQuantize(quantize),
            Inputs = BindInputs(Optional(fields, "inputs")),
            Outputs = BindStringList(Optional(fields, "outputs"), "workload.outputs") ?? [],
        };
    }

    private ExecWorkload? BindExec(SpecNode node)
    {
        var path = "workload.exec";
        if (AsMapping(node, path, "a mapping of command, args, env and network") is not { } map)
        {
            return null;
        }
        var fields = ReadFields(map, path, ExecFields);
        return new ExecWorkload
        {
            Command = BindString(Required(fields, "command"), "workload.exec.command") ?? "placeholder",
            Args = BindStringList(Optional(fields, "args"), "workload.exec.args") ?? [],
            Env = BindStringMap(Optional(fields, "env"), "workload.exec.env",
                "a mapping of variable names to strings", "a variable name", "variable", "env"),
            Network = BindBoolean(Optional(fields, "network"), "workload.exec.network") ?? false,
        };
    }

    private TrainWorkload BindTrain(SpecNode node)
    {
        const string path = "workload.train";
        var placeholder = new TrainWorkload { Model = "mlp", Data = "" };
        if (AsMapping(node, path, "a mapping of model, data, steps, batchSize, learningRate, optimizer, seed, checkpointEvery and model sizes") is not { } map)
        {
            return placeholder;
        }
        var fields = ReadFields(map, path, TrainFields);
        return new TrainWorkload
        {
            Model = BindChoice(Required(fields, "model"), $"{path}.model", "model", ModelKinds) ?? "mlp",
            Data = BindString(Required(fields, "data"), $"{path}.data") ?? "",
            Steps = BindInt(Optional(fields, "steps"), $"{path}.steps") ?? placeholder.Steps,
            BatchSize = BindInt(Optional(fields, "batchSize"), $"{path}.batchSize") ?? placeholder.BatchSize,
            LearningRate = BindDecimal(Optional(fields, "learningRate"), $"{path}.learningRate", "learning rate (0.001, 3e-4)") ?? placeholder.LearningRate,
            Optimizer = BindChoice(Optional(fields, "optimizer"), $"{path}.optimizer", "optimizer", Optimizers) ?? placeholder.Optimizer,
            Seed = BindInteger(Optional(fields, "seed"), $"{path}.seed") ?? 0,
            CheckpointEvery = BindInt(Optional(fields, "checkpointEvery"), $"{path}.checkpointEvery") ?? placeholder.CheckpointEvery,
            Hidden = BindInt(Optional(fields, "hidden"), $"{path}.hidden") ?? placeholder.Hidden,
            Layers = BindInt(Optional(fields, "layers"), $"{path}.layers") ?? placeholder.Layers,
            Heads = BindInt(Optional(fields, "heads"), $"{path}.heads") ?? placeholder.Heads,
            Embed = BindInt(Optional(fields, "embed"), $"{path}.embed") ?? placeholder.Embed,
            Context = BindInt(Optional(fields, "context"), $"{path}.context") ?? placeholder.Context,
            ResumeFrom = BindString(Optional(fields, "resumeFrom"), $"{path}.resumeFrom"),
        };
    }

    private InferWorkload BindInfer(SpecNode node)
    {
        const string path = "workload.infer";
        if (AsMapping(node, path, "a mapping of model, data or prompt, tokens and seed") is not { } map)
        {
            return new InferWorkload { Model = "" };
        }
        var fields = ReadFields(map, path, InferFields);
        return new InferWorkload
        {
            Model = BindString(Required(fields, "model"), $"{path}.model") ?? "",
            Data = BindString(Optional(fields, "data"), $"{path}.data"),
            Prompt = BindString(Optional(fields, "prompt"), $"{path}.prompt"),
            Tokens = BindInt(Optional(fields, "tokens"), $"{path}.tokens") ?? 200,
            Seed = BindInteger(Optional(fields, "seed"), $"{path}.seed") ?? 0,
        };
    }

    private QuantizeWorkload BindQuantize(SpecNode node)
    {
        const string path = "workload.quantize";
        if (AsMapping(node, path, "a mapping of model, scheme and eval") is not { } map)
        {
            return new QuantizeWorkload { Model = "" };
        }
        var fields = ReadFields(map, path, QuantizeFields);
        return new QuantizeWorkload
        {
            Model = BindString(Required(fields, "model"), $"{path}.model") ?? "",
            Scheme = BindChoice(Optional(fields, "scheme"), $"{path}.scheme", "quantization scheme", QuantizationSchemes) ?? "int8-per-channel",
            Eval = BindString(Optional(fields, "eval"), $"{path}.eval"),
        };
    }

    /// <summary>A whole number that fits an int (range rules are the validator's).</summary>
    private int? BindInt(SpecNode? node, string path)
    {
        var value = BindInteger(node, path);
        if (value is < int.MinValue or > int.MaxValue)
        {
            Fail(node!, path, $"{value} is far too large");
            return null;
        }
        return (int?)value;
    }

    /// <summary>A decimal number written plain (0.001, 3e-4) or in quotes; kept exact.</summary>
    private decimal? BindDecimal(SpecNode? node, string path, string what)
    {
        if (AsQuantityText(node, path, $"a {what}") is not { } text)
        {
            return null;
        }
        if (decimal.TryParse(text.Text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }
        Fail(text.Node, path, $"expected a {what}, found {SpecText.Quote(text.Text)}");
        return null;
    }

    /// <summary>
    /// A mapping of names to strings (env, market.attested): every key written once, every value a string; the names
    /// themselves are checked by the validator.
    /// </summary>
    private Dictionary<string, string> BindStringMap(
        SpecNode? node, string path, string expected, string expectedKey, string entryWord, string mapName)
    {
        var entries = new Dictionary<string, string>(StringComparer.Ordinal);
        if (node is null || AsMapping(node, path, expected) is not { } map)
        {
            return entries;
        }
        var firstLines = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var (keyNode, valueNode) in map.Entries)
        {
            if (keyNode is not ScalarNode key)
            {
                Mismatch<object>(keyNode, path, expectedKey);
                continue;
            }
            var entryPath = $"{path}.{key.Value}";
            if (firstLines.TryGetValue(key.Value, out var firstLine))
            {
                Fail(key, entryPath,
                    $"duplicate {entryWord} {SpecText.Quote(key.Value)} in {mapName}; it was first set on line {firstLine}");
                continue;
            }
            firstLines[key.Value] = key.Start.Line;
            _positions[entryPath] = key.Start;
            if (BindString(valueNode, entryPath) is { } value)
            {
                entries[key.Value] = value;
            }
        }
        return entries;
    }

    private List<JobInput> BindInputs(SpecNode? node)
    {
        var path = "workload.inputs";
        var inputs = new List<JobInput>();
        if (node is null || AsSequence(node, path, "a list of inputs") is not { } list)
        {
            return inputs;
        }
        for (var i = 0; i < list.Items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            _positions[itemPath] = list.Items[i].Start;
            if (AsMapping(list.Items[i], itemPath, "an input (a mapping of name and path or cid)") is not { } map)
            {
                inputs.Add(new JobInput { Name = "" });
                continue;
            }
            var fields = ReadFields(map, itemPath, InputFields);
            inputs.Add(new JobInput
            {
                Name = BindString(Required(fields, "name"), $"{itemPath}.name") ?? "",
                Path = BindString(Optional(fields, "path"), $"{itemPath}.path"),
                Cid = BindString(Optional(fields, "cid"), $"{itemPath}.cid"),
            });
        }
        return inputs;
    }

    private long BindPrice(SpecNode? node)
    {
        var path = "price";
        var placeholder = Quantity.MicrosPerKumo;
        if (AsMapping(node, path, "a mapping with maxPerHour") is not { } map)
        {
            return placeholder;
        }
        var fields = ReadFields(map, path, PriceFields);
        return BindPriceValue(Required(fields, "maxPerHour"), "price.maxPerHour", "maxPerHour", "per hour") ?? placeholder;
    }

    private long? BindPriceValue(SpecNode? node, string path, string what, string per)
    {
        if (AsQuantityText(node, path, $"a price in KUMO {per} (2.5) or µKUMO {per} (\"2500000u\")") is not { } text)
        {
            return null;
        }
        if (Quantity.TryParsePrice(text.Text, what, per, out var micros, out var error))
        {
            return micros;
        }
        Fail(text.Node, path, error);
        return null;
    }

    private TimeSpan BindTimeout(SpecNode? node) => BindDuration(node, "timeout", "timeout") ?? TimeSpan.FromHours(1);

    private TimeSpan? BindDuration(SpecNode? node, string path, string what)
    {
        if (AsQuantityText(node, path, "a duration (600, 90s, 10m, 1h30m, 1d)") is not { } text)
        {
            return null;
        }
        if (Quantity.TryParseDuration(text.Text, what, out var duration, out var error))
        {
            return duration;
        }
        Fail(text.Node, path, error);
        return null;
    }

    private ClusterRequest? BindCluster(SpecNode? node)
    {
        var path = "cluster";
        if (node is null || AsMapping(node, path, "a mapping of nodes and maxRtt") is not { } map)
        {
            return null;
        }
        var fields = ReadFields(map, path, ClusterFields);
        var nodesNode = Required(fields, "nodes");
        var nodes = BindInteger(nodesNode, "cluster.nodes");
        if (nodesNode is not null && nodes is < int.MinValue or > int.MaxValue)
        {
            Fail(nodesNode, "cluster.nodes", JobSpecValidator.NodeCountMessage(nodes.Value));
            nodes = null;
        }

        TimeSpan? maxRtt = null;
        if (AsQuantityText(Optional(fields, "maxRtt"), "cluster.maxRtt", "a round-trip time (5ms, 0.5ms, 0.01s)") is
            { } rtt)
        {
            if (Quantity.TryParseShortDuration(rtt.Text, "maxRtt", out var parsed, out var error))
            {
                maxRtt = parsed;
            }
            else
            {
                Fail(rtt.Node, "cluster.maxRtt", error);
            }
        }
        return new ClusterRequest { Nodes = nodes is null ? 1 : (int)nodes.Value, MaxRtt = maxRtt };
    }

    private MarketTerms BindMarket(SpecNode? node)
    {
        var path = "market";
        var defaults = MarketTerms.Default;
        if (node is null ||
            AsMapping(node, path, "a mapping of mode, window, accept, perBenchmarkHour, minReputation, regions, " +
                                  "auditor and attested") is not { } map)
        {
            return defaults;
        }
        var fields = ReadFields(map, path, MarketFields);

        var rateNode = Optional(fields, "perBenchmarkHour");
        var rate = BindPriceValue(rateNode, "market.perBenchmarkHour", "perBenchmarkHour", "per benchmark-unit-hour");

        var modeNode = Optional(fields, "mode");
        var mode = BindChoice(modeNode, "market.mode", "market mode", MarketModes) switch
        {
            "market" => MarketMode.Market,
            "performance" => MarketMode.Performance,
            "auction" => MarketMode.Auction,
            // A mode that failed to bind: the placeholder agrees with perBenchmarkHour, so that the rule tying the
            // two together reports nothing about a value already reported.
            _ when modeNode is not null && rateNode is not null => MarketMode.Performance,
            _ => defaults.Mode,
        };

        var reputation = defaults.MinReputation;
        if (AsQuantityText(Optional(fields, "minReputation"), "market.minReputation", "a number from 0 to 1 (0.8)") is
            { } reputationText)
        {
            if (Quantity.TryParseReputation(reputationText.Text, "minReputation", out var parsed, out var error))
            {
                reputation = parsed;
            }
            else
            {
                Fail(reputationText.Node, "market.minReputation", error);
            }
        }

        // An auditor that failed to bind is a placeholder, not an absence: "attested needs an auditor" would be noise.
        var auditorNode = Optional(fields, "auditor");
        var auditor = BindString(auditorNode, "market.auditor") ?? (auditorNode is null ? null : "");

        return new MarketTerms
        {
            Mode = mode,
            Window = BindDuration(Optional(fields, "window"), "market.window", "window") ?? defaults.Window,
            ManualAccept = BindChoice(Optional(fields, "accept"), "market.accept", "accept mode", AcceptModes) == "manual",
            PerformanceRatePerHourMicros = rate,
            MinReputation = reputation,
            Regions = BindStringList(Optional(fields, "regions"), "market.regions") ?? [],
            Auditor = auditor,
            Attested = BindStringMap(Optional(fields, "attested"), "market.attested",
                "a mapping of attribute names to values (tier: datacenter)", "an attribute name", "attribute",
                "attested"),
        };
    }

    private CheckpointPolicy? BindCheckpoint(SpecNode? node)
    {
        var path = "checkpoint";
        if (node is null || AsMapping(node, path, "a mapping of path and every") is not { } map)
        {
            return null;
        }
        var fields = ReadFields(map, path, CheckpointFields);
        return new CheckpointPolicy
        {
            Path = BindString(Required(fields, "path"), "checkpoint.path") ?? "checkpoint",
            Every = BindDuration(Optional(fields, "every"), "checkpoint.every", "every") ??
                    JobSpecLimits.DefaultCheckpointInterval,
        };
    }

    private int BindRetries(SpecNode? node)
    {
        var retries = BindInteger(node, "retries");
        if (node is not null && retries is < int.MinValue or > int.MaxValue)
        {
            Fail(node, "retries", JobSpecValidator.RetriesMessage(retries.Value));
            retries = null;
        }
        return retries is null ? JobSpecLimits.DefaultRetries : (int)retries.Value;
    }

    private long? BindBytes(SpecNode? node, string path, string what)
    {
        if (AsQuantityText(node, path, $"a {what} amount (bytes, or e.g. 256Mi, 1Gi)") is not { } text)
        {
            return null;
        }
        if (Quantity.TryParseBytes(text.Text, what, out var bytes, out var error))
        {
            return bytes;
        }
        Fail(text.Node, path, error);
        return null;
    }

    // ---- Fields of a mapping ----------------------------------------------------------------------------------

    private sealed class Fields(MappingNode map, string path)
    {
        public MappingNode Map { get; } = map;

        public string Path { get; } = path;

        public Dictionary<string, SpecNode> Values { get; } = new(StringComparer.Ordinal);
    }

    private Fields ReadFields(MappingNode map, string path, IReadOnlyList<string> known)
    {
        var fields = new Fields(map, path);
        var firstLines = new Dictionary<string, int>(StringComparer.Ordinal);
        var where = path.Length == 0 ? "" : $" in {path}";
        foreach (var (keyNode, value) in map.Entries)
        {
            if (keyNode is not ScalarNode key)
            {
                Mismatch<object>(keyNode, path, "a field name");
                continue;
            }
            var name = key.Value;
            var fieldPath = Child(path, name);
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                string message;
                if (name == "<<")
                {
                    message = "YAML merge keys ('<<') are not supported in job specs; write the fields out";
                }
                else
                {
                    var suggestion = SpecText.Suggest(name, known);
                    message = $"unknown field {SpecText.Quote(name)}{where}; " +
                              (suggestion is not null
                                  ? $"did you mean '{suggestion}'?"
                                  : $"expected {SpecText.OneOf(known)}");
                }
                Fail(key, fieldPath, message);
                continue;
            }
            if (firstLines.TryGetValue(name, out var firstLine))
            {
                Fail(key, fieldPath, $"duplicate field '{name}'{where}; it was first given on line {firstLine}");
                continue;
            }
            firstLines[name] = key.Start.Line;
            fields.Values[name] = value;
            _positions[fieldPath] = value.Start;
        }
        return fields;
    }

    /// <summary>The field's value; null when it is absent or written as null (~, or nothing after the colon).</summary>
    private static SpecNode? Optional(Fields fields, string name) =>
        fields.Values.TryGetValue(name, out var value) && value is not ScalarNode { Kind: ScalarKind.Null }
            ? value
            : null;

    /// <summary>The field's value; reports it missing (at the mapping) or empty (at the value) otherwise.</summary>
    private SpecNode? Required(Fields fields, string name)
    {
        var path = Child(fields.Path, name);
        if (!fields.Values.TryGetValue(name, out var value))
        {
            var where = fields.Path.Length == 0 ? "" : $" in {fields.Path}";
            Error(fields.Map.Start, path, $"missing required field '{name}'{where}");
            return null;
        }
        if (value is ScalarNode { Kind: ScalarKind.Null })
        {
            Fail(value, path, $"field '{name}' has no value; it is required");
            return null;
        }
        return value;
    }

    // ---- Typed values ----------------------------------------------------------------------------------------

    private MappingNode? AsMapping(SpecNode? node, string path, string expected) => node switch
    {
        null => null,
        MappingNode map => map,
        _ => Mismatch<MappingNode>(node, path, expected),
    };

    private SequenceNode? AsSequence(SpecNode node, string path, string expected) => node switch
    {
        SequenceNode list => list,
        _ => Mismatch<SequenceNode>(node, path, expected),
    };

    /// <summary>Reports "expected X, found Y" (nothing more for a node whose error is already reported).</summary>
    private T? Mismatch<T>(SpecNode node, string path, string expected)
        where T : class
    {
        if (node is InvalidNode)
        {
            _failed.Add(path);
        }
        else
        {
            Fail(node, path, $"expected {expected}, found {node.Describe()}");
        }
        return null;
    }

    private string? BindString(SpecNode? node, string path)
    {
        switch (node)
        {
            case null:
                return null;
            case ScalarNode { Kind: ScalarKind.String } text:
                return text.Value;
            case ScalarNode { Kind: ScalarKind.Integer or ScalarKind.Float or ScalarKind.Boolean } scalar:
                Fail(node, path,
                    $"expected a string, found {scalar.Describe()}; " +
                    $"put it in quotes (\"{SpecText.Shorten(scalar.Value)}\") if it is meant as text");
                return null;
            default:
                return Mismatch<string>(node, path, "a string");
        }
    }

    /// <summary>One of <paramref name="choices"/> (lower case), written in any case; null when absent or unknown.</summary>
    private string? BindChoice(SpecNode? node, string path, string what, IReadOnlyList<string> choices)
    {
        if (node is null || BindString(node, path) is not { } text)
        {
            return null;
        }
        var choice = text.ToLowerInvariant();
        if (choices.Contains(choice, StringComparer.Ordinal))
        {
            return choice;
        }
        var suggestion = SpecText.Suggest(text, choices);
        Fail(node, path, $"unknown {what} {SpecText.Quote(text)}; " +
                         (suggestion is null ? $"expected {SpecText.OneOf(choices)}" : $"did you mean '{suggestion}'?"));
        return null;
    }

    private bool? BindBoolean(SpecNode? node, string path)
    {
        switch (node)
        {
            case null:
                return null;
            case ScalarNode { Kind: ScalarKind.Boolean, Value: "true" or "false" } flag:
                return flag.Value == "true";
            case ScalarNode { Kind: ScalarKind.Boolean } flag:
                Fail(node, path, $"expected true or false in lower case, found '{flag.Value}'");
                return null;
            case ScalarNode { Kind: ScalarKind.String } text:
                Fail(node, path, $"expected true or false, found {text.Describe()}" +
                                 (text.Value is "true" or "false" ? " in quotes; remove the quotes" : ""));
                return null;
            default:
                Mismatch<object>(node, path, "true or false");
                return null;
        }
    }

    private long? BindInteger(SpecNode? node, string path)
    {
        switch (node)
        {
            case null:
                return null;
            case ScalarNode { Kind: ScalarKind.Integer } number:
                if (long.TryParse(number.Value, System.Globalization.NumberStyles.AllowLeadingSign,
                        System.Globalization.CultureInfo.InvariantCulture, out var value))
                {
                    return value;
                }
                Fail(node, path, number.Value.TrimStart('-', '+').All(char.IsAsciiDigit)
                    ? $"{SpecText.Quote(number.Value)} is far too large"
                    : $"expected a whole number written in decimal, found {SpecText.Quote(number.Value)}");
                return null;
            case ScalarNode { Kind: ScalarKind.String } text
                when text.Value.Length > 0 && text.Value.All(char.IsAsciiDigit):
                Fail(node, path, $"expected a whole number, found {text.Describe()}; remove the quotes");
                return null;
            default:
                Mismatch<object>(node, path, "a whole number");
                return null;
        }
    }

    /// <summary>The text of a quantity: written plain (2, 0.5) or as a string ("500m", "1Gi").</summary>
    private (SpecNode Node, string Text)? AsQuantityText(SpecNode? node, string path, string expected)
    {
        if (node is ScalarNode { Kind: ScalarKind.String or ScalarKind.Integer or ScalarKind.Float } scalar)
        {
            return (node, scalar.Value.Trim());
        }
        if (node is not null)
        {
            Mismatch<object>(node, path, expected);
        }
        return null;
    }

    private List<string>? BindStringList(SpecNode? node, string path)
    {
        if (node is null || AsSequence(node, path, "a list of strings") is not { } list)
        {
            return null;
        }
        var strings = new List<string>(list.Items.Count);
        for (var i = 0; i < list.Items.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            _positions[itemPath] = list.Items[i].Start;
            strings.Add(BindString(list.Items[i], itemPath) ?? "");
        }
        return strings;
    }

    private List<string>? BindStringOrList(SpecNode? node, string path)
    {
        if (node is ScalarNode)
        {
            _positions[$"{path}[0]"] = node.Start;
            return BindString(node, $"{path}[0]") is { } single ? [single] : null;
        }
        if (node is MappingNode)
        {
            Fail(node, path, $"expected a string or a list of strings, found {node.Describe()}");
            return null;
        }
        return BindStringList(node, path);
    }

    // ---- Errors ---------------------------------------------------------------------------------------------

    private static string Child(string path, string name) => path.Length == 0 ? name : $"{path}.{name}";

    private void Fail(SpecNode node, string path, string message) => Error(node.Start, path, message);

    private void Error(SpecPosition at, string path, string message)
    {
        _errors.Add(new SpecError(sourceName, at.Line, at.Column, path, message));
        _failed.Add(path);
    }
}
