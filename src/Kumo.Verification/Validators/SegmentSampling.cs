using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Validators;

/// <summary>
/// How likely a delivered training segment is to be re-executed by a validator (proof of learning by sampling).
/// <para>
/// The goal "a provider cheating on 10% of its segments is caught with ≥ 99% probability within 60 segments" needs,
/// per segment, a catch probability of f·q (f = 0.1), so 1 − (1 − 0.1·q)^60 ≥ 0.99 ⇒ q ≥ 0.7388 — an overhead of
/// about 1.74, which conflicts with the ≤ 1.15 overhead goal. Nobody can have both for every segment, so the policy
/// is adaptive: a provider on probation (fewer than <see cref="ProbationSegments"/> segments since it joined or was
/// last caught) is sampled at <see cref="ProbationQ"/> = 0.74, which keeps the 99%-within-60 promise where it
/// matters — a new identity is where a cheater starts, and a cheater caught once starts over; after probation,
/// <see cref="TrustedQ"/> = 0.05. Over a provider's life of L segments the verification overhead is
/// (60·0.74 + (L − 60)·0.05) / L, ≤ 0.15 from L ≈ 414 segments on. A trusted provider that turns is still caught
/// with ≥ 99% within about 920 segments at 10% cheating, and more to the point each cheated segment is caught with
/// probability 0.05, so a bond worth more than 20 segments' pay makes cheating lose money in expectation.
/// </para>
/// </summary>
public sealed class SegmentSampling
{
    private readonly Dictionary<string, int> _delivered = new(StringComparer.Ordinal);

    public SegmentSampling(double probationQ = 0.74, int probationSegments = 60, double trustedQ = 0.05)
    {
        if (!(probationQ is > 0 and <= 1) || !(trustedQ is > 0 and <= 1) || probationSegments < 0)
        {
            throw new ArgumentException("sampling probabilities lie in (0, 1] and probation is not negative");
        }

        ProbationQ = probationQ;
        ProbationSegments = probationSegments;
        TrustedQ = trustedQ;
    }

    public double ProbationQ { get; }

    public int ProbationSegments { get; }

    public double TrustedQ { get; }

    /// <summary>The smallest q with 1 − (1 − f·q)^segments ≥ confidence (may exceed 1: then no q is enough).</summary>
    public static double MinimalQ(double cheatFraction, int segments, double confidence) =>
        (1 - Math.Pow(1 - confidence, 1.0 / segments)) / cheatFraction;

    /// <summary>Probability that a provider cheating on a fraction f of segments is caught within the given segments at rate q.</summary>
    public static double DetectionWithin(double q, double cheatFraction, int segments) =>
        1 - Math.Pow(1 - (q * cheatFraction), segments);

    /// <summary>Segments the provider delivered since it joined or was last caught.</summary>
    public int Delivered(string provider) => _delivered.GetValueOrDefault(provider);

    public double Probability(string provider) => Delivered(provider) < ProbationSegments ? ProbationQ : TrustedQ;

    /// <summary>Draws whether the provider's next segment is re-executed.</summary>
    public bool ShouldVerify(string provider, Philox random)
    {
        ArgumentNullException.ThrowIfNull(random);
        return random.NextFloat() < Probability(provider);
    }

    /// <summary>A segment delivered and not shown wrong.</summary>
    public void RecordDelivered(string provider) => _delivered[provider] = Delivered(provider) + 1;

    /// <summary>A provider caught: back to probation.</summary>
    public void RecordCaught(string provider) => _delivered[provider] = 0;

    /// <summary>Every provider's segments delivered since it joined or was last caught (to persist them).</summary>
    public IReadOnlyDictionary<string, int> Standing => _delivered;

    /// <summary>Starts a provider with a history (a network in steady state has providers past probation).</summary>
    public void SetHistory(string provider, int deliveredSegments) => _delivered[provider] = Math.Max(0, deliveredSegments);
}
