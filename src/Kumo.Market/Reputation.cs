namespace Kumo.Market;

/// <summary>Beta reputation state: α counts (discounted) successes, β failures.</summary>
public readonly record struct ReputationState(double Alpha, double Beta);

/// <summary>
/// Beta reputation with forgetting, as Storj scores audits: after each outcome s ∈ {0, 1},
/// α ← λα + s and β ← λβ + (1 − s), with λ = 0.95; the score is α / (α + β).
/// The prior is α = 1, β = 0, so a new provider scores 1: the market must be able to try newcomers, and a
/// prior below 1 would rank every newcomer under every established provider forever. What protects tenants
/// from an unvetted provider is not its score but the hub: bond before bidding, the hardware challenge, and
/// <see cref="Observations"/> — the hub should treat a provider with fewer than ~10 outcomes as unvetted
/// (spot-check its work more often, like BOINC's adaptive replication, and keep it out of orders that ask for a
/// minimum reputation until it has a record). One failure takes a new provider to 0.5; λ bounds the memory to
/// about 1/(1 − λ) = 20 recent outcomes, so old good work cannot shield new bad work for long.
/// </summary>
public static class Reputation
{
    /// <summary>Forgetting factor λ.</summary>
    public const double Lambda = 0.95;

    /// <summary>Storj disqualifies below this score; the hub may do the same.</summary>
    public const double DisqualifyBelow = 0.6;

    /// <summary>The prior: α = 1, β = 0 (score 1).</summary>
    public static ReputationState Initial { get; } = new(1, 0);

    /// <summary>The state after one outcome.</summary>
    public static ReputationState Update(ReputationState state, bool success) =>
        new((Lambda * state.Alpha) + (success ? 1 : 0), (Lambda * state.Beta) + (success ? 0 : 1));

    /// <summary>α / (α + β); 1 when both are 0.</summary>
    public static double Score(ReputationState state)
    {
        double total = state.Alpha + state.Beta;
        return total <= 0 ? 1 : state.Alpha / total;
    }

    /// <summary>
    /// Discounted number of outcomes behind the state beyond the prior: α + β − λⁿ·1 is not recoverable without n,
    /// so this is α + β − 1 clamped at 0, which grows toward 1/(1 − λ) − 1 = 19 with many outcomes. Below ~5 the
    /// record is thin.
    /// </summary>
    public static double Observations(ReputationState state) => Math.Max(0, state.Alpha + state.Beta - 1);
}
