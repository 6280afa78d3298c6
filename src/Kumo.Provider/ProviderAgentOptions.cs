using Kumo.Hardware;
using Kumo.Protocol;

namespace Kumo.Provider;

/// <summary>How a provider agent runs.</summary>
public sealed record ProviderAgentOptions
{
    /// <summary>The hub to join, e.g. http://127.0.0.1:7070.</summary>
    public required Uri HubUrl { get; init; }

    /// <summary>Holds the provider's key (provider-key.json) and per-lease working directories.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Display name in listings.</summary>
    public required string Name { get; init; }

    /// <summary>What this machine offers (detected, plus any simulated GPUs on a devnet).</summary>
    public required HardwareInventory Inventory { get; init; }

    /// <summary>
    /// What computes the hardware proof of each device of <see cref="Inventory"/> (the caller keeps ownership); null: the
    /// agent opens its own (<see cref="Verification.ProofDevices.For"/>).
    /// </summary>
    public Verification.ProofDevices? ProofDevices { get; init; }

    public ProviderPricing Pricing { get; init; } = ProviderPricing.Default;

    /// <summary>An external pricing program (JSON of the allocated resources on stdin, price on stdout); null for the linear scale.</summary>
    public string? PricingScript { get; init; }

    /// <summary>How long the pricing program may take before the bid is declined.</summary>
    public TimeSpan PricingScriptTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Where the machine is, e.g. "eu-west" (orders may require regions).</summary>
    public string Region { get; init; } = "";

    /// <summary>A data centre or rack: machines in one zone are close to each other.</summary>
    public string LatencyZone { get; init; } = "";

    /// <summary>Benchmark units of one device (the performance pricing mode); 0 = unmeasured.</summary>
    public int PerformanceTier { get; init; }

    /// <summary>host:port cluster peers use to reach this machine.</summary>
    public string Address { get; init; } = "";

    /// <summary>
    /// host:port where the agent answers other providers' latency and throughput probes ("" = none). The hub asks
    /// providers to probe each other; the measured latency and bandwidth decide which machines can form a cluster.
    /// </summary>
    public string ProbeAddress { get; init; } = "";

    /// <summary>
    /// The directory with kumo.dll that runs built-in AI workloads in the sandbox (default: next to this agent).
    /// Without one, train, infer and quantize jobs are declined.
    /// </summary>
    public string? RuntimeDirectory { get; init; }

    /// <summary>At start, bond the stake the network requires for this machine's devices if less is bonded.</summary>
    public bool EnsureStake { get; init; }

    /// <summary>How often a connected agent checks that its bond still meets the minimum (a slash may have cut it).</summary>
    public TimeSpan StakeCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Devnet: take what bonding needs from the hub's faucet first.</summary>
    public bool UseFaucet { get; init; }

    /// <summary>
    /// Offer to validate other providers' train and infer jobs (re-execute sampled segments, recompute sampled rows) while
    /// bonded; the hub never gives a provider its own work to check.
    /// </summary>
    public bool Validate { get; init; }

    /// <summary>Fault injection for tests and the adversarial demo: how validation tasks are answered.</summary>
    public Verification.ValidatorBehavior ValidatorBehavior { get; init; } = Verification.ValidatorBehavior.Honest;

    /// <summary>
    /// Fault injection for tests: when true, the agent changes every output file of an <c>exec</c> lease before it uploads
    /// it (a provider returning wrong outputs), which adaptive replication must catch (docs/REPLICATION.md).
    /// </summary>
    public bool WrongExecOutputs { get; init; }

    /// <summary>
    /// The largest replication fee this agent signs, in basis points of its pay (10,000, the default: any). An exec
    /// lease offered with more is turned down, naming the limit; a provider on probation is offered 10,000, so a lower
    /// limit keeps it off exec work until then (docs/REPLICATION.md, "Who pays for a replica").
    /// </summary>
    public int MaxReplicationFeeBps { get; init; } = 10_000;

    /// <summary>Keep each lease's directory after it ends (for debugging) instead of deleting it.</summary>
    public bool KeepLeaseDirectories { get; init; }

    /// <summary>Longest wait between attempts to reach the hub.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Agent version reported at registration.</summary>
    public string AgentVersion { get; init; } = typeof(ProviderAgentOptions).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
