using System.Text.RegularExpressions;

namespace Kumo.Jobs;

/// <summary>
/// Semantic checks on a <see cref="JobSpec"/>: versions, names, limits, inputs and outputs, the cluster, the market
/// terms and the checkpoint, and the rules that tie fields together. The reader runs it on
/// every spec it reads; the hub and tests can run it on specs built in code. Errors carry the field path as written
/// in the spec (<c>resources.gpu.count</c>) and no position; the reader adds positions.
/// </summary>
public static partial class JobSpecValidator
{
    /// <summary>Every problem found; empty when the spec is valid.</summary>
    public static IReadOnlyList<SpecError> Validate(JobSpec spec, string sourceName = "") =>
        Validate(spec, sourceName, wireForm: false);

    /// <summary>
    /// Like <see cref="Validate(JobSpec, string)"/>, and also refuses inputs that name a local path: the form the hub
    /// accepts, where every input is already uploaded and named by its CID.
    /// </summary>
    public static IReadOnlyList<SpecError> ValidateWireForm(JobSpec spec, string sourceName = "") =>
        Validate(spec, sourceName, wireForm: true);

    internal static IReadOnlyList<SpecError> Validate(JobSpec spec, string sourceName, bool wireForm)
    {
        var errors = new List<SpecError>();
        void Add(string path, string message) => errors.Add(new SpecError(sourceName, 0, 0, path, message));

        if (spec.Version != JobSpec.CurrentVersion)
        {
            Add("version", $"unsupported spec version {SpecText.Quote(spec.Version ?? "")}; " +
                           $"this build understands {JobSpec.CurrentVersion}");
        }
        if (spec.Name is null || !NamePattern().IsMatch(spec.Name))
        {
            Add("name", $"invalid name {SpecText.Quote(spec.Name ?? "")}; use 1 to {JobSpecLimits.MaxNameLength} " +
                        "lower-case letters, digits and '-', starting with a letter");
        }
        if (spec.Resources is null)
        {
            Add("resources", "resources are required");
        }
        else
        {
            ValidateResources(spec.Resources, Add);
        }
        if (spec.Workload is null)
        {
            Add("workload", "a workload is required");
        }
        else
        {
            ValidateWorkload(spec.Workload, wireForm, Add);
        }
        ValidatePrice(spec.MaxPricePerHourMicros, Add);
        ValidateTimeout(spec.Timeout, Add);
        if (spec.Cluster is { } cluster)
        {
            ValidateCluster(cluster, spec.Resources?.Gpu, Add);
        }
        if (spec.Market is null)
        {
            Add("market", "market terms are required; use MarketTerms.Default for the defaults");
        }
        else
        {
            ValidateMarket(spec.Market, Add);
        }
        if (spec.Checkpoint is { } checkpoint)
        {
            ValidateCheckpoint(checkpoint, Add);
        }
        if (spec.Retries is < 0 or > JobSpecLimits.MaxRetries)
        {
            Add("retries", RetriesMessage(spec.Retries));
        }
        return errors;
    }

    /// <summary>
    /// Whether the text has the shape of a CIDv1 in base32 ("bafkrei..."): 'b' then lower-case base32 of a
    /// plausible length. A syntax check only; the one place to swap in a real CID parser.
    /// </summary>
    public static bool IsPlausibleCid(string text) => Kumo.Content.Cid.TryParse(text, out _, out _);

    internal static string GpuCountMessage(long count) =>
        $"asks for {count} GPUs on one node; the largest nodes have {JobSpecLimits.MaxGpusPerNode} — " +
        "split the job into a cluster (cluster.nodes) or ask for fewer";

    internal static string NodeCountMessage(long nodes) =>
        $"asks for {nodes} nodes; a cluster has at most {JobSpecLimits.MaxClusterNodes} — " +
        "split the work into several jobs or ask for fewer nodes";

    internal static string RetriesMessage(long retries) =>
        $"retries must be from 0 to {JobSpecLimits.MaxRetries}, found {retries}";

