namespace Kumo.Hub;

/// <summary>How a hub runs. Defaults suit a small network; devnets shorten the timeouts.</summary>
public sealed record HubOptions
{
    /// <summary>Directory holding the database (hub.db) and the content store.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Kestrel listen address(es), e.g. "http://127.0.0.1:7070".</summary>
    public string Urls { get; init; } = "http://127.0.0.1:7070";

    /// <summary>How often providers are asked to send a signed heartbeat.</summary>
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>A provider silent this long is offline and its leases close with <c>provider_heartbeat_lost</c>.</summary>
    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>An offered lease not accepted within this is withdrawn and the job offered elsewhere.</summary>
    public TimeSpan OfferTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How far a signed request's timestamp may be from the hub's clock.</summary>
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Extra time the hub gives a provider past a job's timeout before closing the lease itself.</summary>
    public TimeSpan TimeoutGrace { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest content object accepted.</summary>
    public long MaxContentBytes { get; init; } = 64L << 30;

    /// <summary>Unfinished uploads older than this are deleted.</summary>
    public TimeSpan UploadTtl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Log lines kept per job; later lines are dropped with one notice.</summary>
    public long MaxLogLinesPerJob { get; init; } = 1_000_000;

    /// <summary>The ledger's rules for a new data directory; null: a local devnet-style genesis with a faucet.</summary>
    public Kumo.Ledger.Genesis? Genesis { get; init; }

    /// <summary>Transactions are sealed into a block at least this often (when there are any).</summary>
    public TimeSpan BlockInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>A block is sealed early when it holds this many transactions.</summary>
    public int MaxBlockTransactions { get; init; } = 4000;

    /// <summary>How long a bid stays valid after the bidding window closes, for an order that accepts automatically.</summary>
    public TimeSpan BidValidity { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long bids stay valid after the window closes for a tenant who accepts by hand (kumo job accept).</summary>
    public TimeSpan ManualAcceptTime { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long an order that providers could run but are busy with other leases keeps bidding again; an order nobody
    /// could run even when idle expires when its first window closes.
    /// </summary>
    public TimeSpan OrderTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Most providers asked to bid on one order round (the best candidates by reputation-adjusted price).</summary>
    public int MaxBidRequests { get; init; } = 20;

    /// <summary>How often providers are asked to measure latency and bandwidth to each other (zero: never; regions and zones are used).</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Peers each provider measures per probe round.</summary>
    public int ProbeFanout { get; init; } = 8;

    /// <summary>Re-execute sampled segments of finished train jobs from their published checkpoints (proof of learning).</summary>
    public bool VerifyTraining { get; init; } = true;

    /// <summary>
    /// How long a validator has to answer a validation task before it is taken back (a miss: reputation lost) and given
    /// to another validator — or, with none left, checked by the hub itself.
    /// </summary>
    public TimeSpan ValidationDeadline { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long each party of a refereed dispute has to answer one round (a party that misses it loses).</summary>
    public TimeSpan DisputeRoundTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a provider has to reveal the state it kept after a rooted step, for a spot check of one commit interval;
    /// past it, the check starts from the segment's published checkpoint.
    /// </summary>
    public TimeSpan StateRevealTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Fraction of validation assignments that are known-answer canaries (validators on probation get 25%).</summary>
    public double CanaryRate { get; init; } = 0.01;

    /// <summary>
    /// Adaptive replication of <c>exec</c> jobs (docs/REPLICATION.md): a succeeded job is run again on another provider
    /// of the same hardware class — always while its provider is new, with probability 1/n once it has n ≥ 10
    /// consecutive agreeing results — and the outputs compared.
    /// </summary>
    public bool ReplicateExec { get; init; } = true;

    /// <summary>
    /// How long after a job's own run ended a replica (or tie-breaker) is waited for when the class has other connected
    /// providers but none has room (busy, or paused): a busy moment is no reason to accept a new provider's outputs
    /// unchecked. After it, the check ends skipped (or inconclusive, when two results already disagree). Without any
    /// other provider of the class there is nothing to wait for.
    /// </summary>
    public TimeSpan ReplicaWait { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>How often the watchdog and scheduler look at the world even without a trigger.</summary>
    public TimeSpan SweepInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// About how often each provider's devices are challenged to prove their hardware (each time drawn from 0.5–1.5×);
    /// they are also challenged when first seen. Zero: never (tests drive <c>HardwareProofService</c> by hand).
    /// </summary>
    public TimeSpan HardwareProofInterval { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How soon a provider whose round failed is challenged again (at most <see cref="HardwareProofInterval"/>). Until a
    /// round passes it gets no work, so this is the least time a slow moment costs an honest machine. A failure costs
    /// the hub nothing to re-test until the provider commits, so a devnet can retry much sooner.
    /// </summary>
    public TimeSpan HardwareProofRetry { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The checkers (docs/CHECKERS.md): a liveness probe every minute and a capacity re-test every day, 3 missed probes
    /// pause, a pause of more than 24 h while owing abandoned work or 2 failed re-tests in a row slash. Providers start
    /// at a checker reputation of 1. The hub looks every <see cref="SweepInterval"/> for whatever is due (tests, whose
    /// sweep interval is long, drive <c>ProviderCheckService</c> by hand).
    /// </summary>
    public Kumo.Verification.Checkers.CheckerRules Checkers { get; init; } = new() { InitialReputation = 1 };
}
