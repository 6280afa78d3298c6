namespace Kumo.Market;

/// <summary>Round-trip time between two providers, in milliseconds. Symmetric; a provider to itself is 0.</summary>
public interface ILatencyMap
{
    double RttMs(string providerA, string providerB);
}

/// <summary>
/// Latency estimated from where providers say they are: the same provider 0 ms; the same latency zone (a data
/// centre) 0.5 ms; the same region 5 ms; otherwise 80 ms (an intercontinental-ish default). An empty zone or
/// region is unknown and therefore near nobody; an unknown provider is 80 ms from everyone. The numbers are
/// typical figures (intra-DC RTT is well under 1 ms, intra-region 1–10 ms, cross-region 30–250 ms), not
/// measurements: prefer <see cref="MeasuredLatencyMap"/> where providers have pinged each other.
/// </summary>
public sealed class ZoneLatencyMap(Func<string, MarketProvider?> lookup) : ILatencyMap
{
    public const double SameProviderMs = 0;
    public const double SameZoneMs = 0.5;
    public const double SameRegionMs = 5;
    public const double OtherMs = 80;

    /// <summary>Reads providers' regions and zones from a book.</summary>
    public ZoneLatencyMap(MarketBook book)
        : this(book.Get)
    {
    }

    public double RttMs(string providerA, string providerB)
    {
        if (string.Equals(providerA, providerB, StringComparison.Ordinal))
        {
            return SameProviderMs;
        }

        if (lookup(providerA) is not { } a || lookup(providerB) is not { } b)
        {
            return OtherMs;
        }

        bool sameRegion = a.Region.Length > 0 && string.Equals(a.Region, b.Region, StringComparison.OrdinalIgnoreCase);
        if (sameRegion && a.LatencyZone.Length > 0 && string.Equals(a.LatencyZone, b.LatencyZone, StringComparison.OrdinalIgnoreCase))
        {
            return SameZoneMs;
        }

        return sameRegion ? SameRegionMs : OtherMs;
    }
}

/// <summary>Measured round-trip times between pairs (either order), falling back to another map for the rest.</summary>
public sealed class MeasuredLatencyMap(ILatencyMap fallback) : ILatencyMap
{
    private readonly Dictionary<(string, string), double> _measured = [];

    public int Count => _measured.Count;

    /// <summary>Records a measurement for the pair (overwrites an earlier one).</summary>
    public void Set(string providerA, string providerB, double rttMs)
    {
        if (double.IsNaN(rttMs) || rttMs < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rttMs), "a round-trip time is ≥ 0");
        }

        _measured[Key(providerA, providerB)] = rttMs;
    }

    public double RttMs(string providerA, string providerB)
    {
        if (string.Equals(providerA, providerB, StringComparison.Ordinal))
        {
            return 0;
        }

        return _measured.TryGetValue(Key(providerA, providerB), out double rtt) ? rtt : fallback.RttMs(providerA, providerB);
    }

    private static (string, string) Key(string a, string b) => string.CompareOrdinal(a, b) <= 0 ? (a, b) : (b, a);
}