    private static void ValidateResources(ResourceRequest resources, Action<string, string> add)
    {
        var cpu = resources.CpuMillicores;
        if (cpu < JobSpecLimits.MinCpuMillicores)
        {
            add("resources.cpu", $"asks for {Quantity.FormatCpu(cpu)} of CPU; at least 1m (a thousandth of a core) is needed");
        }
        else if (cpu > JobSpecLimits.MaxCpuMillicores)
        {
            add("resources.cpu", $"asks for {Quantity.FormatCores(cpu)} cores on one node; the largest nodes have " +
                                 $"{Quantity.FormatCores(JobSpecLimits.MaxCpuMillicores)}");
        }

        var memory = resources.MemoryBytes;
        if (memory < JobSpecLimits.MinMemoryBytes)
        {
            add("resources.memory", $"asks for {Quantity.FormatBytes(memory)} of memory; at least " +
                                    $"{Quantity.FormatBytes(JobSpecLimits.MinMemoryBytes)} is needed");
        }
        else if (memory > JobSpecLimits.MaxMemoryBytes)
        {
            add("resources.memory", $"asks for {Quantity.FormatBytes(memory)} of memory on one node; the largest " +
                                    $"nodes have {Quantity.FormatBytes(JobSpecLimits.MaxMemoryBytes)}");
        }

        var disk = resources.DiskBytes;
        if (disk < 0)
        {
            add("resources.disk", "disk must not be negative");
        }
        else if (disk > JobSpecLimits.MaxDiskBytes)
        {
            add("resources.disk", $"asks for {Quantity.FormatBytes(disk)} of disk on one node; at most " +
                                  $"{Quantity.FormatBytes(JobSpecLimits.MaxDiskBytes)} is offered");
        }

        if (resources.Gpu is { } gpu)
        {
            ValidateGpu(gpu, add);
        }
    }

    private static void ValidateGpu(GpuRequest gpu, Action<string, string> add)
    {
        if (gpu.Count < 1)
        {
            add("resources.gpu.count", $"gpu count must be at least 1, found {gpu.Count}; " +
                                       "leave out 'gpu' if the job needs none");
        }
        else if (gpu.Count > JobSpecLimits.MaxGpusPerNode)
        {
            add("resources.gpu.count", GpuCountMessage(gpu.Count));
        }

        for (var i = 0; i < gpu.Models.Count; i++)
        {
            var model = gpu.Models[i];
            var path = $"resources.gpu.model[{i}]";
            if (string.IsNullOrWhiteSpace(model))
            {
                add(path, "a GPU model pattern must not be empty");
            }
            else if (model.Length > JobSpecLimits.MaxModelPatternLength)
            {
                add(path, $"GPU model pattern is longer than {JobSpecLimits.MaxModelPatternLength} characters");
            }
            else if (model.Any(char.IsControl))
            {
                add(path, $"GPU model pattern {SpecText.Quote(model)} contains control characters");
            }
        }

        if (gpu.MinVramBytes < 0)
        {
            add("resources.gpu.vram", "vram must not be negative");
        }
        else if (gpu.MinVramBytes > JobSpecLimits.MaxVramBytes)
        {
            add("resources.gpu.vram", $"asks for {Quantity.FormatBytes(gpu.MinVramBytes)} of memory per GPU; no GPU " +
                                      $"has more than {Quantity.FormatBytes(JobSpecLimits.MaxVramBytes)}");
        }

        if (gpu.Vendor is { } vendor && !JobSpecLimits.GpuVendors.Contains(vendor, StringComparer.Ordinal))
        {
            var suggestion = SpecText.Suggest(vendor, JobSpecLimits.GpuVendors);
            add("resources.gpu.vendor", $"unknown GPU vendor {SpecText.Quote(vendor)}; " +
                                        (suggestion is null
                                            ? $"expected {SpecText.OneOf(JobSpecLimits.GpuVendors)}"
                                            : $"did you mean '{suggestion}'?"));
        }

        if (gpu.Interface is { } bus && !JobSpecLimits.GpuInterfaces.Contains(bus, StringComparer.Ordinal))
        {
            var suggestion = SpecText.Suggest(bus, JobSpecLimits.GpuInterfaces);
            add("resources.gpu.interface", $"unknown GPU interface {SpecText.Quote(bus)}; " +
                                           (suggestion is null
                                               ? $"expected {SpecText.OneOf(JobSpecLimits.GpuInterfaces)}"
                                               : $"did you mean '{suggestion}'?"));
        }
    }

