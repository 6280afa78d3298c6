namespace Kumo.Jobs;

/// <summary>
/// A tenant's description of a job: what it needs (on how many nodes), what it runs, what it may cost, how the
/// market finds it a provider and how it survives a provider's fault. Written as YAML by people (see docs/JOB-SPEC.md) and sent to the hub as normalized JSON.
/// Read with <see cref="JobSpecReader"/>, checked with <see cref="JobSpecValidator"/>, written with
/// <see cref="JobSpecWriter"/>. The records compare by value, their lists and maps included.
/// </summary>
public sealed record JobSpec
{
    /// <summary>The only spec version this build understands.</summary>
    public const string CurrentVersion = "kumo/v1";

    public required string Version { get; init; }

    /// <summary>Human name: 1–63 characters of [a-z0-9-], starting with a letter.</summary>
    public required string Name { get; init; }

    public required ResourceRequest Resources { get; init; }

    public required Workload Workload { get; init; }

    /// <summary>
    /// The most the tenant will pay, in µKUMO per hour of lease time (1 KUMO = 1,000,000 µKUMO), for the whole order:
    /// all <see cref="NodeCount"/> nodes together.
    /// </summary>
    public required long MaxPricePerHourMicros { get; init; }

    /// <summary>Wall-clock limit of one run; the lease is closed with <c>workload_timed_out</c> after it.</summary>
    public required TimeSpan Timeout { get; init; }

    /// <summary>Null for a job on one node; otherwise how many nodes, each with <see cref="Resources"/>, run it at once.</summary>
    public ClusterRequest? Cluster { get; init; }

    /// <summary>How providers are found and paid; never null (<see cref="MarketTerms.Default"/> when not written).</summary>
    public MarketTerms Market { get; init; } = MarketTerms.Default;

    /// <summary>Null when the job keeps no checkpoint; a failed-over lease then starts from the beginning.</summary>
    public CheckpointPolicy? Checkpoint { get; init; }

    /// <summary>How many times the order is placed again after a provider fault (0 to 10).</summary>
    public int Retries { get; init; } = JobSpecLimits.DefaultRetries;

    /// <summary>How many nodes the job runs on: <see cref="ClusterRequest.Nodes"/>, or 1 without a cluster.</summary>
    public int NodeCount => Cluster?.Nodes ?? 1;
}

/// <summary>A job that runs on several machines at once, each offering the spec's <see cref="ResourceRequest"/>.</summary>
public sealed record ClusterRequest
{
    /// <summary>1 to 64; 1 runs like a spec without a cluster.</summary>
    public required int Nodes { get; init; }

    /// <summary>The longest acceptable round trip between any two of the nodes; null for any.</summary>
    public TimeSpan? MaxRtt { get; init; }
}

/// <summary>How an order is priced.</summary>
public enum MarketMode
{
    /// <summary>Providers bid during the window; the lowest reputation-adjusted price wins.</summary>
    Auction,

    /// <summary>The network's current clearing price for the device model.</summary>
    Market,

    /// <summary>The provider's measured benchmark tier times <see cref="MarketTerms.PerformanceRatePerHourMicros"/>.</summary>
    Performance,
}

/// <summary>The terms under which the market looks for providers: pricing, who may bid, and where.</summary>
public sealed record MarketTerms
{
    /// <summary>An auction with a 10 s window, the best bid accepted automatically, no other requirements.</summary>
    public static MarketTerms Default { get; } = new();

    public MarketMode Mode { get; init; } = MarketMode.Auction;

    /// <summary>How long bids are collected (1 s to 10 min).</summary>
    public TimeSpan Window { get; init; } = JobSpecLimits.DefaultMarketWindow;

    /// <summary>False: the best bid wins when the window closes. True: the tenant lists the bids and accepts one.</summary>
    public bool ManualAccept { get; init; }

    /// <summary>µKUMO per benchmark-unit-hour; set exactly when <see cref="Mode"/> is <see cref="MarketMode.Performance"/>.</summary>
    public long? PerformanceRatePerHourMicros { get; init; }

    /// <summary>The lowest provider reputation accepted, 0 to 1 in steps of 0.001.</summary>
    public double MinReputation { get; init; }

    /// <summary>Acceptable regions ([a-z0-9-], 1–32 characters, unique); empty means any.</summary>
    public IReadOnlyList<string> Regions { get; init; } = [];

    /// <summary>The account id of the auditor who must have signed <see cref="Attested"/> for the provider; null for none.</summary>
    public string? Auditor { get; init; }

    /// <summary>Attributes the provider must hold, signed by <see cref="Auditor"/>; empty exactly when there is no auditor.</summary>
    public IReadOnlyDictionary<string, string> Attested { get; init; } = new Dictionary<string, string>();

