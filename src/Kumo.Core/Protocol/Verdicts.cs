using System.Text.Json.Serialization;

namespace Kumo.Protocol;

/// <summary>
/// Signed by the network's referee (<see cref="Signing.MessageTypes.VerificationVerdict"/>, the account the genesis
/// names): the outcome of a verification — a dispute decided by recomputing one operator, a failed hardware proof,
/// a validator that approved a wrong canary. It names the offender, what it was about, and the digests of
/// the offender's own signed statements it rests on; a slash report carries the verdict and those statements, so
/// an audit can trace every such slash to what the offender signed.
/// </summary>
/// <param name="Kind">"dispute", "hardware_proof" or "canary".</param>
/// <param name="Offender">The account that loses stake.</param>
/// <param name="Winner">Who proved it (gets the bounty); null: the reporter.</param>
/// <param name="Subject">What it was about, unique per fault (e.g. "job j-…/segment 12", "challenge hw-…").</param>
/// <param name="EvidenceDigests"><see cref="Signing.SignedEnvelope.Digest"/> of each offender-signed envelope relied on.</param>
/// <param name="Reason">One sentence a person can read.</param>
/// <param name="Restitution">
/// The job whose work was bad and its tenant: the ledger moves back to the tenant what the offender was paid out of
/// that job's escrow (it computes the amount itself). Null — and then absent from the JSON, so verdicts signed before
/// restitution existed keep their bytes — for faults with no tenant to refund (hardware proofs, canaries, false accusations).
/// </param>
public sealed record VerificationVerdict(
    string Kind,
    string Offender,
    string? Winner,
    string Subject,
    IReadOnlyList<string> EvidenceDigests,
    string Reason,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Restitution? Restitution = null);

/// <summary>What a verdict asks the ledger to refund: the offender's pay from <paramref name="JobId"/>'s escrow, to <paramref name="Tenant"/>.</summary>
/// <param name="JobId">The job (the ledger's order id, whose escrow paid the offender).</param>
/// <param name="Tenant">The account that funded that escrow; the ledger refuses any other.</param>
public sealed record Restitution(string JobId, string Tenant);
