using System.Text.Json;
using Kumo.Market.Simulation;

namespace Kumo.Market.Tests;

public sealed class SimulationTests
{
    [Fact]
    public void A_small_market_fills_every_feasible_order_including_its_64_gpu_clusters()
    {
        var options = new SimulationOptions { Providers = 200, Gpus = 1_600, Orders = 500, Clusters64 = 3, Seed = 3, WarmupOrders = 0 };
        SimulationResult r = MarketSimulator.Run(options);
        Assert.Empty(r.Missed);
        Assert.Equal(1, r.FeasibleFilledFraction);
        Assert.Equal(500, r.FeasibleOrders + r.InfeasibleOrders);
        Assert.Equal(r.FeasibleOrders, r.LeasedOrders);
        Assert.True(r.LeasedOrders > 300, $"only {r.LeasedOrders} leased");
        Assert.True(r.InfeasibleOrders > 0, "the mix should include orders nobody can serve");
        Assert.Equal(3, r.Cluster64Orders);
        Assert.Equal(3, r.Cluster64Leased);
        Assert.Equal(200, r.Providers);
        Assert.Equal(1_600, r.Gpus);

        using JsonDocument json = JsonDocument.Parse(r.ToJsonLine());
        foreach (string key in new[] { "orders_matched_per_s", "p50_order_to_lease_ms", "p99_order_to_lease_ms", "cluster64_lease_ms", "feasible_filled_fraction", "peak_memory_mb" })
        {
            Assert.True(json.RootElement.TryGetProperty(key, out _), $"missing {key}");
        }

        Assert.DoesNotContain('\n', r.ToJsonLine());

        // The same seed gives the same market: only wall times differ.
        SimulationResult again = MarketSimulator.Run(options);
        Assert.Equal(r.LeasedOrders, again.LeasedOrders);
        Assert.Equal(r.MeanCandidates, again.MeanCandidates);
        Assert.Equal(r.GpuUtilizationEnd, again.GpuUtilizationEnd);
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(10, 7)]
    [InlineData(50, 300)]
    [InlineData(100, 2_000)]
    public void The_fleet_has_exactly_the_gpus_asked_for(int providers, int gpus)
    {
        SimulationResult r = MarketSimulator.Run(new SimulationOptions { Providers = providers, Gpus = gpus, Orders = 20, Clusters64 = 0, WarmupOrders = 0 });
        Assert.Equal(gpus, r.Gpus);
        Assert.Equal(providers, r.Providers);
        Assert.Empty(r.Missed);
    }
}
