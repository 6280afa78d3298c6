using Kumo.Hub.Storage;
using Kumo.Leases;
using Kumo.Market;

namespace Kumo.Hub.Market;

/// <summary>
/// Feeds lease outcomes into each provider's beta reputation (<see cref="Reputation"/>: forgetting factor 0.95), in
/// the same store transaction as the lease's close, so a score never misses or double-counts an outcome.
/// </summary>
public sealed class ReputationKeeper
{
    /// <summary>
    /// What a closed lease says about its provider: completed work is a success; a provider fault, an offer it let
    /// expire, or turning down an offer it had bid for is a failure; anything else (the tenant's program failed, the
    /// tenant cancelled, the network stopped it) says nothing about the provider.
    /// </summary>
    public static bool? Outcome(LeaseRecord closed) => closed.CloseReason switch
    {
        CloseReason.Completed => true,
        CloseReason.ProviderOfferExpired => false,
        CloseReason.ProviderRejected => closed.BidId is null ? null : false,
        var r when r.IsProviderFault() => false,
        _ => null,
    };

    public async Task RecordInAsync(IHubTransaction tx, LeaseRecord closed, long now)
    {
        if (Outcome(closed) is not { } success)
        {
            return;
        }

        await RecordInAsync(tx, closed.ProviderId, success, now);
    }

    /// <summary>One outcome for <paramref name="providerId"/> judged after its lease closed (e.g. outvoted by replicas of its job).</summary>
    public async Task RecordInAsync(IHubTransaction tx, string providerId, bool success, long now)
    {
        ReputationRecord? before = await tx.GetReputationAsync(providerId);
        ReputationState state = Reputation.Update(before is null ? Reputation.Initial : new ReputationState(before.Successes, before.Failures), success);
        await tx.UpsertReputationAsync(new ReputationRecord(providerId, state.Alpha, state.Beta, (before?.Outcomes ?? 0) + 1, now));
    }

    /// <summary>The score of a stored record (1 for a provider without outcomes).</summary>
    public static double Score(ReputationRecord? record) =>
        record is null ? 1 : Reputation.Score(new ReputationState(record.Successes, record.Failures));
}
