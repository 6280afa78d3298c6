namespace Kumo.Verification.Simulation;

/// <summary>One side of a dispute: answers "what was your commitment after step i of the disputed steps?" (0 = their start).</summary>
public interface IStepTrace
{
    string RootAfterStep(int step);
}

/// <summary>Who the referee found right.</summary>
public enum DisputeWinner
{
    Provider,
    Challenger,

    /// <summary>Both were wrong at the step they disagreed on.</summary>
    Neither,
}

/// <summary>A settled dispute: the winner, the first step the parties disagreed on, the question rounds, the referee's own compute.</summary>
public sealed record DisputeVerdict(DisputeWinner Winner, int Step, int Rounds, int StepsExecuted, double Seconds);

/// <summary>
/// Settles a disagreement about a segment between the provider and a challenging validator. The seam where the real
/// refereed-dispute protocol (bisection down to a single operation) plugs in.
/// </summary>
public interface IDisputeReferee
{
    /// <summary>Settles the <paramref name="steps"/> steps after the agreed state <paramref name="startRoot"/> (of the segment).</summary>
    DisputeVerdict Resolve(TrainingJob job, int segment, string startRoot, int steps, IStepTrace provider, IStepTrace challenger);
}

/// <summary>
/// Bisection over per-step commitments: both parties agree on step 0 (the start) and disagree on the end, so the
/// referee asks both for the commitment at the midpoint and keeps the half that still holds a disagreement — one
/// round per question, ⌈log₂ steps⌉ rounds — then re-executes up to the first disputed step itself and sees whose
/// commitment is right. A provider that cannot reveal the agreed start state loses: it committed a root it cannot back.
/// (The real protocol goes on inside that step, ⌈log₂ ops⌉ more rounds, so that the referee runs
/// one operation rather than a step prefix.)
/// </summary>
public sealed class BisectionReferee : IDisputeReferee
{
    public DisputeVerdict Resolve(TrainingJob job, int segment, string startRoot, int steps, IStepTrace provider, IStepTrace challenger)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(provider);
        ArgumentNullException.ThrowIfNull(challenger);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int lo = 0, hi = steps, rounds = 0;
        if (provider.RootAfterStep(hi) == challenger.RootAfterStep(hi))
        {
            // No disagreement on the end: the challenge had no grounds.
            return new DisputeVerdict(DisputeWinner.Provider, hi, 0, 0, 0);
        }

        while (hi - lo > 1)
        {
            int mid = lo + ((hi - lo) / 2);
            rounds++;
            if (provider.RootAfterStep(mid) == challenger.RootAfterStep(mid))
            {
                lo = mid;
            }
            else
            {
                hi = mid;
            }
        }

        if (!SegmentWork.CanReveal(job, startRoot))
        {
            return new DisputeVerdict(DisputeWinner.Challenger, hi, rounds, 0, 0);
        }

        SegmentRun truth = SegmentWork.Run(job, segment, startRoot, hi);
        string right = truth.EndRoot;
        DisputeWinner winner = provider.RootAfterStep(hi) == right ? DisputeWinner.Provider
            : challenger.RootAfterStep(hi) == right ? DisputeWinner.Challenger
            : DisputeWinner.Neither;
        return new DisputeVerdict(winner, hi, rounds, hi, truth.Seconds);
    }
}
