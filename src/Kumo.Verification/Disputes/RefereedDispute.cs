using System.Text.Json;
using Kumo.Crypto;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Disputes;

/// <summary>
/// What is disputed: steps (FromStep, ToStep] of a provider's run under the signed transcript root. Both sides
/// accept the state root at FromStep (it is a checkpoint proven in the signed root, from which the challenger
/// re-executed); they differ on the root at ToStep.
/// </summary>
public sealed record DisputeCase(string DisputeId, string TranscriptRootHex, int Segment, int FromStep, string StartRootHex, int ToStep);

/// <summary>Limits of the game: how long each party has per round.</summary>
public sealed record DisputeRules(TimeSpan RoundTimeout)
{
    public static DisputeRules Default { get; } = new(TimeSpan.FromMinutes(10));
}

/// <summary>How a dispute ended.</summary>
public enum DisputeVerdict
{
    /// <summary>The referee recomputed the operator and the provider's output was wrong.</summary>
    ProviderWrong,

    /// <summary>The referee recomputed the operator and the challenger's output was wrong (a false accusation).</summary>
    ChallengerWrong,

    /// <summary>Neither output matched the referee's recomputation.</summary>
    BothWrong,

    /// <summary>The provider missed a deadline (no answer, a malformed or unsigned answer, or no valid opening of the operator).</summary>
    ProviderTimedOut,

    /// <summary>The challenger missed a deadline.</summary>
    ChallengerTimedOut,

    /// <summary>The challenger's opening claim equals the provider's commitment: nothing to dispute.</summary>
    NoDisagreement,
}

/// <summary>
/// The record a ledger slash is made from: verdict, winner and losers, the step and operator the game narrowed to
/// (when it got that far), the hash the referee computed there, the number of bisection rounds, and every signed claim
/// both parties made (<see cref="Evidence"/>), each of which anyone can verify against the signer's key.
/// </summary>
public sealed record DisputeOutcome(
    string DisputeId,
    DisputeVerdict Verdict,
    AccountId? Winner,
    IReadOnlyList<AccountId> Losers,
    int? Step,
    int? Operator,
    string? OperatorKind,
    string? RefereeHash,
    int Rounds,
    IReadOnlyList<SignedEnvelope> Evidence,
    string Reason);

/// <summary>
/// Refereed delegation over a training segment. Bisection over steps: with the state agreed at lo and disputed at hi,
/// both parties sign the state root at the midpoint; agreement moves lo, disagreement moves hi; after ⌈log₂ T⌉
/// rounds (T = ToStep − FromStep) the dispute is one step s = hi whose input both accept. Then bisection over that
/// step's operator hash chain (<see cref="OperatorRecord"/>): the input of operator 0 is the agreed state root and the
/// output of the last is the disputed root, so after ⌈log₂ N⌉ more rounds (N operators) it is one operator whose input
/// hash both accept and whose output hash they dispute. The referee has a party open that operator
/// (<see cref="OperatorOpening"/>: its inputs, each checked against the agreed state root, the agreed input hash or the
/// previous operator's result), recomputes that one operator — not the step — and compares its output hash with both
/// claims. A party that does not answer a round (or answers unsigned, malformed or off-topic) loses at once.
/// </summary>
public static class RefereedDispute
{
    /// <summary>The round bound: ⌈log₂ steps⌉ + ⌈log₂ operators⌉.</summary>
    public static int MaxRounds(int steps, int operators) => CeilLog2(steps) + CeilLog2(operators);

    public static DisputeOutcome Run(DisputeCase dispute, IDisputeParty provider, IDisputeParty challenger, IStepReplayer replayer,
        DisputeRules rules, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(dispute);
        if (dispute.ToStep <= dispute.FromStep)
        {
            throw new ArgumentException($"an empty segment ({dispute.FromStep}, {dispute.ToStep}]", nameof(dispute));
        }

        if (provider.Account == challenger.Account)
        {
            throw new ArgumentException("a provider cannot challenge itself", nameof(challenger));
        }

        var evidence = new List<SignedEnvelope>();
        int rounds = 0;

        // Opening (round 0, not part of the bound): both sign their root at the end of the segment.
        (string? p, string? c, DisputeOutcome? end) = Ask(0, dispute.ToStep, DisputeQuery.StateOperator);
        if (end is not null)
        {
            return end;
        }

        if (p == c)
        {
            return Decide(DisputeVerdict.NoDisagreement, provider.Account, [challenger.Account], null, null, null, null,
                "the challenger's root equals the provider's at the end of the segment");
        }

        // Bisection over steps.
        int lo = dispute.FromStep, hi = dispute.ToStep;
        string agreed = dispute.StartRootHex;
        string providerAtHi = p!, challengerAtHi = c!;
        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            (p, c, end) = Ask(++rounds, mid, DisputeQuery.StateOperator);
            if (end is not null)
            {
                return end;
            }

            if (p == c)
            {
                (lo, agreed) = (mid, p!);
            }
            else
            {
                (hi, providerAtHi, challengerAtHi) = (mid, p!, c!);
            }
        }

        int step = hi;
        string stepInput = agreed;

