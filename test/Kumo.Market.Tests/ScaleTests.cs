using Kumo.Market.Simulation;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>The index does what it is for: on a large fleet a typical order touches a small part of it.</summary>
public sealed class ScaleTests
{
    [Fact]
    public void Typical_orders_walk_a_small_part_of_the_index_and_evaluate_few_providers()
    {
        List<MarketProvider> fleet = SimulatedFleet.Build(5_000, 40_000, new Random(11));
        var book = new MarketBook();
        foreach (MarketProvider p in fleet)
        {
            book.Upsert(p);
        }

        // Half the H100s leased first, cheapest first, as a busy market would have them.
        for (int i = 0; i < 600; i++)
        {
            OrderRequest busy = Order($"busy{i}", NodeRequirement.WithGpus(8, ["H100"], 8_000, 0, 0), 100 * K);
            List<Bid> bids = Auction(book, busy, limit: 5);
            Selection s = book.Select(busy.Id, bids, new ZoneLatencyMap(book), Now);
            if (s.Succeeded)
            {
                book.Lease(busy.Id, s.Winners, Now);
            }
            else
            {
                book.CloseOrder(busy.Id);
            }
        }

        int totalGroups = fleet.Sum(p => p.Gpus.Select(g => g.Model).Distinct().Count());
        OrderRequest[] typical =
        [
            Order("h100", NodeRequirement.WithGpus(1, ["H100"], 8_000, 64 * Gib, 200 * Gib), 5 * K),
            Order("any8", NodeRequirement.WithGpus(8, [], 64_000, 512 * Gib, 1_000 * Gib), 40 * K),
            Order("rtx", NodeRequirement.WithGpus(1, ["RTX 4090"], 4_000, 32 * Gib, 100 * Gib), 2 * K),
            Order("cpu", NodeRequirement.CpuOnly(8_000, 32 * Gib, 100 * Gib), 500_000),
            Order("a100-market", NodeRequirement.WithGpus(2, ["A100"], 16_000, 128 * Gib, 200 * Gib), 10 * K) with { Mode = PricingMode.Market },
        ];
        foreach (OrderRequest order in typical)
        {
            IReadOnlyList<Candidate> found = book.FindCandidates(order, Now, 20);
            Assert.Equal(20, found.Count);
            (int walked, int evaluated) = book.LastWalk;
            Assert.True(walked < totalGroups / 4, $"{order.Id}: walked {walked} of {totalGroups} index entries");
            Assert.True(evaluated <= 80, $"{order.Id}: evaluated {evaluated} providers for 20 candidates");
        }
    }
}