    private static void ValidateCluster(ClusterRequest cluster, GpuRequest? gpu, Action<string, string> add)
    {
        if (cluster.Nodes < 1)
        {
            add("cluster.nodes", $"a cluster needs at least 1 node, found {cluster.Nodes}; " +
                                 "leave out 'cluster' for a job on one node");
        }
        else if (cluster.Nodes > JobSpecLimits.MaxClusterNodes)
        {
            add("cluster.nodes", NodeCountMessage(cluster.Nodes));
        }
        else if (gpu is { Count: >= 1 and <= JobSpecLimits.MaxGpusPerNode } &&
                 (long)cluster.Nodes * gpu.Count > JobSpecLimits.MaxGpusPerOrder)
        {
            add("cluster.nodes", $"asks for {cluster.Nodes} nodes × {gpu.Count} GPUs = {cluster.Nodes * gpu.Count} GPUs; " +
                                 $"an order holds at most {JobSpecLimits.MaxGpusPerOrder} GPUs in all — ask for fewer " +
                                 "nodes or fewer GPUs per node");
        }

        if (cluster.MaxRtt is { } rtt)
        {
            if (rtt <= TimeSpan.Zero)
            {
                add("cluster.maxRtt", $"maxRtt must be more than 0, found {Quantity.FormatShortDuration(rtt)}");
            }
            else if (rtt > JobSpecLimits.MaxClusterRtt)
            {
                add("cluster.maxRtt", $"maxRtt of {Quantity.FormatShortDuration(rtt)} is longer than the limit of " +
                                      Quantity.FormatShortDuration(JobSpecLimits.MaxClusterRtt));
            }
            else if (rtt.Ticks % TimeSpan.TicksPerMicrosecond != 0)
            {
                add("cluster.maxRtt", "maxRtt must be a whole number of microseconds");
            }
        }
    }

    private static void ValidateMarket(MarketTerms market, Action<string, string> add)
    {
        if (!Enum.IsDefined(market.Mode))
        {
            add("market.mode", $"unknown market mode {(int)market.Mode}");
        }
        ValidateSeconds("market.window", "window", market.Window,
            JobSpecLimits.MinMarketWindow, JobSpecLimits.MaxMarketWindow, add);

        var performance = market.Mode == MarketMode.Performance;
        if (market.PerformanceRatePerHourMicros is not { } rate)
        {
            if (performance)
            {
                add("market.perBenchmarkHour", "the performance mode needs a price per benchmark-unit-hour");
            }
        }
        else if (!performance)
        {
            add("market.perBenchmarkHour", "perBenchmarkHour is only for the performance mode, and the mode is " +
                                           $"{market.Mode.ToString().ToLowerInvariant()}; remove it or set mode: performance");
        }
        else if (rate <= 0)
        {
            add("market.perBenchmarkHour", $"perBenchmarkHour must be more than 0, found {Quantity.FormatKumo(rate)}");
        }
        else if (rate > JobSpecLimits.MaxPerformanceRatePerHourMicros)
        {
            add("market.perBenchmarkHour", $"perBenchmarkHour of {Quantity.FormatKumo(rate)} is above the limit of " +
                                           $"{Quantity.FormatKumo(JobSpecLimits.MaxPerformanceRatePerHourMicros)} " +
                                           "per benchmark-unit-hour");
        }

        var reputation = market.MinReputation;
        if (!(reputation >= 0 && reputation <= 1))
        {
            add("market.minReputation", $"minReputation must be from 0 to 1, found {Quantity.FormatReputation(reputation)}");
        }
        else if (!Quantity.IsWholeThousandths(reputation))
        {
            add("market.minReputation", $"minReputation {Quantity.FormatReputation(reputation)} has more than " +
                                        $"{JobSpecLimits.ReputationDecimals} decimals");
        }

        ValidateRegions(market.Regions, add);
        ValidateAuditor(market, add);
    }

