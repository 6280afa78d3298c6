using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;

namespace Kumo.Hub.Storage;

// Rows as the store keeps them. Times are Unix milliseconds; structured parts are JSON text so the schema
// stays stable while the protocol grows. Everything a party signed is kept verbatim (the *Envelope columns),
// so the history can be re-verified later.

public sealed record ProviderRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string PublicKey { get; init; }
    public required string RegistrationEnvelope { get; init; }
    public required string InventoryJson { get; init; }
    public required string PricingJson { get; init; }
    public required string Sandbox { get; init; }
    public required bool Simulated { get; init; }
    public required ProviderStatus Status { get; init; }
    public required long RegisteredAt { get; init; }
    public long? LastHeartbeatAt { get; init; }
    public long LastHeartbeatSeq { get; init; }
}

public sealed record JobRecord
{
    public required string Id { get; init; }
    public long Seq { get; init; }
    public required string Tenant { get; init; }
    public required string Name { get; init; }
    public required JobState State { get; init; }
    public required string SpecJson { get; init; }
    public required string SubmissionEnvelope { get; init; }
    public required long CreatedAt { get; init; }
    public required long UpdatedAt { get; init; }
    public CloseReason? FailureReason { get; init; }
    public string? FailureDetail { get; init; }
    public long NextLogSeq { get; init; } = 1;
    /// <summary>Providers that declined or let an offer of this job expire: not offered it again.</summary>
    public string ExcludedProviders { get; init; } = "";

    /// <summary>The order's escrow has been refunded in the ledger (after the job ended).</summary>
    public bool Refunded { get; init; }

    /// <summary>The order round: 0 for the first order, +1 each time it is re-opened (failover, or a winner turning the offer down).</summary>
    public int Attempt { get; init; }

    /// <summary>How many times the job was re-ordered after a provider fault (bounded by the spec's retries).</summary>
    public int Failovers { get; init; }

    /// <summary>When the current order opened: its bidding window runs from here.</summary>
    public long OrderOpenedAt { get; init; }

    /// <summary>The feasibility explanation of the last order that found no provider (also why an order expired).</summary>
    public string? Explanation { get; init; }
}

public sealed record LeaseRecord
{
    public required string Id { get; init; }
    public required string JobId { get; init; }
    public required string ProviderId { get; init; }
    public required LeaseState State { get; init; }
    public required string AllocationJson { get; init; }
    public required long PricePerHourMicros { get; init; }
    public required bool SimulatedGpus { get; init; }
    public required long OfferedAt { get; init; }
    public long? AcceptedAt { get; init; }
    public long? StartedAt { get; init; }
    public long? FirstLogAt { get; init; }
    public long? ClosedAt { get; init; }
    public CloseReason CloseReason { get; init; }
    public string? CloseDetail { get; init; }
    public int? ExitCode { get; init; }
    public string? AcceptanceEnvelope { get; init; }
    public string? ResultEnvelope { get; init; }
    /// <summary>Log lines received from the provider for this lease (for dropping duplicates after a reconnect).</summary>
    public long LogLinesReceived { get; init; }

    /// <summary>How far the ledger has followed this lease: <see cref="LedgerPhases"/>.</summary>
    public int LedgerPhase { get; init; }

    /// <summary>The job's order attempt this lease belongs to (leases of one attempt form its cluster group).</summary>
    public int Attempt { get; init; }

    /// <summary>The node's rank in its cluster (0 for single-node jobs).</summary>
    public int NodeRank { get; init; }

    /// <summary>The provider's bid this lease came from (null for leases made before the market).</summary>
    public string? BidId { get; init; }

    /// <summary>
    /// For a replica (a second or third run of an <c>exec</c> job on another provider, to check the first run's outputs):
    /// the id of the lease whose outputs it checks. Null for the job's own leases. A replica never moves its job, its
    /// outputs are not the job's, and the ledger does not follow it (docs/REPLICATION.md).
    /// </summary>
    public string? ReplicaOf { get; init; }

    /// <summary>
    /// The replication fee offered with this lease, in basis points of the provider's pay (0: none): what its signed
    /// acceptance must repeat, and what the ledger splits off its settlements into the replication pool.
    /// </summary>
    public int ReplicationFeeBps { get; init; }
}

/// <summary>Where a bid stands. Stored: never renumber.</summary>
public enum BidState
{
    /// <summary>Received and valid; the provider holds the capacity for it until it expires.</summary>
    Open = 0,
    /// <summary>Chosen: leases were offered from it.</summary>
    Won = 1,
    /// <summary>Another bid won, or the order ended: the provider was told to release it.</summary>
    Lost = 2,
    /// <summary>Its validity ran out before anyone accepted it.</summary>
    Expired = 3,
    /// <summary>The provider declined to bid (the detail says why).</summary>
    Declined = 4,
    /// <summary>The hub refused the bid (the detail says why).</summary>
    Refused = 5,
}

