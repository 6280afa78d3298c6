using System.Text.Json;
using Kumo.Crypto;
using Kumo.Jobs;
using Kumo.Leases;

namespace Kumo.Protocol;

/// <summary>Signed by the tenant (<see cref="Signing.MessageTypes.JobSubmit"/>). <see cref="Spec"/> is the normalized JSON spec.</summary>
public sealed record JobSubmission(JsonElement Spec);

/// <summary>Signed by the tenant (<see cref="Signing.MessageTypes.JobCancel"/>).</summary>
public sealed record JobCancellation(string JobId);

/// <summary>The hub's answer to a submission.</summary>
public sealed record JobAccepted(string JobId, JobState State);

/// <summary>A job as the API shows it.</summary>
public sealed record JobView(
    string Id,
    string Name,
    AccountId Tenant,
    JobState State,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    JsonElement Spec,
    IReadOnlyList<LeaseView> Leases,
    IReadOnlyList<OutputFile> Outputs,
    JobFailure? Failure,
    IReadOnlyList<JobEvent> Events)
{
    /// <summary>The order attempt (0 first; +1 per failover or declined offer).</summary>
    public int Attempt { get; init; }

    /// <summary>Re-orders after provider faults so far.</summary>
    public int Failovers { get; init; }

    /// <summary>Why the order has no lease yet, or why it expired: who could run it and what excluded the rest.</summary>
    public string? Explanation { get; init; }
}

/// <summary>Why a job did not succeed.</summary>
public sealed record JobFailure(CloseReason Reason, FaultParty Party, string Detail);

/// <summary>A step in a job's life, with the hub's time, for timelines and latency breakdowns.</summary>
public sealed record JobEvent(DateTimeOffset At, string Kind, string Detail);

/// <summary>A file a job produced, by content id.</summary>
public sealed record OutputFile(string Path, string Cid, long Size);

/// <summary>What a lease holds on its provider. <see cref="GpuModel"/> is the model actually allocated (never the requested pattern).</summary>
public sealed record Allocation(int CpuMillicores, long MemoryBytes, long DiskBytes, IReadOnlyList<string> GpuUuids, string? GpuModel);

/// <summary>A lease as the API shows it.</summary>
public sealed record LeaseView(
    string Id,
    string JobId,
    AccountId ProviderId,
    string ProviderName,
    LeaseState State,
    Allocation Allocation,
    long PricePerHourMicros,
    bool SimulatedGpus,
    DateTimeOffset OfferedAt,
    DateTimeOffset? AcceptedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FirstLogAt,
    DateTimeOffset? ClosedAt,
    CloseReason CloseReason,
    FaultParty? ClosedBy,
    string? CloseDetail,
    int? ExitCode)
{
    /// <summary>The job's order attempt this lease belongs to.</summary>
    public int Attempt { get; init; }

    /// <summary>The node's rank in its cluster (0 for one node).</summary>
    public int NodeRank { get; init; }

    /// <summary>The winning bid the lease came from.</summary>
    public string? BidId { get; init; }

    /// <summary>
    /// For a verification replica (docs/REPLICATION.md): the lease whose outputs it re-computes. A replica never changes
    /// its job's state or outputs; null for the job's own leases.
    /// </summary>
    public string? ReplicaOf { get; init; }

    /// <summary>Whether this lease is a verification replica rather than the job's own run.</summary>
    public bool IsReplica => ReplicaOf is not null;

    /// <summary>
    /// The replication fee the provider accepted with this <c>exec</c> lease, in basis points of its pay (0: none): the
    /// part that funds the replicas checking it (docs/REPLICATION.md, "Who pays for a replica").
    /// </summary>
    public int ReplicationFeeBps { get; init; }
}

/// <summary>One line of a job's output. <see cref="Seq"/> increases by one per line within a job.</summary>
public sealed record LogEntry(long Seq, string LeaseId, LogStream Stream, DateTimeOffset Timestamp, string Text);

public enum LogStream
{
    Stdout,
    Stderr,
    /// <summary>Lines from the agent or hub about the job (fetching inputs, uploading outputs).</summary>
    System,
}

/// <summary>The last event of a followed log stream: the job ended, in this state.</summary>
public sealed record LogStreamEnd(JobState State, JobFailure? Failure);