    private static void ValidateRegions(IReadOnlyList<string> regions, Action<string, string> add)
    {
        if (regions.Count > JobSpecLimits.MaxRegions)
        {
            add("market.regions", $"lists {regions.Count} regions; at most {JobSpecLimits.MaxRegions} may be listed");
        }
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < regions.Count; i++)
        {
            var region = regions[i] ?? "";
            var path = $"market.regions[{i}]";
            if (!RegionPattern().IsMatch(region))
            {
                add(path, $"invalid region name {SpecText.Quote(region)}; use 1 to {JobSpecLimits.MaxRegionNameLength} " +
                          "lower-case letters, digits and '-' (eu-west)");
            }
            else if (seen.TryGetValue(region, out var first))
            {
                add(path, $"region '{region}' is listed twice; market.regions[{first}] has it too");
            }
            else
            {
                seen[region] = i;
            }
        }
    }

    private static void ValidateAuditor(MarketTerms market, Action<string, string> add)
    {
        if (market.Auditor is { } auditor && !Kumo.Crypto.AccountId.TryParse(auditor, out _, out string auditorError))
        {
            add("market.auditor", $"invalid auditor: {auditorError}");
        }

        if (market.Attested.Count > JobSpecLimits.MaxAttestedAttributes)
        {
            add("market.attested", $"asks for {market.Attested.Count} attested attributes; at most " +
                                   $"{JobSpecLimits.MaxAttestedAttributes} may be asked for");
        }
        foreach (var (name, value) in market.Attested)
        {
            var path = $"market.attested.{name}";
            if (!AttributePattern().IsMatch(name))
            {
                add(path, $"invalid attribute name {SpecText.Quote(name)}; use 1 to " +
                          $"{JobSpecLimits.MaxAttestedTextLength} of a-z, 0-9, '_', '.' and '-'");
            }
            else if (!AttributePattern().IsMatch(value ?? ""))
            {
                add(path, $"invalid value {SpecText.Quote(value ?? "")} for attribute '{name}'; use 1 to " +
                          $"{JobSpecLimits.MaxAttestedTextLength} of a-z, 0-9, '_', '.' and '-'");
            }
        }

        // Each is reported where the missing part belongs, as a missing field is.
        if (market.Auditor is not null && market.Attested.Count == 0)
        {
            add("market.attested", "an auditor is named but no attested attributes for it to vouch for; add " +
                                   "attested (e.g. attested: { tier: datacenter }) or remove auditor");
        }
        else if (market.Auditor is null && market.Attested.Count > 0)
        {
            add("market.auditor", "attested attributes need the auditor who signs them; add auditor (the auditor's " +
                                  "account id, kumo1...) or remove attested");
        }
    }

    private static void ValidateCheckpoint(CheckpointPolicy checkpoint, Action<string, string> add)
    {
        if (CheckpointPathProblem(checkpoint.Path ?? "") is { } problem)
        {
            add("checkpoint.path", problem);
        }
        ValidateSeconds("checkpoint.every", "every", checkpoint.Every,
            JobSpecLimits.MinCheckpointInterval, JobSpecLimits.MaxCheckpointInterval, add);
    }

    private static string? CheckpointPathProblem(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return "checkpoint path must not be empty";
        }
        var quoted = SpecText.Quote(path);
        if (path.StartsWith('/'))
        {
            return $"checkpoint path {quoted} must be relative to /job; remove the leading '/'";
        }
        if (TextProblem(path) is { } problem)
        {
            return $"checkpoint path {problem}";
        }
        if (path.Split('/', '\\').Contains(".."))
        {
            return $"checkpoint path {quoted} must not contain '..'; the checkpoint stays inside /job";
        }
        var segments = path.Split('/');
        if (segments.Contains(""))
        {
            return $"checkpoint path {quoted} has an empty segment; separate directory names with one '/' and " +
                   "do not end with '/'";
        }
        if (segments.Contains("."))
        {
            return $"checkpoint path {quoted} must not contain '.' segments; name the directory itself (ckpt, " +
                   "state/ckpt)";
        }
        if (segments[0] == JobSpecLimits.InputsDirectory)
        {
            return $"checkpoint path {quoted} is inside {JobSpecLimits.InputsDirectory}/, where the inputs lie " +
                   "read-only; choose another directory under /job";
        }
        return null;
    }

    private static void ValidateWorkload(Workload workload, bool wireForm, Action<string, string> add)
    {
        var kinds = new[] { ("exec", workload.Exec is not null), ("train", workload.Train is not null), ("infer", workload.Infer is not null), ("quantize", workload.Quantize is not null) }
            .Where(k => k.Item2).Select(k => k.Item1).ToList();
        if (kinds.Count == 0)
        {
            add("workload", "the workload has no kind; add one of 'exec' (a program), 'train', 'infer' or 'quantize' (built-in AI work)");
        }
        else if (kinds.Count > 1)
        {
            add("workload", $"a workload has exactly one kind, found {string.Join(" and ", kinds)}");
        }

        if (workload.Exec is not null)
        {
            ValidateExec(workload.Exec, add);
        }

        var inputNames = workload.Inputs.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        if (workload.Train is { } train)
        {
            ValidateTrain(train, inputNames, add);
        }

        if (workload.Infer is { } infer)
        {
            NamesInput(infer.Model, "workload.infer.model", "the model", inputNames, add);
            if (infer.Data is not null)
            {
                NamesInput(infer.Data, "workload.infer.data", "the data", inputNames, add);
            }

            if (infer.Prompt is { Length: > 4096 })
            {
                add("workload.infer.prompt", $"a prompt is at most 4096 characters, found {infer.Prompt.Length}; put a longer one in an input");
            }

            Range(infer.Tokens, 1, 100_000, "workload.infer.tokens", "tokens", add);
            if (infer.Seed < 0)
            {
                add("workload.infer.seed", $"seed must not be negative, found {infer.Seed}");
            }
        }

        if (workload.Quantize is { } quantize)
        {
            NamesInput(quantize.Model, "workload.quantize.model", "the model", inputNames, add);
            if (quantize.Eval is not null)
            {
                NamesInput(quantize.Eval, "workload.quantize.eval", "the evaluation data", inputNames, add);
            }
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < workload.Inputs.Count; i++)
        {
            ValidateInput(workload.Inputs[i], $"workload.inputs[{i}]", i, seen, wireForm, add);
        }

        for (var i = 0; i < workload.Outputs.Count; i++)
        {
            if (OutputProblem(workload.Outputs[i]) is { } problem)
            {
                add($"workload.outputs[{i}]", problem);
            }
        }
    }

    private static void ValidateTrain(TrainWorkload train, HashSet<string> inputNames, Action<string, string> add)
    {
        NamesInput(train.Data, "workload.train.data", "the data set", inputNames, add);
        if (train.ResumeFrom is { } resume)
        {
            NamesInput(resume, "workload.train.resumeFrom", "the checkpoint to resume from", inputNames, add);
        }

        Range(train.Steps, 1, 1_000_000, "workload.train.steps", "steps", add);
        Range(train.BatchSize, 1, 4096, "workload.train.batchSize", "batchSize", add);
        if (train.LearningRate is <= 0 or > 10)
        {
            add("workload.train.learningRate", $"learningRate must be more than 0 and at most 10, found {train.LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
        }

        if (train.Seed < 0)
        {
            add("workload.train.seed", $"seed must not be negative, found {train.Seed}");
        }

        Range(train.CheckpointEvery, 0, 1_000_000, "workload.train.checkpointEvery", "checkpointEvery", add);
        Range(train.Hidden, 1, 8192, "workload.train.hidden", "hidden", add);
        Range(train.Layers, 1, 48, "workload.train.layers", "layers", add);
        Range(train.Heads, 1, 64, "workload.train.heads", "heads", add);
        Range(train.Embed, 1, 4096, "workload.train.embed", "embed", add);
        Range(train.Context, 2, 4096, "workload.train.context", "context", add);
        if (train.Heads > 0 && train.Embed > 0 && train.Embed % train.Heads != 0)
        {
            add("workload.train.embed", $"embed ({train.Embed}) must be a multiple of heads ({train.Heads})");
        }
    }

    private static void NamesInput(string name, string path, string what, HashSet<string> inputNames, Action<string, string> add)
    {
        if (!inputNames.Contains(name))
        {
            add(path, inputNames.Count == 0
                ? $"{what} must name one of workload.inputs, and there are none; add an input named '{name}'"
                : $"{what} must name one of workload.inputs ({string.Join(", ", inputNames.Order(StringComparer.Ordinal))}), found '{name}'");
        }
    }

    private static void Range(long value, long min, long max, string path, string what, Action<string, string> add)
    {
        if (value < min || value > max)
        {
            add(path, $"{what} must be from {min} to {max}, found {value}");
        }
    }

    private static void ValidateExec(ExecWorkload exec, Action<string, string> add)
    {
        if (string.IsNullOrWhiteSpace(exec.Command))
        {
            add("workload.exec.command", "command must not be empty");
        }
        else if (TextProblem(exec.Command) is { } problem)
        {
            add("workload.exec.command", $"command {problem}");
        }

        for (var i = 0; i < exec.Args.Count; i++)
        {
            if (TextProblem(exec.Args[i]) is { } problem)
            {
                add($"workload.exec.args[{i}]", $"argument {problem}");
            }
        }

        foreach (var (name, value) in exec.Env)
        {
            var path = $"workload.exec.env.{name}";
            if (!EnvNamePattern().IsMatch(name))
            {
                add(path, $"invalid environment variable name {SpecText.Quote(name)}; use letters, digits and '_', " +
                          "not starting with a digit");
            }
            else if (name.StartsWith(JobSpecLimits.ReservedEnvPrefix, StringComparison.Ordinal))
            {
                add(path, $"environment variable '{name}' is reserved: names starting with " +
                          $"{JobSpecLimits.ReservedEnvPrefix} are set by Kumo inside the sandbox");
            }
            if (TextProblem(value) is { } problem)
            {
                add(path, $"the value of '{SpecText.Shorten(name)}' {problem}");
            }
        }
    }

    private static void ValidateInput(
        JobInput input, string path, int index, Dictionary<string, int> seen, bool wireForm, Action<string, string> add)
    {
        var name = input.Name ?? "";
        if (!InputNamePattern().IsMatch(name) || name is "." or "..")
        {
            add($"{path}.name", $"invalid input name {SpecText.Quote(name)}; use 1 to " +
                                $"{JobSpecLimits.MaxInputNameLength} letters, digits, '.', '_' and '-' (not '.' or " +
                                "'..'): it becomes a file name under /job/inputs");
        }
        else if (seen.TryGetValue(name, out var first))
        {
            add($"{path}.name", $"input name '{name}' is used twice; workload.inputs[{first}] has it too");
        }
        else
        {
            seen[name] = index;
        }

        var label = name.Length > 0 ? $"input {SpecText.Quote(name)}" : "this input";
        switch (input.Path, input.Cid)
        {
            case (not null, not null):
                add(path, $"{label} gives both path and cid; give exactly one");
                break;
            case (null, null):
                add(path, $"{label} gives neither path nor cid; give exactly one " +
                          "(path: a local file the CLI uploads, or cid: content already stored)");
                break;
        }
        if (input.Path is { } localPath)
        {
            if (wireForm)
            {
                add($"{path}.path", "a submitted spec names inputs by cid only; local paths are uploaded by the CLI " +
                                    "and replaced with their cids before the spec is sent");
            }
            else if (localPath.Length == 0)
            {
                add($"{path}.path", "path must not be empty");
            }
            else if (TextProblem(localPath) is { } problem)
            {
                add($"{path}.path", $"path {problem}");
            }
        }
        if (input.Cid is { } cid && !Kumo.Content.Cid.TryParse(cid, out _, out string? cidError))
        {
            add($"{path}.cid", $"{SpecText.Quote(cid)} is not a content id: {cidError}");
        }
    }

    private static string? OutputProblem(string pattern)
    {
        if (string.IsNullOrWhiteSpace(pattern))
        {
            return "an output pattern must not be empty";
        }
        if (pattern.StartsWith('/'))
        {
            return $"output pattern {SpecText.Quote(pattern)} must be relative to /job; remove the leading '/'";
        }
        if (pattern.Split('/', '\\').Contains(".."))
        {
            return $"output pattern {SpecText.Quote(pattern)} must not contain '..'; outputs stay inside /job";
        }
        return TextProblem(pattern) is { } problem ? $"output pattern {problem}" : null;
    }

    /// <summary>Text a process receives must have no NUL (it would be cut there) and be valid UTF-16.</summary>
    private static string? TextProblem(string text)
    {
        if (text.Contains('\0', StringComparison.Ordinal))
        {
            return "must not contain NUL characters";
        }
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(text[i]))
            {
                return "is not valid Unicode (it holds an unpaired surrogate)";
            }
        }
        return null;
    }

    private static void ValidatePrice(long micros, Action<string, string> add)
    {
        if (micros <= 0)
        {
            add("price.maxPerHour", $"maxPerHour must be more than 0, found {Quantity.FormatKumo(micros)}");
        }
        else if (micros > JobSpecLimits.MaxPricePerHourMicros)
        {
            add("price.maxPerHour", $"maxPerHour of {Quantity.FormatKumo(micros)} is above the limit of " +
                                    $"{Quantity.FormatKumo(JobSpecLimits.MaxPricePerHourMicros)} per hour");
        }
    }

    private static void ValidateTimeout(TimeSpan timeout, Action<string, string> add) =>
        ValidateSeconds("timeout", "timeout", timeout, JobSpecLimits.MinTimeout, JobSpecLimits.MaxTimeout, add);

    /// <summary>A duration the wire form carries in whole seconds, from <paramref name="min"/> to <paramref name="max"/>.</summary>
    private static void ValidateSeconds(
        string path, string what, TimeSpan value, TimeSpan min, TimeSpan max, Action<string, string> add)
    {
        if (value < min)
        {
            add(path, $"{what} must be at least {Quantity.FormatDuration(min)}, found {Quantity.FormatDuration(value)}");
        }
        else if (value > max)
        {
            add(path, $"{what} of {Quantity.FormatDuration(value)} is longer than the limit of " +
                      $"{Quantity.FormatDuration(max)}");
        }
        else if (value.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            add(path, $"{what} must be a whole number of seconds");
        }
    }

    [GeneratedRegex(@"^[a-z][a-z0-9-]{0,62}\z", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*\z", RegexOptions.CultureInvariant)]
    private static partial Regex EnvNamePattern();

    [GeneratedRegex(@"^[A-Za-z0-9._-]{1,255}\z", RegexOptions.CultureInvariant)]
    private static partial Regex InputNamePattern();

    [GeneratedRegex(@"^[a-z0-9-]{1,32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"^[a-z0-9_.-]{1,32}\z", RegexOptions.CultureInvariant)]
    private static partial Regex AttributePattern();

}