        // Bisection over the step's operators: output of −1 is the agreed input, output of N−1 the disputed root.
        int n = replayer.OperatorCount;
        int opLo = -1, opHi = n - 1;
        string opAgreed = stepInput;
        while (opHi - opLo > 1)
        {
            int mid = opLo + ((opHi - opLo) / 2);
            (p, c, end) = Ask(++rounds, step, mid);
            if (end is not null)
            {
                return end;
            }

            if (p == c)
            {
                (opLo, opAgreed) = (mid, p!);
            }
            else
            {
                (opHi, providerAtHi, challengerAtHi) = (mid, p!, c!);
            }
        }

        // The referee: operator opHi alone, recomputed from the inputs the provider (obliged) or else the challenger opens,
        // each checked against what both agreed: the state root before the step and the operator's input hash.
        var refused = new List<string>();
        OperatorReplay? replay = null;
        foreach ((IDisputeParty party, string role) in new[] { (provider, "provider"), (challenger, "challenger") })
        {
            OperatorOpening? opening = party.Open(step, opHi);
            OperatorReplay? attempt = opening is null ? null
                : opening.Step != step || opening.Operator != opHi ? OperatorReplay.Refused("?", $"it opened step {opening.Step}, operator {opening.Operator}")
                : replayer.Replay(stepInput, opAgreed, opening);
            if (attempt is { OutputHash: not null })
            {
                replay = attempt;
                break;
            }

            refused.Add($"the {role} {(attempt is null ? "opened nothing in time" : "opened it wrongly: " + attempt.Problem)}");
        }

        if (replay is null)
        {
            return Decide(DisputeVerdict.ProviderTimedOut, challenger.Account, [provider.Account], step, opHi, null, null,
                $"no party opened operator {opHi} of step {step} for the referee ({string.Join("; ", refused)})");
        }

        string refereeHash = replay.OutputHash!, kind = replay.Kind;
        bool providerRight = providerAtHi == refereeHash, challengerRight = challengerAtHi == refereeHash;
        return (providerRight, challengerRight) switch
        {
            (true, _) => Decide(DisputeVerdict.ChallengerWrong, provider.Account, [challenger.Account], step, opHi, kind, refereeHash,
                $"step {step}, operator {opHi} ({kind}): the referee's output equals the provider's"),
            (false, true) => Decide(DisputeVerdict.ProviderWrong, challenger.Account, [provider.Account], step, opHi, kind, refereeHash,
                $"step {step}, operator {opHi} ({kind}): the referee's output equals the challenger's"),
            _ => Decide(DisputeVerdict.BothWrong, null, [provider.Account, challenger.Account], step, opHi, kind, refereeHash,
                $"step {step}, operator {opHi} ({kind}): the referee's output equals neither claim"),
        };

        (string? Provider, string? Challenger, DisputeOutcome? End) Ask(int round, int atStep, int atOperator)
        {
            var query = new DisputeQuery(dispute.DisputeId, round, atStep, atOperator, time.GetUtcNow() + rules.RoundTimeout);
            string? ph = Claim(provider, query), ch = Claim(challenger, query);
            if (ph is null)
            {
                return (null, null, Decide(DisputeVerdict.ProviderTimedOut, challenger.Account, [provider.Account], atStep,
                    atOperator == DisputeQuery.StateOperator ? null : atOperator, null, null, $"the provider did not answer round {round} by {query.Deadline:O}"));
            }

            return ch is null
                ? (null, null, Decide(DisputeVerdict.ChallengerTimedOut, provider.Account, [challenger.Account], atStep,
                    atOperator == DisputeQuery.StateOperator ? null : atOperator, null, null, $"the challenger did not answer round {round} by {query.Deadline:O}"))
                : (ph, ch, null);
        }

        string? Claim(IDisputeParty party, DisputeQuery query)
        {
            SignedEnvelope? envelope = party.Answer(query);
            if (envelope is null || envelope.Type != DisputeClaim.EnvelopeType || envelope.Signer != party.Account
                || DateTimeOffset.FromUnixTimeMilliseconds(envelope.Timestamp) > query.Deadline || !envelope.TryVerify(out _))
            {
                return null;
            }

            DisputeClaim? claim;
            try
            {
                claim = envelope.Payload.Deserialize<DisputeClaim>(KumoJson.Options);
            }
            catch (JsonException)
            {
                return null;
            }

            if (claim is null || claim.DisputeId != query.DisputeId || claim.Round != query.Round || claim.Step != query.Step
                || claim.Operator != query.Operator || claim.Hash is not { Length: 64 })
            {
                return null;
            }

            evidence.Add(envelope);
            return claim.Hash;
        }

        DisputeOutcome Decide(DisputeVerdict verdict, AccountId? winner, IReadOnlyList<AccountId> losers, int? atStep, int? atOperator,
            string? kind, string? refereeHash, string reason) =>
            new(dispute.DisputeId, verdict, winner, losers, atStep, atOperator, kind, refereeHash, rounds, [.. evidence], reason);
    }

    private static int CeilLog2(int n) => n <= 1 ? 0 : 32 - int.LeadingZeroCount(n - 1);
}