    /// <summary>Value equality: <see cref="Regions"/> in order, <see cref="Attested"/> as a set of pairs.</summary>
    public bool Equals(MarketTerms? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         Mode == other.Mode &&
         Window == other.Window &&
         ManualAccept == other.ManualAccept &&
         PerformanceRatePerHourMicros == other.PerformanceRatePerHourMicros &&
         MinReputation.Equals(other.MinReputation) &&
         string.Equals(Auditor, other.Auditor, StringComparison.Ordinal) &&
         Regions.SequenceEqual(other.Regions, StringComparer.Ordinal) &&
         Attested.Count == other.Attested.Count &&
         Attested.All(pair => other.Attested.TryGetValue(pair.Key, out var value) &&
                              string.Equals(pair.Value, value, StringComparison.Ordinal)));

    public override int GetHashCode() =>
        HashCode.Combine(Mode, Window, ManualAccept, PerformanceRatePerHourMicros, MinReputation, Auditor,
            Regions.Count, Attested.Count);
}

/// <summary>
/// Files under <see cref="Path"/> are the job's checkpoint: after a provider fault the next lease starts from the
/// last one taken.
/// </summary>
public sealed record CheckpointPolicy
{
    /// <summary>A directory relative to <c>/job</c>, outside <c>inputs</c>.</summary>
    public required string Path { get; init; }

    /// <summary>How often a checkpoint is taken (10 s to 24 h).</summary>
    public TimeSpan Every { get; init; } = JobSpecLimits.DefaultCheckpointInterval;
}

/// <summary>Resources of one node. Amounts are exact integers: millicores and bytes.</summary>
public sealed record ResourceRequest
{
    /// <summary>CPU in thousandths of a core (1000 = one core).</summary>
    public required int CpuMillicores { get; init; }

    public required long MemoryBytes { get; init; }

    public required long DiskBytes { get; init; }

    /// <summary>Null when the job needs no accelerator.</summary>
    public GpuRequest? Gpu { get; init; }
}

/// <summary>Accelerators the job needs on its node.</summary>
public sealed record GpuRequest
{
    public required int Count { get; init; }

    /// <summary>Acceptable model patterns ('*' wildcard, case-insensitive); empty means any model.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>Minimum memory per device; 0 means any.</summary>
    public long MinVramBytes { get; init; }

    /// <summary>Lower-case vendor ("nvidia", "amd"), or null for any.</summary>
    public string? Vendor { get; init; }

    /// <summary>Lower-case host interface ("sxm", "pcie"), or null for any.</summary>
    public string? Interface { get; init; }

    /// <summary>Value equality, <see cref="Models"/> compared element by element.</summary>
    public bool Equals(GpuRequest? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         Count == other.Count &&
         MinVramBytes == other.MinVramBytes &&
         string.Equals(Vendor, other.Vendor, StringComparison.Ordinal) &&
         string.Equals(Interface, other.Interface, StringComparison.Ordinal) &&
         Models.SequenceEqual(other.Models, StringComparer.Ordinal));

    public override int GetHashCode() => HashCode.Combine(Count, MinVramBytes, Vendor, Interface, Models.Count);
}

/// <summary>What runs, what it reads and what it leaves behind.</summary>
public sealed record Workload
{
    /// <summary>An arbitrary program run in the sandbox. Exactly one workload kind is set.</summary>
    public ExecWorkload? Exec { get; init; }

    /// <summary>Train a built-in model on a data set input (the provider runs Kumo's reproducible tensor engine).</summary>
    public TrainWorkload? Train { get; init; }

    /// <summary>Run a trained model (a safetensors input) on inputs.</summary>
    public InferWorkload? Infer { get; init; }

    /// <summary>Quantize a trained model to int8, with a report of the accuracy change.</summary>
    public QuantizeWorkload? Quantize { get; init; }

    /// <summary>"exec", "train", "infer" or "quantize"; "" when none is set.</summary>
    public string Kind => Exec is not null ? "exec" : Train is not null ? "train" : Infer is not null ? "infer" : Quantize is not null ? "quantize" : "";

    /// <summary>Files placed read-only under <c>/job/inputs/NAME</c> before the workload starts.</summary>
    public IReadOnlyList<JobInput> Inputs { get; init; } = [];

    /// <summary>Glob patterns, relative to <c>/job</c>, of files uploaded as results (e.g. "out/*.txt", "model/**").</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>Value equality, <see cref="Inputs"/> and <see cref="Outputs"/> compared element by element.</summary>
    public bool Equals(Workload? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         Equals(Exec, other.Exec) &&
         Equals(Train, other.Train) &&
         Equals(Infer, other.Infer) &&
         Equals(Quantize, other.Quantize) &&
         Inputs.SequenceEqual(other.Inputs) &&
         Outputs.SequenceEqual(other.Outputs, StringComparer.Ordinal));

    public override int GetHashCode() => HashCode.Combine(Exec, Inputs.Count, Outputs.Count);
}

/// <summary>A program and its arguments, run with <c>/job</c> as the working directory.</summary>
public sealed record ExecWorkload
{
    public required string Command { get; init; }

