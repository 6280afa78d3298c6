using Kumo.Hub.Api;
using Kumo.Market;
using Kumo.Protocol;

namespace Kumo.Hub.Market;

/// <summary>
/// Inter-node latency and bandwidth as providers measured them (<see cref="NetworkProber"/> asks, agents answer with
/// a <see cref="NetProbeReport"/>). Only what the hub asked for is accepted, and a pair counts only when both ends
/// measured each other: its round-trip time is the larger of the two reports and its bandwidth the smaller, so a
/// provider cannot talk itself into a cluster by reporting a fast path alone. A pair either end could not reach
/// counts as unreachable. Measurements older than <see cref="MaxAge"/> are ignored; the rest falls back to the
/// estimate from regions and zones.
/// </summary>
public sealed class NetworkMeasurements
{
    /// <summary>How long a measurement stands.</summary>
    public static readonly TimeSpan MaxAge = TimeSpan.FromMinutes(30);

    /// <summary>How long an agent has to answer a probe request.</summary>
    public static readonly TimeSpan AnswerTime = TimeSpan.FromMinutes(2);

    private const int MaxPeersPerReport = 64;
    private const double MaxRttMs = 60_000;
    private const double MaxMbps = 10_000_000; // 10 Pb/s: anything above is not a measurement

    private readonly Lock _gate = new();
    private readonly Dictionary<(string From, string To), Sample> _samples = [];
    private readonly Dictionary<(string From, string To), long> _asked = [];

    /// <summary>Notes that <paramref name="from"/> was asked to measure <paramref name="to"/> (only asked-for reports are taken).</summary>
    public void Asked(string from, IEnumerable<string> to, long now)
    {
        lock (_gate)
        {
            foreach (string peer in to)
            {
                _asked[(from, peer)] = now;
            }

            // Requests never answered, and measurements past their age, are dropped here: the tables stay bounded.
            long cutoff = now - (long)MaxAge.TotalMilliseconds;
            foreach (var key in _asked.Where(a => a.Value < now - (long)AnswerTime.TotalMilliseconds).Select(a => a.Key).ToList())
            {
                _asked.Remove(key);
            }

            foreach (var key in _samples.Where(s => s.Value.At < cutoff).Select(s => s.Key).ToList())
            {
                _samples.Remove(key);
            }
        }
    }

    /// <summary>When <paramref name="from"/> last measured <paramref name="to"/> (0 = never, or too long ago).</summary>
    public long LastMeasured(string from, string to)
    {
        lock (_gate)
        {
            return _samples.TryGetValue((from, to), out Sample sample) ? sample.At : 0;
        }
    }

    /// <summary>Takes a provider's report. Throws a 400 problem naming the first thing wrong; then nothing is recorded.</summary>
    public void Record(string reporter, NetProbeReport? report, long now)
    {
        if (report?.Peers is null)
        {
            throw ApiProblem.BadRequest("invalid_measurement", "a net.report carries a list of peers", "peers");
        }

        if (report.Peers.Count > MaxPeersPerReport)
        {
            throw ApiProblem.BadRequest("invalid_measurement", $"a net.report carries at most {MaxPeersPerReport} peers, found {report.Peers.Count}", "peers");
        }

        lock (_gate)
        {
            for (int i = 0; i < report.Peers.Count; i++)
            {
                PeerMeasurement m = report.Peers[i];
                string field = $"peers[{i}]";
                if (m is null || string.IsNullOrEmpty(m.ProviderId))
                {
                    throw ApiProblem.BadRequest("invalid_measurement", "each measurement names the peer it measured", field);
                }

                if (!_asked.TryGetValue((reporter, m.ProviderId), out long askedAt) || askedAt < now - (long)AnswerTime.TotalMilliseconds)
                {
                    throw ApiProblem.BadRequest("unsolicited_measurement", $"the hub did not ask for a measurement of {m.ProviderId} (or asked too long ago)", field);
                }

                if (m.Error is null && (m.RttMs is not { } rtt || !double.IsFinite(rtt) || rtt < 0 || rtt > MaxRttMs))
                {
                    throw ApiProblem.BadRequest("invalid_measurement", $"rttMs must be 0–{MaxRttMs:0} ms, found {m.RttMs?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"}", field + ".rttMs");
                }

                if (m.BandwidthMbps is { } mbps && (!double.IsFinite(mbps) || mbps < 0 || mbps > MaxMbps))
                {
                    throw ApiProblem.BadRequest("invalid_measurement", $"bandwidthMbps must be 0–{MaxMbps:0}, found {mbps.ToString(System.Globalization.CultureInfo.InvariantCulture)}", field + ".bandwidthMbps");
                }
            }

            foreach (PeerMeasurement m in report.Peers)
            {
                _asked.Remove((reporter, m.ProviderId));
                _samples[(reporter, m.ProviderId)] = m.Error is null ? new Sample(m.RttMs, m.BandwidthMbps, now) : new Sample(null, null, now);
            }
        }
    }

    /// <summary>The measured round-trip time between two providers: the larger report of the two ends, infinity when either could not reach the other, null when unmeasured.</summary>
    public double? RttMs(string a, string b, long now)
    {
        lock (_gate)
        {
            return Pair(a, b, now)?.RttMs;
        }
    }

    /// <summary>The median bandwidth (the smaller of the two ends' reports) over a provider's measured pairs, null when none.</summary>
    public double? BandwidthMbps(string provider, long now)
    {
        lock (_gate)
        {
            var values = new List<double>();
            foreach ((string from, string to) in _samples.Keys)
            {
                if (from == provider && Pair(from, to, now) is { BandwidthMbps: { } mbps })
                {
                    values.Add(mbps);
                }
            }

            values.Sort();
            return values.Count == 0 ? null : values[values.Count / 2];
        }
    }

    /// <summary>How many peers a provider has a two-sided measurement with.</summary>
    public int PeersMeasured(string provider, long now)
    {
        lock (_gate)
        {
            return _samples.Keys.Count(k => k.From == provider && Pair(k.From, k.To, now) is not null);
        }
    }

    /// <summary>A latency map for the market at <paramref name="now"/>: measured pairs first, then <paramref name="fallback"/>.</summary>
    public ILatencyMap LatencyAt(long now, ILatencyMap fallback) => new View(this, now, fallback);

    private (double RttMs, double? BandwidthMbps)? Pair(string a, string b, long now)
    {
        long cutoff = now - (long)MaxAge.TotalMilliseconds;
        if (!_samples.TryGetValue((a, b), out Sample ab) || !_samples.TryGetValue((b, a), out Sample ba) || ab.At < cutoff || ba.At < cutoff)
        {
            return null;
        }

        if (ab.RttMs is not { } rttAb || ba.RttMs is not { } rttBa)
        {
            return (double.PositiveInfinity, 0);
        }

        double? mbps = ab.BandwidthMbps is { } x && ba.BandwidthMbps is { } y ? Math.Min(x, y) : null;
        return (Math.Max(rttAb, rttBa), mbps);
    }

    private readonly record struct Sample(double? RttMs, double? BandwidthMbps, long At);

    private sealed class View(NetworkMeasurements measurements, long now, ILatencyMap fallback) : ILatencyMap
    {
        public double RttMs(string providerA, string providerB) =>
            string.Equals(providerA, providerB, StringComparison.Ordinal) ? 0
            : measurements.RttMs(providerA, providerB, now) ?? fallback.RttMs(providerA, providerB);
    }
}
