using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>Seeded random fleets, loads and orders that reach every branch of matching: for properties against <see cref="Reference"/>.</summary>
internal static class RandomMarket
{
    private static readonly (string Model, long VramGib, string? Interface, string Vendor)[] Kinds =
    [
        (H100, 80, "sxm", "nvidia"),
        (H100Pcie, 80, "pcie", "nvidia"),
        (A100, 80, "sxm", "nvidia"),
        (A100Pcie40, 40, "pcie", "nvidia"),
        (Rtx4090, 24, "pcie", "nvidia"),
        (Mi300, 192, null, "AMD"),
    ];

    private static readonly string[] Patterns = ["H100", "A100", "RTX 4090", "A100*40GB", "MI300*", "H100*HBM3", "L40S"];
    private static readonly string[] Regions = ["eu", "us", "ap"];
    public const string Auditor = "kumo1auditor";

    public static MarketBook Book(Random rng, int providers)
    {
        var book = new MarketBook();
        for (int i = 0; i < providers; i++)
        {
            book.Upsert(Provider(rng, $"p{i:D2}"));
        }

        return book;
    }

    public static MarketProvider Provider(Random rng, string id)
    {
        var gpus = new List<MarketGpu>();
        int kinds = rng.Next(3);
        for (int k = 0; k < kinds; k++)
        {
            var kind = Kinds[rng.Next(Kinds.Length)];
            int count = rng.Next(1, 9);
            for (int n = 0; n < count; n++)
            {
                gpus.Add(new MarketGpu($"{id}-{gpus.Count}", kind.Vendor, kind.Model, kind.VramGib * Gib, kind.Interface, rng.Next(10) == 0));
            }
        }

        var prices = Patterns.Where(_ => rng.Next(3) == 0).Select(p => new ModelPrice(p, rng.Next(0, 3_000_000))).ToList();
        var pricing = new PricingPolicy(prices, rng.Next(0, 3_000_000), rng.Next(0, 20_000), rng.Next(0, 2_000), rng.Next(0, 50), rng.Next(4) == 0 ? 0 : rng.Next(0, 3_000_000));
        var attested = new Dictionary<string, IReadOnlyDictionary<string, string>>();
        if (rng.Next(4) == 0)
        {
            attested[rng.Next(2) == 0 ? Auditor : "kumo1other"] = new Dictionary<string, string> { ["tee"] = rng.Next(2) == 0 ? "cc" : "sev", ["dc"] = "t3" };
        }

        string region = rng.Next(6) == 0 ? "" : Regions[rng.Next(Regions.Length)];
        return new MarketProvider(id, id, gpus, rng.Next(0, 129) * 1000, rng.Next(0, 1025) * Gib, rng.Next(0, 4001) * Gib, pricing)
        {
            Region = region,
            LatencyZone = region.Length == 0 ? "" : $"{region}-{rng.Next(2)}",
            Reputation = rng.Next(4) == 0 ? 1 : Math.Round(rng.NextDouble(), 2),
            Online = rng.Next(10) != 0,
            Bonded = rng.Next(10) != 0,
            PerformanceTier = rng.Next(5) == 0 ? 0 : rng.Next(1, 1001),
            Attested = attested,
        };
    }

    public static OrderRequest Order(Random rng, string id, IReadOnlyList<MarketProvider> fleet)
    {
        int gpus = rng.Next(4) == 0 ? 0 : rng.Next(1, 5);
        var node = new NodeRequirement(
            gpus,
            [.. Patterns.Where(_ => rng.Next(4) == 0)],
            rng.Next(4) == 0 ? rng.Next(0, 100) * Gib : 0,
            rng.Next(8) == 0 ? (rng.Next(2) == 0 ? "NVIDIA" : "amd") : null,
            rng.Next(8) == 0 ? (rng.Next(2) == 0 ? "sxm" : "PCIe") : null,
            rng.Next(0, 33) * 1000,
            rng.Next(0, 129) * Gib,
            rng.Next(0, 501) * Gib);
        int nodes = rng.Next(3) == 0 ? rng.Next(2, 5) : 1;
        long max = rng.Next(3) == 0 ? rng.Next(0, 3_000_000) : rng.Next(1, 40) * K;
        var order = new OrderRequest(id, node, max * nodes) { Nodes = nodes };
        order = rng.Next(5) switch
        {
            0 => order with { Mode = PricingMode.Market },
            1 => order with { Mode = PricingMode.Performance, PerformanceRatePerTierHour = rng.Next(1, 5_000) },
            _ => order,
        };
        if (rng.Next(4) == 0)
        {
            order = order with { MinReputation = Math.Round(rng.NextDouble(), 2) };
        }

        if (rng.Next(5) == 0)
        {
            order = order with { Regions = [.. Regions.Where(_ => rng.Next(2) == 0).Select(r => rng.Next(2) == 0 ? r.ToUpperInvariant() : r)] };
        }

        if (rng.Next(6) == 0)
        {
            order = order with
            {
                Auditor = rng.Next(2) == 0 ? Auditor : null,
                Attested = rng.Next(3) == 0 ? new Dictionary<string, string>() : new Dictionary<string, string> { ["tee"] = "cc" },
            };
        }

        if (rng.Next(6) == 0 && fleet.Count > 0)
        {
            order = order with { ExcludedProviders = new HashSet<string> { fleet[rng.Next(fleet.Count)].Id } };
        }

        return order;
    }

    /// <summary>Takes capacity: some orders leased, some left holding reservations; records clearing prices for market mode.</summary>
    public static void Load(Random rng, MarketBook book, int orders)
    {
        List<MarketProvider> fleet = [.. book.Providers];
        var latency = new ZoneLatencyMap(book);
        for (int i = 0; i < orders; i++)
        {
            OrderRequest order = Order(rng, $"load{i}", fleet);
            book.OpenOrder(order, Now);
            var bids = new List<Bid>();
            foreach (Candidate c in book.FindCandidates(order, Now, rng.Next(1, 6)))
            {
                if (BidEngine.Quote(c.Provider, order, book, Now, 60_000) is { } bid && book.TryReserve(bid, Now, out _))
                {
                    bids.Add(bid);
                }
            }

            if (rng.Next(3) == 0)
            {
                continue; // reservations left standing
            }

            Selection s = book.Select(order.Id, bids, latency, Now);
            if (s.Succeeded)
            {
                book.Lease(order.Id, s.Winners, Now);
            }
            else
            {
                book.CloseOrder(order.Id);
            }
        }

        foreach (string model in new[] { H100, A100, Rtx4090, "cpu" }.Where(_ => rng.Next(2) == 0))
        {
            book.RecordClearing(model, rng.Next(0, 3_000_000), Now);
        }
    }
}
