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
    public const string Error = "error";

    // provider → hub
    public const string Hello = "hello";
    public const string Heartbeat = "heartbeat";
    public const string LeaseAccept = "lease.accept";
    public const string LeaseReject = "lease.reject";
    public const string LeaseStarted = "lease.started";
    public const string LeaseLogs = "lease.logs";
    public const string LeaseResult = "lease.result";
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
    int OfferTimeoutMs);

/// <summary>The hub tells the provider to stop a lease (cancel, or the hub closed it).</summary>
public sealed record LeaseCancel(string LeaseId, CloseReason Reason, string Detail);

/// <summary>Signed (<see cref="MessageTypes.LeaseAccept"/>): the provider commits to run the lease at the offered price.</summary>
public sealed record LeaseAcceptance(string LeaseId, string JobId, string SubmissionDigest, long PricePerHourMicros);

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
