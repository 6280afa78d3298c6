namespace Kumo.Protocol;

/// <summary>The signed statement type of a validator's answer: typed, so it never verifies as any other statement.</summary>
public static class ValidationMessageTypes
{
    public const string Report = "kumo.verify.report/v1";
}

/// <summary>
/// A provider offers to validate other providers' work (<see cref="ChannelMessageTypes.ValidatorJoin"/>, on its
/// authenticated channel). The hub adds it to the pool while it is connected and bonded.
/// </summary>
public sealed record ValidatorJoin(int Concurrency);

/// <summary>
/// Checking work for a validator (<see cref="ChannelMessageTypes.ValidationTask"/>): re-execute part of a finished job
/// from the published content and say whether the provider's claim reproduces. <see cref="SpecJson"/> is the job's
/// normalized spec (it names the inputs by CID); exactly one of <see cref="Segment"/> and <see cref="Inference"/> is set.
/// The validator answers with a signed <see cref="ValidationReport"/> by <see cref="DeadlineMs"/> (Unix ms).
/// </summary>
public sealed record ValidationTask(string TaskId, string JobId, string SpecJson, long DeadlineMs, SegmentCheckRequest? Segment, InferenceCheckRequest? Inference);

/// <summary>
/// Re-execute training steps (FromStep, ToStep] from the checkpoint the provider published for FromStep
/// (<see cref="StartCheckpointCid"/>, whose state root must be <see cref="StartRoot"/>; both null when FromStep is 0: the
/// job's initial state) and compare the end state's root with <see cref="ClaimedRoot"/>.
/// </summary>
public sealed record SegmentCheckRequest(int Index, int FromStep, string? StartCheckpointCid, string? StartRoot, int ToStep, string ClaimedRoot);

/// <summary>
/// Recompute the listed <see cref="Indices"/> of an <c>infer</c> job's output (<see cref="OutputCid"/>:
/// out/predictions.csv when <see cref="Unit"/> is "rows", out/generated.txt when it is "tokens") bit for bit.
/// </summary>
public sealed record InferenceCheckRequest(string OutputCid, string Unit, IReadOnlyList<int> Indices);

/// <summary>
/// Signed by the validator (<see cref="ValidationMessageTypes.Report"/>): whether the claim reproduced, and what it
/// computed — for a segment, the end state's root. A signed report is evidence: approving a claim the referee knows to
/// be wrong (a canary), or rejecting one the referee reproduces (a false accusation), is slashed on it.
/// </summary>
public sealed record ValidationReport(string TaskId, string JobId, string Subject, string Claimed, bool Approves, string? Computed, string Detail);

/// <summary>
/// The hub opens a refereed dispute over a training segment (<see cref="ChannelMessageTypes.DisputeOpen"/>) with each
/// party: the provider that committed the segment and the validator that rejected it. <see cref="Task"/> names the job,
/// the segment and the agreed start checkpoint; from there each party answers the bisection's queries from its own
/// computation. A party that does not answer a query by its deadline loses.
/// </summary>
public sealed record DisputeOpening(string DisputeId, string Role, ValidationTask Task);

/// <summary>
/// One question of the bisection (<see cref="ChannelMessageTypes.DisputeQuery"/>): the hash after operator
/// <see cref="Operator"/> of step <see cref="Step"/> (-1: the state root after the step), answered with a signed claim
/// (<c>kumo.dispute.claim/v1</c>, sent as <see cref="ChannelMessageTypes.DisputeClaim"/>) by <see cref="DeadlineMs"/>.
/// </summary>
public sealed record DisputeQueryRequest(string DisputeId, int Round, int Step, int Operator, long DeadlineMs);

/// <summary>
/// The referee asks a party to open operator <see cref="Operator"/> of step <see cref="Step"/>
/// (<see cref="ChannelMessageTypes.DisputeReveal"/>): the party uploads the operator's inputs with the hashes that
/// authenticate them as an opening file and names its CID (<see cref="DisputeRevelation"/>).
/// </summary>
public sealed record DisputeRevealRequest(string DisputeId, int Step, int Operator, long DeadlineMs);

/// <summary>A party's answer to <see cref="DisputeRevealRequest"/>: the CID of the opening file it uploaded.</summary>
public sealed record DisputeRevelation(string DisputeId, int Step, string Cid);

/// <summary>
/// A spot check of one commit interval (<see cref="ChannelMessageTypes.StateReveal"/>): the hub asks the provider of a
/// finished train job for the state it kept after <see cref="Step"/> — a step it published a root for in
/// step-roots.json, inside a segment — to re-execute the interval that starts there. The provider uploads it as a
/// checkpoint file and names the CID (<see cref="StateRevelation"/>) by <see cref="DeadlineMs"/>.
/// </summary>
public sealed record StateRevealRequest(string RequestId, string JobId, int Step, long DeadlineMs);

/// <summary>
/// The answer to <see cref="StateRevealRequest"/>: the CID of the uploaded checkpoint file, or why there is none (the
/// state was not kept, or is gone) — then the hub checks from the segment's published checkpoint instead.
/// </summary>
public sealed record StateRevelation(string RequestId, string? Cid, string? Error = null);
