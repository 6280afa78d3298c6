using Kumo.Hub.Control;
using Kumo.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Market;

/// <summary>
/// Every <see cref="HubOptions.ProbeInterval"/>, asks each connected provider that answers probes to measure its path
/// to a few others (<see cref="HubOptions.ProbeFanout"/>): the pairs measured longest ago (or never) first, peers in
/// the same region before the rest. Agents answer with a report that <see cref="NetworkMeasurements"/> keeps; a pair
/// counts once both of its ends have measured each other.
/// </summary>
public sealed class NetworkProber(
    MarketService market,
    ProviderSessions sessions,
    NetworkMeasurements measurements,
    HubOptions options,
    TimeProvider time,
    ILogger<NetworkProber> logger) : BackgroundService
{
    /// <summary>Candidates considered per provider and round, drawn at random when there are more (bounds the work on large networks).</summary>
    private const int CandidateSample = 256;

    /// <summary>Sends one round of probe requests; returns how many providers were asked.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var peers = market.ProbeablePeers().Where(p => sessions.IsConnected(p.Id)).ToList();
        if (peers.Count < 2)
        {
            return 0;
        }

        int asked = 0;
        foreach ((string id, string region, _) in peers)
        {
            IEnumerable<(string Id, string Region, string ProbeAddress)> pool = peers.Count > CandidateSample
                ? peers.OrderBy(_ => Random.Shared.Next()).Take(CandidateSample)
                : peers;
            var targets = pool
                .Where(q => q.Id != id)
                .OrderBy(q => measurements.LastMeasured(id, q.Id))
                .ThenBy(q => string.Equals(q.Region, region, StringComparison.Ordinal) ? 0 : 1)
                .Take(options.ProbeFanout)
                .Select(q => new ProbeTarget(q.Id, q.ProbeAddress))
                .ToList();
            measurements.Asked(id, targets.Select(t => t.ProviderId), now);
            if (await sessions.TrySendAsync(id, ChannelMessageTypes.NetProbe, new NetProbeRequest(targets), cancellationToken))
            {
                asked++;
            }
        }

        return asked;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync(options.ProbeInterval, time, RunOnceAsync, logger, "a probe round", runAtStart: true, stoppingToken);
}
