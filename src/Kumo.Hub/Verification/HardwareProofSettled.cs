using Kumo.Signing;
using Kumo.Verification.Hardware;

namespace Kumo.Hub.Verification;

/// <summary>
/// A settled hardware-proof round of one provider (<see cref="HardwareProofService.Settled"/>): its outcome per device,
/// what the provider signed during it, and whether the proof service itself slashes it (a provably wrong answer).
/// </summary>
public sealed record HardwareProofSettled(
    string ProviderId,
    string ChallengeId,
    bool Passed,
    IReadOnlyList<ProofOutcome> Outcomes,
    IReadOnlyList<SignedEnvelope> Statements,
    bool SlashedByProof);
