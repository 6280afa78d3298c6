using Kumo.Crypto;

namespace Kumo.Verification.Disputes;

/// <summary>The answer to a request to open a dispute.</summary>
public sealed record DisputeRegistration(bool Opened, string DisputeId, string? Reason);

/// <summary>
/// At most one dispute per (transcript root, segment), ever. A second challenge while one is open is refused and
/// pointed at the open one (its outcome will settle the segment for everyone); once decided, the decision stands and
/// further challenges are refused with it. Without this a provider could be made to play the same game again and again,
/// and a colluding challenger could open a losing dispute first to pre-empt an honest one — the refusal names the
/// open dispute so the hub can let the second challenger watch it and re-challenge only if it ends by a timeout.
/// </summary>
public sealed class DisputeRegistry
{
    private readonly Dictionary<(string Root, int Segment), (string Id, AccountId Challenger, DisputeOutcome? Outcome)> _disputes = [];

    public DisputeRegistration Open(string transcriptRootHex, int segment, AccountId challenger)
    {
        var key = (transcriptRootHex, segment);
        if (_disputes.TryGetValue(key, out (string Id, AccountId Challenger, DisputeOutcome? Outcome) existing))
        {
            bool reopenable = existing.Outcome is { Verdict: DisputeVerdict.ChallengerTimedOut } && existing.Challenger != challenger;
            if (!reopenable)
            {
                return new(false, existing.Id, existing.Outcome is null
                    ? $"segment {segment} is already disputed by {existing.Challenger} ({existing.Id})"
                    : $"segment {segment} was decided in {existing.Id}: {existing.Outcome.Verdict}");
            }
        }

        string id = $"{transcriptRootHex[..16]}-{segment}-{challenger.Value[^8..]}";
        _disputes[key] = (id, challenger, null);
        return new(true, id, null);
    }

    /// <summary>Records the outcome of an open dispute.</summary>
    public void Close(string transcriptRootHex, int segment, DisputeOutcome outcome)
    {
        var key = (transcriptRootHex, segment);
        if (!_disputes.TryGetValue(key, out (string Id, AccountId Challenger, DisputeOutcome? Outcome) existing) || existing.Id != outcome.DisputeId
            || existing.Outcome is not null)
        {
            throw new InvalidOperationException($"no open dispute {outcome.DisputeId} on segment {segment}");
        }

        _disputes[key] = existing with { Outcome = outcome };
    }
}
