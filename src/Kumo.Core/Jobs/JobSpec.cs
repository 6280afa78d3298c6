namespace Kumo.Jobs;

/// <summary>
/// A tenant's description of a job: what it needs, what it runs, what it may cost.
/// Written as YAML by people (see docs/JOB-SPEC.md) and sent to the hub as normalized JSON.
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

    /// <summary>The most the tenant will pay, in µKUMO per hour of lease time (1 KUMO = 1,000,000 µKUMO).</summary>
    public required long MaxPricePerHourMicros { get; init; }

    /// <summary>Wall-clock limit of one run; the lease is closed with <c>workload_timed_out</c> after it.</summary>
    public required TimeSpan Timeout { get; init; }
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

    /// <summary>Value equality, <see cref="Models"/> compared element by element.</summary>
    public bool Equals(GpuRequest? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         Count == other.Count &&
         MinVramBytes == other.MinVramBytes &&
         string.Equals(Vendor, other.Vendor, StringComparison.Ordinal) &&
         Models.SequenceEqual(other.Models, StringComparer.Ordinal));

    public override int GetHashCode() => HashCode.Combine(Count, MinVramBytes, Vendor, Models.Count);
}

/// <summary>What runs, what it reads and what it leaves behind.</summary>
public sealed record Workload
{
    /// <summary>An arbitrary program run in the sandbox. Exactly one workload kind is set.</summary>
    public ExecWorkload? Exec { get; init; }

    /// <summary>Files placed read-only under <c>/job/inputs/NAME</c> before the workload starts.</summary>
    public IReadOnlyList<JobInput> Inputs { get; init; } = [];

    /// <summary>Glob patterns, relative to <c>/job</c>, of files uploaded as results (e.g. "out/*.txt", "model/**").</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>Value equality, <see cref="Inputs"/> and <see cref="Outputs"/> compared element by element.</summary>
    public bool Equals(Workload? other) =>
        ReferenceEquals(this, other) ||
        (other is not null &&
         Equals(Exec, other.Exec) &&
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