/// <summary>A provider's answer to a bid request: a signed bid, or a decline, or a bid the hub refused.</summary>
public sealed record BidRecord
{
    public required string Id { get; init; }
    public required string JobId { get; init; }
    public required int Attempt { get; init; }
    public required string ProviderId { get; init; }
    public required BidState State { get; init; }
    public required long PricePerHourMicros { get; init; }
    /// <summary>The allocations offered, one per node (JSON array of <see cref="Allocation"/>).</summary>
    public required string NodesJson { get; init; }
    public string? Envelope { get; init; }
    public required long ReceivedAt { get; init; }
    public required long ExpiresAt { get; init; }
    public string Detail { get; init; } = "";
}

/// <summary>A job's checkpoint, as a node reported it (signed).</summary>
public sealed record CheckpointRecord(string JobId, string LeaseId, long At, string FilesJson, string Envelope);

/// <summary>A provider's beta-model reputation counters (decayed successes and failures).</summary>
public sealed record ReputationRecord(string ProviderId, double Successes, double Failures, long Outcomes, long UpdatedAt);

/// <summary>A provider's consecutive agreeing replicated <c>exec</c> results on one hardware class (adaptive replication).</summary>
public sealed record ExecTrustRecord(string ProviderId, string HardwareClass, long Agreements, long UpdatedAt);

/// <summary>
/// A provider's proof-of-learning standing: training segments delivered and not shown wrong since it joined or was last
/// caught (what decides probation's sampling rate, <c>SegmentSampling</c>).
/// </summary>
public sealed record TrainingStandingRecord(string ProviderId, long Delivered, long UpdatedAt);

/// <summary>
/// A provider's standing with the checkers (<c>CheckerStanding</c> as JSON: health, reputation, pauses, the count of
/// failed capacity re-tests in a row), and the failed re-tests of that streak with what the provider signed in them
/// (<c>HardwareProofSettled</c> list as JSON; null when the streak is empty), so a slash after a restart cites them all.
/// </summary>
public sealed record ProviderCheckRecord(string ProviderId, string StandingJson, long UpdatedAt, string? CapacityFailuresJson = null);

/// <summary>
/// A provider's hardware-proof standing (<c>HardwareProofService</c>'s stored state as JSON): the claims its latest
/// round proved, the verdict, the measured tier, when it is due again, and whether a round was open.
/// </summary>
public sealed record HardwareProofRecord(string ProviderId, string ProofJson, long UpdatedAt);

/// <summary>
/// The randomness a job's verification sampled with (<see cref="Seed"/>, 16 hex digits) and the sampling rate it used,
/// drawn once after the provider's result: a hub that restarts mid-check draws nothing new, so it checks the same
/// segments or rows again instead of giving the provider another roll of the dice.
/// </summary>
public sealed record VerificationDrawRecord(string JobId, string Seed, double Q, long At);

/// <summary>A validator's record in the validator pool (status: active, dropped or slashed), so a restarted hub keeps it.</summary>
public sealed record ValidatorStandingRecord(string ValidatorId, double Reputation, long Assignments, long Missed, string Status, long UpdatedAt);

/// <summary>Attributes an auditor signed for a provider (the latest statement per auditor).</summary>
public sealed record AttestationRecord(string ProviderId, string Auditor, string AttributesJson, string Envelope, long At);

/// <summary>The ledger's view of a lease, kept with the lease so the ledger can catch up after any interruption.</summary>
public static class LedgerPhases
{
    public const int None = 0;
    public const int Opened = 1;
    public const int Closed = 2;
}

public sealed record JobEventRecord(string JobId, long At, string Kind, string Detail);

public sealed record LogRecord(string JobId, long Seq, string LeaseId, LogStream Stream, long Timestamp, string Text);

public sealed record OutputRecord(string JobId, string Path, string Cid, long Size);

public sealed record ContentRecord(string Cid, long Size, long StoredAt);

public sealed record UploadRecord
{
    public required string Id { get; init; }
    public required string Cid { get; init; }
    public required long Size { get; init; }
    public required string LeavesJson { get; init; }
    public required string Owner { get; init; }
    public required long CreatedAt { get; init; }
}

/// <summary>Just enough of an open lease to check a heartbeat against it.</summary>
public sealed record OpenLease(string Id, LeaseState State, long? AcceptedAt);

/// <summary>A block as stored, with its header bytes.</summary>
public sealed record LedgerBlockRow(long Height, long Time, string Hash, long TxCount, byte[] Header);

/// <summary>A ledger transaction as stored: where, its hash and kind, and its canonical bytes.</summary>
public sealed record LedgerTxRow(long Height, long Index, string Hash, string Kind, string? Signer, byte[] Body);

/// <summary>One account's net change from one transaction.</summary>
public sealed record LedgerPostingRow(string Account, long Height, long Index, long Delta, string TxHash, string Kind, long Time);

/// <summary>Everything one sealed block writes, in one store transaction.</summary>
public sealed record LedgerBlockWrite(
    long Height,
    long Time,
    string Hash,
    byte[] Header,
    IReadOnlyList<LedgerTxWrite> Transactions,
    IReadOnlyList<string> AddedStateLines,
    IReadOnlyList<string> RemovedStateLines);

public sealed record LedgerTxWrite(int Index, string Hash, string Kind, string? Signer, byte[] Body, IReadOnlyList<(string Account, long Delta)> NetPostings);