    public IReadOnlyList<string> Args { get; init; } = [];

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    /// <summary>Whether the sandbox gets a network. Off unless asked for.</summary>
    public bool Network { get; init; }

    /// <summary>Value equality: <see cref="Args"/> in order, <see cref="Env"/> as a set of pairs.</summary>
    public bool Equals(ExecWorkload? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         string.Equals(Command, other.Command, StringComparison.Ordinal) &&
         Network == other.Network &&
         Args.SequenceEqual(other.Args, StringComparer.Ordinal) &&
         Env.Count == other.Env.Count &&
         Env.All(pair => other.Env.TryGetValue(pair.Key, out var value) &&
                         string.Equals(pair.Value, value, StringComparison.Ordinal)));

    public override int GetHashCode() => HashCode.Combine(Command, Network, Args.Count, Env.Count);
}

/// <summary>
/// Training of a built-in model. Weights, optimizer state and data order come from the seed through a
/// counter-based generator, and every kernel is bit-reproducible, so two honest providers produce the same bytes.
/// Outputs (always under <c>out/</c>): <c>model.safetensors</c>, <c>loss.csv</c>, <c>commitments.json</c>, <c>report.json</c>.
/// </summary>
public sealed record TrainWorkload
{
    /// <summary>"mlp" (a classifier) or "transformer" (a character-level language model).</summary>
    public required string Model { get; init; }

    /// <summary>The input holding the data set: digits CSV (gzip or plain) for the MLP, UTF-8 text for the transformer.</summary>
    public required string Data { get; init; }

    public int Steps { get; init; } = 300;

    public int BatchSize { get; init; } = 32;

    /// <summary>Exact decimal, so the spec's canonical form does not depend on float formatting.</summary>
    public decimal LearningRate { get; init; } = 0.001m;

    /// <summary>"adamw" or "sgd" (with momentum 0.9).</summary>
    public string Optimizer { get; init; } = "adamw";

    public long Seed { get; init; }

    /// <summary>Steps between checkpoint commitments (and the last step always).</summary>
    public int CheckpointEvery { get; init; } = 50;

    /// <summary>MLP hidden layer width.</summary>
    public int Hidden { get; init; } = 128;

    /// <summary>Transformer blocks, attention heads, embedding width and context length.</summary>
    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 4;

    public int Embed { get; init; } = 64;

    public int Context { get; init; } = 64;

    /// <summary>
    /// The input holding a checkpoint of this same run (a <c>checkpoint-NNNNNNN.safetensors</c> it published) to continue
    /// from instead of step 0 — after a provider fault or a failed verification (<c>kumo job resume</c>). Null: from the start.
    /// </summary>
    public string? ResumeFrom { get; init; }

    public bool Equals(TrainWorkload? other) =>
        ReferenceEquals(this, other) ||
        (other is not null && Model == other.Model && Data == other.Data && Steps == other.Steps && BatchSize == other.BatchSize &&
         LearningRate == other.LearningRate && Optimizer == other.Optimizer && Seed == other.Seed &&
         CheckpointEvery == other.CheckpointEvery && Hidden == other.Hidden && Layers == other.Layers &&
         Heads == other.Heads && Embed == other.Embed && Context == other.Context && ResumeFrom == other.ResumeFrom);

    public override int GetHashCode() => HashCode.Combine(Model, Data, Steps, Seed);
}

/// <summary>Inference with a model trained by a <see cref="TrainWorkload"/> (its safetensors file carries the architecture).</summary>
public sealed record InferWorkload
{
    /// <summary>The input holding the model (safetensors).</summary>
    public required string Model { get; init; }

    /// <summary>MLP: the input with rows to classify (digits CSV). Transformer: an input whose text is the prompt.</summary>
    public string? Data { get; init; }

    /// <summary>Transformer: the prompt, when no data input is given.</summary>
    public string? Prompt { get; init; }

    /// <summary>Transformer: characters to generate.</summary>
    public int Tokens { get; init; } = 200;

    public long Seed { get; init; }
}

/// <summary>int8 quantization of a trained model, with the accuracy change measured against the fp32 parent.</summary>
public sealed record QuantizeWorkload
{
    /// <summary>The input holding the fp32 model (safetensors).</summary>
    public required string Model { get; init; }

    /// <summary>"int8-per-channel" (symmetric, one scale per output channel) or "q8_0" (blocks of 32, one scale each).</summary>
    public string Scheme { get; init; } = "int8-per-channel";

    /// <summary>An input with held-out data to measure the accuracy change on (digits CSV or text).</summary>
    public string? Eval { get; init; }
}

/// <summary>
/// One input file. The CLI uploads <see cref="Path"/> (a local file) and replaces it with its <see cref="Cid"/>;
/// the hub only accepts inputs that carry a CID.
/// </summary>
public sealed record JobInput
{
    /// <summary>File name under /job/inputs: [A-Za-z0-9._-], 1–255 characters, not "." or "..".</summary>
    public required string Name { get; init; }

    public string? Cid { get; init; }

    public string? Path { get; init; }
}
