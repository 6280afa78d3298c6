using Kumo.IntegrationTests.Support;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>Real agents measure each other over loopback when the hub asks (every 5 s on a devnet).</summary>
public class NetworkMeasurementTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task Providers_measure_latency_and_bandwidth_to_each_other_and_the_hub_shows_it()
    {
        IReadOnlyList<ProviderView> providers = await Eventually.Until(() => devnet.Client.ListProvidersAsync(),
            ps => ps.Count(p => p.Status == ProviderStatus.Online && p.MeasuredPeers >= 1) >= 2, "a two-sided measurement", seconds: 40);

        Assert.All(providers.Where(p => p.MeasuredPeers > 0), p => Assert.True(p.MeasuredBandwidthMbps > 10, $"{p.Name}: {p.MeasuredBandwidthMbps} Mbit/s over loopback"));
    }
}
