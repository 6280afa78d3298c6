using System.Text.Json;
using Kumo.Leases;
using Kumo.Signing;

namespace Kumo.Protocol;

/// <summary>
/// One text frame on the provider control channel (WebSocket): a type and a body. Statements that commit the
/// provider (hello, heartbeat, accept, reject, result) travel as <see cref="SignedEnvelope"/> bodies; chatter
/// (logs, started) relies on the channel having been authenticated by the signed hello.
/// </summary>
public sealed record ChannelMessage(string Type, JsonElement Body);

/// <summary>The names of channel messages.</summary>
public static class ChannelMessageTypes
{
    // hub → provider
    public const string Challenge = "challenge";
    public const string Welcome = "welcome";
    public const string LeaseOffer = "lease.offer";
    public const string LeaseCancel = "lease.cancel";
    public const string BidRequest = "bid.request";
    public const string BidLost = "bid.lost";
    public const string NetProbe = "net.probe";
    public const string HardwareChallenge = "hw.challenge";
    public const string HardwareReveal = "hw.reveal";
    public const string HardwareResult = "hw.result";
    public const string ValidationTask = "verify.task";
    public const string DisputeOpen = "dispute.open";
    public const string DisputeQuery = "dispute.query";
    public const string DisputeReveal = "dispute.reveal";
    public const string StateReveal = "state.reveal";
    public const string Error = "error";

    // provider → hub
    public const string Hello = "hello";
    public const string Heartbeat = "heartbeat";
    public const string LeaseAccept = "lease.accept";
    public const string LeaseReject = "lease.reject";
    public const string LeaseStarted = "lease.started";
    public const string LeaseLogs = "lease.logs";
    public const string LeaseResult = "lease.result";
    public const string Bid = "bid";
    public const string BidDecline = "bid.decline";
    public const string LeaseCheckpoint = "lease.checkpoint";
    public const string NetReport = "net.report";
    public const string HardwareCommit = "hw.commit";
    public const string HardwareOpen = "hw.open";
    public const string ValidatorJoin = "validator.join";
    public const string ValidationReport = "verify.report";
    public const string DisputeClaim = "dispute.claim";
    public const string DisputeRevealed = "dispute.revealed";
    public const string StateRevealed = "state.revealed";
}

/// <summary>First frame from the hub: the provider must sign this nonce to prove it holds its key.</summary>
public sealed record ChannelChallenge(string Nonce, string HubVersion);

/// <summary>Signed by the provider (<see cref="MessageTypes.ChannelHello"/>): the challenge nonce it answers.</summary>
public sealed record ChannelHello(string Challenge);

/// <summary>The hub accepted the hello.</summary>
public sealed record ChannelWelcome(string ProviderId, int HeartbeatIntervalMs, IReadOnlyList<string> OpenLeases);

/// <summary>
/// The hub offers a lease. <see cref="Submission"/> is the tenant's own signed submission, so the provider can
/// check that the tenant really asked for this work: the hub cannot invent jobs.
/// </summary>
public sealed record LeaseOffer(
    string LeaseId,
    string JobId,
    SignedEnvelope Submission,
    Allocation Allocation,
    long PricePerHourMicros,
    int OfferTimeoutMs)
{
    /// <summary>This node's rank in its cluster (0 for a single-node order).</summary>
    public int NodeRank { get; init; }

    /// <summary>Every node of the cluster lease, this one included, so each can find its peers.</summary>
    public IReadOnlyList<ClusterPeer> Peers { get; init; } = [];

    /// <summary>The files of the job's last checkpoint, to restore under the checkpoint path before it starts (failover).</summary>
    public IReadOnlyList<OutputFile> Checkpoint { get; init; } = [];

    /// <summary>The provider's bid this lease comes from: its reservation becomes the lease. Null when offered without a bid.</summary>
    public string? BidId { get; init; }

    /// <summary>
    /// The share of the provider's pay, in basis points, that funds the replicas checking this <c>exec</c> lease: the
    /// chance that the hub replicates the provider's job on its hardware class (1 on probation). 0: none. An acceptance
    /// repeats it, signed.
    /// </summary>
    public int ReplicationFeeBps { get; init; }

    /// <summary>Why <see cref="ReplicationFeeBps"/> is what it is ("on probation on x64/cpu with 3 of 10 agreeing results: every job is replicated"); empty when 0.</summary>
    public string ReplicationFeeReason { get; init; } = "";

    /// <summary>The acceptance of exactly this offer: its lease, job, submission digest, price and replication fee.</summary>
    public LeaseAcceptance Acceptance() =>
        new(LeaseId, JobId, Submission.Digest(), PricePerHourMicros, ReplicationFeeBps == 0 ? null : ReplicationFeeBps);
}

/// <summary>A node of a cluster lease: its rank, provider, and the address the provider advertised for peer traffic.</summary>
public sealed record ClusterPeer(int Rank, string LeaseId, string ProviderId, string Address);

