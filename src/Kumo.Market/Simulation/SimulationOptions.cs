namespace Kumo.Market.Simulation;

/// <summary>Sizes and knobs of a market simulation. Defaults: a network the size of the seeds' (≈ io.net's GPUs).</summary>
public sealed record SimulationOptions
{
    public int Providers { get; init; } = 5_000;

    /// <summary>GPUs across the fleet, exactly (racks of 16–64 GPUs make up what 1–8 GPU hosts cannot).</summary>
    public int Gpus { get; init; } = 40_000;

    /// <summary>Orders submitted, the 64-GPU clusters included.</summary>
    public int Orders { get; init; } = 10_000;

    public int Seed { get; init; } = 1;

    /// <summary>Cluster orders of 8 nodes × 8 GPUs within 5 ms, spread evenly through the run.</summary>
    public int Clusters64 { get; init; } = 20;

    /// <summary>Providers invited to bid per order (Akash caps bids at 20).</summary>
    public int CandidateLimit { get; init; } = 20;

    /// <summary>How long a bid and its reservation live (Akash: 5 minutes).</summary>
    public long BidTtlMs { get; init; } = 300_000;

    /// <summary>Virtual time between two orders.</summary>
    public long OrderIntervalMs { get; init; } = 250;

    /// <summary>Virtual Unix ms of the first order.</summary>
    public long StartAt { get; init; } = 1_767_225_600_000;

    /// <summary>
    /// Checks every order that was not filled against an independent scan (<see cref="MarketBook.Explain"/>, or
    /// for clusters all candidates grouped by latency) to tell infeasible from missed. Not timed.
    /// </summary>
    public bool CheckFeasibility { get; init; } = true;

    /// <summary>
    /// Orders run through a separate small market (1/10 of the fleet, same mix, not measured) before the measured
    /// run, so the JIT has compiled the hot paths at full optimization: the figures describe a hub that has been up
    /// for a while, not its first second. 0 disables.
    /// </summary>
    public int WarmupOrders { get; init; } = 4_000;
}
