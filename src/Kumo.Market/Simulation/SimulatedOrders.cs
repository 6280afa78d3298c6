using static Kumo.Market.Simulation.SimulatedFleet;

namespace Kumo.Market.Simulation;

/// <summary>
/// A seeded mix of orders: CPU-only nodes, 1/2/4/8-GPU nodes with model patterns (exact names, words, wildcards,
/// lists, and one nobody has), VRAM, interface and vendor filters, market- and performance-priced orders, minimum
/// reputations, region lists, attestation requirements, exclusions, some maxima too tight to meet, and
/// 64-GPU clusters (8 nodes × 8 GPUs within 5 ms).
/// </summary>
internal static class SimulatedOrders
{
    public const double ClusterMaxRttMs = 5;

    private static readonly (int Weight, string[] Models, long TypicalPerGpu)[] Patterns =
    [
        (15, [], 1_400_000),
        (22, ["H100"], 1_850_000),
        (14, ["A100"], 1_150_000),
        (10, ["H100", "A100"], 1_500_000),
        (10, ["RTX 4090"], 375_000),
        (10, ["L40S"], 800_000),
        (5, ["A100*40GB"], 950_000),
        (8, ["H100*"], 1_850_000),
        (2, ["B200"], 3_000_000),
        (4, ["NVIDIA GeForce RTX 4090", "L40S"], 600_000),
    ];

    public static OrderRequest Next(int index, Random rng, IReadOnlyList<MarketProvider> fleet, long expectedDurationMs)
    {
        string id = $"order-{index:D6}";
        double u = rng.NextDouble();
        int gpus = u switch
        {
            < 0.20 => 0,
            < 0.50 => 1,
            < 0.70 => 2,
            < 0.85 => 4,
            _ => 8,
        };

        NodeRequirement node;
        long typicalNode;
        if (gpus == 0)
        {
            int cores = rng.Next(1, 33);
            node = NodeRequirement.CpuOnly(cores * 1000, rng.Next(2, 129) * Gib, rng.Next(10, 501) * Gib);
            typicalNode = 60_000 + (cores * 10_000);
        }
        else
        {
            (string[] models, long perGpu) = Pick(rng);
            node = NodeRequirement.WithGpus(gpus, models, gpus * rng.Next(4, 15) * 1000, gpus * rng.Next(16, 121) * Gib, gpus * rng.Next(50, 1001) * Gib);
            double f = rng.NextDouble();
            node = f switch
            {
                < 0.08 => node with { MinVramBytes = 80 * Gib },
                < 0.13 => node with { Interface = "sxm" },
                < 0.23 => node with { Vendor = "nvidia" },
                _ => node,
            };
            typicalNode = (gpus * perGpu) + (gpus * 150_000);
        }

        // Most tenants leave room above the typical price; one in ten asks for a bargain that may not exist.
        double headroom = rng.NextDouble() < 0.1 ? 0.3 + (0.5 * rng.NextDouble()) : 1.2 + (1.8 * rng.NextDouble());
        var order = new OrderRequest(id, node, (long)(typicalNode * headroom)) { ExpectedDurationMs = expectedDurationMs };
        double m = rng.NextDouble();
        order = m switch
        {
            < 0.12 => order with { Mode = PricingMode.Market },
            < 0.20 => order with { Mode = PricingMode.Performance, PerformanceRatePerTierHour = SimulatedFleet.Between(rng, 1_400, 2_600) },
            _ => order,
        };

        if (rng.NextDouble() < 0.15)
        {
            order = order with { MinReputation = Math.Round(0.8 + (0.15 * rng.NextDouble()), 2) };
        }

        if (rng.NextDouble() < 0.15)
        {
            order = order with { Regions = [.. Regions.OrderBy(_ => rng.Next()).Take(rng.Next(1, 3))] };
        }

        double a = rng.NextDouble();
        order = a switch
        {
            < 0.04 => order with { Auditor = Auditor0, Attested = new Dictionary<string, string>(StringComparer.Ordinal) { ["tee"] = "h100-cc" } },
            < 0.07 => order with { Attested = new Dictionary<string, string>(StringComparer.Ordinal) { ["datacenter"] = "tier3" } },
            _ => order,
        };

        if (rng.NextDouble() < 0.03)
        {
            order = order with { ExcludedProviders = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => fleet[rng.Next(fleet.Count)].Id).ToHashSet(StringComparer.Ordinal) };
        }

        return order;
    }

    /// <summary>8 nodes × 8 datacentre GPUs, every pair within 5 ms (one region), with a generous maximum.</summary>
    public static OrderRequest Cluster(int index, Random rng, long expectedDurationMs)
    {
        string[] models = rng.Next(4) switch
        {
            0 or 1 => ["H100"],
            2 => ["A100"],
            _ => ["H100", "A100"],
        };
        var node = NodeRequirement.WithGpus(8, models, 64_000, 512 * Gib, 2_000 * Gib);
        return new OrderRequest($"cluster-{index:D6}", node, 8 * 8 * 3_000_000L)
        {
            Nodes = 8,
            MaxRttMs = ClusterMaxRttMs,
            MinReputation = 0.5,
            ExpectedDurationMs = expectedDurationMs,
        };
    }

    private static (string[] Models, long PerGpu) Pick(Random rng)
    {
        int total = Patterns.Sum(p => p.Weight);
        int roll = rng.Next(total);
        foreach ((int weight, string[] models, long perGpu) in Patterns)
        {
            if ((roll -= weight) < 0)
            {
                return (models, perGpu);
            }
        }

        return (Patterns[0].Models, Patterns[0].TypicalPerGpu);
    }
}
