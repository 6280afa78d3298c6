using System.Diagnostics;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Real agents measure each other over loopback when the hub asks (every 5 s on a devnet).</summary>
public class NetworkMeasurementTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task Providers_measure_latency_and_bandwidth_to_each_other_and_the_hub_shows_it()
    {
        var clock = Stopwatch.StartNew();
        IReadOnlyList<ProviderView> providers;
        while (true)
        {
            providers = await devnet.Client.ListProvidersAsync();
            if (providers.Count(p => p.Status == ProviderStatus.Online && p.MeasuredPeers >= 1) >= 2)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(40),
                "no two-sided measurement within 40 s: " + string.Join("; ", providers.Select(p => $"{p.Name} {p.Status} peers={p.MeasuredPeers}")));
            await Task.Delay(500);
        }

        Assert.All(providers.Where(p => p.MeasuredPeers > 0), p => Assert.True(p.MeasuredBandwidthMbps > 10, $"{p.Name}: {p.MeasuredBandwidthMbps} Mbit/s over loopback"));
    }
}