/// <summary>
/// The hub asks a provider for a bid on an order: one round (<paramref name="OrderId"/> names the job and its attempt)
/// of the job whose tenant signed <paramref name="Submission"/> — the node requirement, node count, pricing mode and
/// maximum price are in its spec. <paramref name="MarketPrices"/> holds the network's current price per GPU-hour of
/// each model (per core-hour for "cpu"), which market-mode orders pay.
/// </summary>
public sealed record BidRequest(
    string OrderId,
    string JobId,
    SignedEnvelope Submission,
    IReadOnlyDictionary<string, long> MarketPrices,
    long RespondBy,
    long BidTtlMs);

/// <summary>Signed by the provider (<see cref="MessageTypes.MarketBid"/>): the nodes it offers, their allocations and its price for them.</summary>
public sealed record BidPayload(string BidId, string OrderId, IReadOnlyList<Allocation> Nodes, long PricePerHour, long ExpiresAt);

/// <summary>The provider will not bid, and why (busy, no matching GPU, price below its floor, its pricing script failed).</summary>
public sealed record BidDecline(string OrderId, string Reason);

/// <summary>The hub releases a bid that did not win (or expired): the provider may promise that capacity again.</summary>
public sealed record BidLost(string BidId, string OrderId, string Reason);

/// <summary>
/// The hub asks a provider to measure its network path to some peers: round-trip time and throughput to each
/// target's probe address. The answer is a <see cref="NetProbeReport"/>.
/// </summary>
public sealed record NetProbeRequest(IReadOnlyList<ProbeTarget> Targets);

/// <summary>A peer to measure: its account and the host:port where its agent answers probes.</summary>
public sealed record ProbeTarget(string ProviderId, string Address);

/// <summary>What a provider measured for the targets of a <see cref="NetProbeRequest"/>.</summary>
public sealed record NetProbeReport(IReadOnlyList<PeerMeasurement> Peers);

/// <summary>
/// One measured path: the median TCP round-trip time in milliseconds and the throughput of a bulk transfer in
/// megabits per second, or <paramref name="Error"/> when the peer could not be reached.
/// </summary>
public sealed record PeerMeasurement(string ProviderId, double? RttMs, double? BandwidthMbps, string? Error);

/// <summary>Signed by the provider (<see cref="MessageTypes.LeaseCheckpoint"/>): the job's checkpoint files as of <see cref="AtMs"/>.</summary>
public sealed record LeaseCheckpointReport(string LeaseId, IReadOnlyList<OutputFile> Files, long AtMs);

/// <summary>The hub tells the provider to stop a lease (cancel, or the hub closed it).</summary>
public sealed record LeaseCancel(string LeaseId, CloseReason Reason, string Detail);

/// <summary>
/// Signed (<see cref="MessageTypes.LeaseAccept"/>): the provider commits to run the lease at the offered price, and — for
/// an <c>exec</c> lease offered with one — agrees that <paramref name="ReplicationFeeBps"/> of its pay funds the replicas
/// that check it (docs/REPLICATION.md). Absent when there is none, so acceptances signed before keep their bytes.
/// </summary>
/// <param name="LeaseId">The lease accepted.</param>
/// <param name="JobId">Its job (the ledger's order).</param>
/// <param name="SubmissionDigest">The digest of the tenant's signed submission the offer carried.</param>
/// <param name="PricePerHourMicros">The price accepted, µKUMO per hour.</param>
/// <param name="ReplicationFeeBps">The replication fee accepted, in basis points of the provider's share; null: none.</param>
public sealed record LeaseAcceptance(
    string LeaseId,
    string JobId,
    string SubmissionDigest,
    long PricePerHourMicros,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] int? ReplicationFeeBps = null);

/// <summary>Signed (<see cref="MessageTypes.LeaseReject"/>): the provider declines, with why.</summary>
public sealed record LeaseRejection(string LeaseId, string Reason);

/// <summary>The workload started in its sandbox.</summary>
public sealed record LeaseStarted(string LeaseId);

/// <summary>A batch of output lines. <see cref="FirstSeq"/> numbers them per lease so the hub can drop duplicates after a reconnect.</summary>
public sealed record LeaseLogBatch(string LeaseId, long FirstSeq, IReadOnlyList<LeaseLogLine> Lines);

public sealed record LeaseLogLine(LogStream Stream, long TimestampMs, string Text);

/// <summary>Signed (<see cref="MessageTypes.LeaseResult"/>): how the workload ended and what it produced.</summary>
public sealed record LeaseResult(
    string LeaseId,
    CloseReason Reason,
    int? ExitCode,
    string Detail,
    IReadOnlyList<OutputFile> Outputs,
    long StartedAtMs,
    long FinishedAtMs);

/// <summary>The hub refused a message; the provider logs it.</summary>
public sealed record ChannelError(string Code, string Message);
