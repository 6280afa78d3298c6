namespace Kumo.Verification.Learning;

/// <summary>
/// How often segments must be re-executed for cheating not to pay. Two conditions, both required:
/// <list type="number">
/// <item>Deterrence: skipping a segment's work gains <c>gain</c>; if that segment is sampled (probability q) the
/// provider loses the reward and the stake at risk. Cheating is unprofitable when gain &lt; q·(reward + stake), i.e.
/// q &gt; gain / (reward + stake).</item>
/// <item>Detection: a provider cheating on a fraction f of segments is caught within H segments with probability
/// 1 − (1 − q·f)^H; requiring at least P gives q ≥ (1 − (1 − P)^(1/H)) / f.</item>
/// </list>
/// The sampling probability is the larger of the two.
/// </summary>
public static class SamplingEconomics
{
    /// <summary>Smallest q strictly above gain / (reward + stake): sampled that often, a cheated segment costs more than it gains in expectation.</summary>
    public static double DeterrenceQ(double gain, double reward, double stake)
    {
        if (!(gain >= 0) || !(reward >= 0) || !(stake >= 0) || !(reward + stake > 0))
        {
            throw new ArgumentException($"gain, reward and stake must be non-negative, reward + stake positive (gain {gain}, reward {reward}, stake {stake})");
        }

        return Math.BitIncrement(gain / (reward + stake));
    }

    /// <summary>Smallest q with 1 − (1 − q·cheatFraction)^horizon ≥ target.</summary>
    public static double DetectionQ(double cheatFraction, double targetProbability, int horizon)
    {
        if (!(cheatFraction > 0 && cheatFraction <= 1) || !(targetProbability > 0 && targetProbability < 1) || horizon < 1)
        {
            throw new ArgumentException($"need 0 < cheat fraction ≤ 1, 0 < target < 1, horizon ≥ 1 (got {cheatFraction}, {targetProbability}, {horizon})");
        }

        // (1 − q·f)^H ≤ 1 − P  ⇔  q ≥ (1 − (1 − P)^(1/H)) / f.
        return (1 - Math.Pow(1 - targetProbability, 1.0 / horizon)) / cheatFraction;
    }

    /// <summary>Probability that at least one of <paramref name="horizon"/> segments, each cheated with probability
    /// cheatFraction and sampled with probability q, is a sampled cheated one.</summary>
    public static double DetectionProbability(double q, double cheatFraction, int horizon) =>
        1 - Math.Pow(1 - (q * cheatFraction), horizon);

    /// <summary>
    /// The sampling probability that satisfies both deterrence and detection: max(<see cref="DeterrenceQ"/>,
    /// <see cref="DetectionQ"/>). Throws when it would exceed 1 (no sampling rate reaches the goal: raise the stake
    /// or relax the detection goal).
    /// </summary>
    public static double RequiredQ(double gain, double reward, double stake, double cheatFraction, double targetProbability, int horizon)
    {
        double q = Math.Max(DeterrenceQ(gain, reward, stake), DetectionQ(cheatFraction, targetProbability, horizon));
        return q <= 1 ? q : throw new ArgumentException($"the goals need sampling probability {q:0.####} > 1");
    }
}
