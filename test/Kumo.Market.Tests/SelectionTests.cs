using System.Diagnostics;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>Winner selection: the cheapest adjusted bid for one node; for clusters, all or nothing within the latency bound.</summary>
public sealed class SelectionTests
{
    private static readonly NodeRequirement Eight = NodeRequirement.WithGpus(8, ["H100"], 64_000, 256 * Gib, 1_000 * Gib);

    private static OrderRequest Cluster(string id, int nodes, double? maxRtt = 5, long maxPerNode = 20 * K) =>
        new(id, Eight, maxPerNode * nodes) { Nodes = nodes, MaxRttMs = maxRtt };

    private static MarketProvider Hgx(string id, string region, long perGpu = 2 * K, int gpus = 8, string? zone = null, double reputation = 1) =>
        Provider(id, gpus: gpus, perGpu: perGpu, cores: 16 * gpus, memoryGib: 64 * gpus, diskGib: 1000 * gpus, region: region, zone: zone ?? region + "-a", reputation: reputation);

    [Fact]
    public void One_node_goes_to_the_lowest_reputation_adjusted_price()
    {
        MarketBook book = Book(Hgx("cheap-shaky", "eu", perGpu: 1_500_000, reputation: 0.3), Hgx("fair", "eu", perGpu: 2 * K), Hgx("dear", "eu", perGpu: 3 * K));
        OrderRequest order = new("o", Eight, 100 * K);
        List<Bid> bids = Auction(book, order);
        Selection s = book.Select("o", bids, new ZoneLatencyMap(book), Now);
        Assert.True(s.Succeeded, s.Failure);
        Assert.Equal("fair", Assert.Single(s.Winners).ProviderId);
        Assert.Equal(16 * K, s.TotalPricePerHour);
        Assert.Equal(3, book.ReservationCount); // selecting changes nothing
    }

    [Fact]
    public void A_cluster_across_providers_is_leased_whole_within_the_latency_bound()
    {
        MarketBook book = Book([.. Enumerable.Range(0, 8).Select(i => Hgx($"eu{i}", "eu", perGpu: (2 * K) + i)), .. Enumerable.Range(0, 8).Select(i => Hgx($"us{i}", "us", perGpu: (2 * K) - 100 + i))]);
        var latency = new ZoneLatencyMap(book);
        OrderRequest order = Cluster("c", 8);
        List<Bid> bids = Auction(book, order);
        Selection s = book.Select("c", bids, latency, Now);
        Assert.True(s.Succeeded, s.Failure);
        Assert.Equal(8, s.Winners.Sum(w => w.Nodes.Count));
        Assert.All(s.Winners, w => Assert.StartsWith("us", w.ProviderId, StringComparison.Ordinal)); // the cheaper region, whole
        foreach (Bid a in s.Winners)
        {
            foreach (Bid b in s.Winners)
            {
                Assert.True(latency.RttMs(a.ProviderId, b.ProviderId) <= 5);
            }
        }

        IReadOnlyList<LeaseHandle> leases = book.Lease("c", s.Winners, Now);
        Assert.Equal(8, leases.Count);
        Assert.Equal(0, book.ReservationCount);
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(0, book.Load($"us{i}")!.Free.Gpus));
        Assert.All(Enumerable.Range(0, 8), i => Assert.Equal(8, book.Load($"eu{i}")!.Free.Gpus));
    }

    [Fact]
    public void A_half_fillable_cluster_leases_nothing_and_says_why()
    {
        MarketBook book = Book([.. Enumerable.Range(0, 5).Select(i => Hgx($"eu{i}", "eu")), .. Enumerable.Range(0, 3).Select(i => Hgx($"us{i}", "us"))]);
        OrderRequest order = Cluster("c", 8);
        List<Bid> bids = Auction(book, order);
        Assert.Equal(8, bids.Count);
        Selection s = book.Select("c", bids, new ZoneLatencyMap(book), Now);
        Assert.False(s.Succeeded);
        Assert.Empty(s.Winners);
        Assert.StartsWith("only 5 of 8 nodes within 5 ms of each other", s.Failure, StringComparison.Ordinal);
        Assert.Equal(8, book.ReservationCount);
        Assert.Equal(0, book.LeaseCount);
        Assert.True(book.CloseOrder("c"));
        Assert.All(book.Providers, p => Assert.Equal(8, book.Load(p.Id)!.Free.Gpus));

        // Without enough nodes offered at all, it says that instead.
        MarketBook small = Book(Hgx("a", "eu"), Hgx("b", "eu"));
        Selection few = small.Select("c2", Auction(small, Cluster("c2", 3)), new ZoneLatencyMap(small), Now);
        Assert.StartsWith("only 2 of 3 nodes offered", few.Failure, StringComparison.Ordinal);
    }

    [Fact]
    public void A_cluster_can_live_on_one_provider()
    {
        MarketBook book = Book(Hgx("rack", "eu", gpus: 32), Hgx("lonely", "us"));
        OrderRequest order = Cluster("c", 4, maxRtt: 0.1);
        List<Bid> bids = Auction(book, order);
        Bid rack = bids.Single(b => b.ProviderId == "rack");
        Assert.Equal(4, rack.Nodes.Count);
        Assert.Equal(32, rack.Nodes.SelectMany(n => n.GpuUuids).Distinct().Count());
        Selection s = book.Select("c", bids, new ZoneLatencyMap(book), Now);
        Assert.True(s.Succeeded, s.Failure);
        Assert.Equal("rack", Assert.Single(s.Winners).ProviderId);
        Assert.Equal(4, book.Lease("c", s.Winners, Now).Count);
        Assert.Equal(0, book.Load("rack")!.Free.Gpus);
    }

    [Fact]
    public void Fewer_nodes_may_be_taken_from_a_bid_at_its_first_nodes_shares()
    {
        MarketBook book = Book(Hgx("a", "eu", gpus: 24, perGpu: 2 * K), Hgx("b", "eu", gpus: 24, perGpu: (2 * K) + 10));
        OrderRequest order = Cluster("c", 4);
        List<Bid> bids = Auction(book, order);
        Assert.All(bids, b => Assert.Equal(3, b.Nodes.Count));
        Selection s = book.Select("c", bids, new ZoneLatencyMap(book), Now);
        Assert.True(s.Succeeded, s.Failure);
        Bid whole = s.Winners.Single(w => w.ProviderId == "a");
        Bid part = s.Winners.Single(w => w.ProviderId == "b");
        Bid reservedB = bids.Single(x => x.ProviderId == "b");
        Assert.Equal(3, whole.Nodes.Count);
        Assert.Single(part.Nodes);
        Assert.True(part.Nodes[0].SameAs(reservedB.Nodes[0]));
        Assert.Equal(MarketRules.SharesOfFirst(reservedB.PricePerHour, 3, 1), part.PricePerHour);
        Assert.Equal(whole.PricePerHour + part.PricePerHour, s.TotalPricePerHour);

        IReadOnlyList<LeaseHandle> leases = book.Lease("c", s.Winners, ["L1", "L2", "L3", "L4"], Now);
        Assert.Equal(["L1", "L2", "L3", "L4"], leases.Select(l => l.LeaseId));
        Assert.Equal(s.TotalPricePerHour, leases.Sum(l => l.PricePerHour));
        Assert.Equal(16, book.Load("b")!.Free.Gpus); // its two untaken nodes are free again
        Assert.Equal(0, book.Load("a")!.Free.Gpus);
    }

    [Fact]
    public void Measured_latency_overrides_zones_and_every_pair_is_checked()
    {
        MarketBook book = Book(Hgx("a", "eu"), Hgx("b", "eu"), Hgx("c", "eu"), Hgx("d", "eu", perGpu: 3 * K));
        var measured = new MeasuredLatencyMap(new ZoneLatencyMap(book));
        measured.Set("a", "c", 40); // a and c are far apart though in one region
        OrderRequest order = Cluster("o", 3, maxPerNode: 30 * K);
        Selection s = book.Select("o", Auction(book, order), measured, Now);
        Assert.True(s.Succeeded, s.Failure);
        string[] chosen = [.. s.Winners.Select(w => w.ProviderId).Order(StringComparer.Ordinal)];
        Assert.Contains("d", chosen);
        Assert.False(chosen.Contains("a") && chosen.Contains("c"));
        Assert.Equal(40, measured.RttMs("c", "a"));
    }

    [Fact]
    public void Without_a_latency_bound_any_providers_will_do()
    {
        MarketBook book = Book(Hgx("a", "eu"), Hgx("b", "us"), Hgx("c", "ap"));
        Selection s = book.Select("o", Auction(book, Cluster("o", 3, maxRtt: null)), new ZoneLatencyMap(book), Now);
        Assert.True(s.Succeeded, s.Failure);
        Assert.Equal(3, s.Winners.Count);
    }

    [Fact]
    public void Bids_above_the_order_or_not_reserved_are_ignored()
    {
        MarketBook book = Book(Hgx("a", "eu"), Hgx("b", "eu"));
        OrderRequest order = Cluster("o", 2);
        List<Bid> bids = Auction(book, order);
        var stray = new Bid("stray", "o", "a", bids[0].Nodes, 1, Now + 1_000);
        Selection s = book.Select("o", [stray, bids[0]], new ZoneLatencyMap(book), Now);
        Assert.False(s.Succeeded);
        Assert.Contains("1 not reserved for this order", s.Failure, StringComparison.Ordinal);
        Assert.False(book.Select("nope", bids, new ZoneLatencyMap(book), Now).Succeeded);
    }

    [Fact]
    public void A_64_gpu_cluster_is_chosen_among_hundreds_of_bids_quickly()
    {
        // 400 eight-GPU hosts over 6 regions; the order needs 8 of them in one region.
        string[] regions = ["r0", "r1", "r2", "r3", "r4", "r5"];
        var rng = new Random(7);
        MarketBook book = Book([.. Enumerable.Range(0, 400).Select(i => Hgx($"h{i:D3}", regions[rng.Next(regions.Length)], perGpu: rng.Next(1_200_000, 2_500_000), zone: $"z{rng.Next(30)}", reputation: Math.Round(0.5 + (rng.NextDouble() / 2), 3)))]);
        OrderRequest order = Cluster("big", 8, maxPerNode: 8 * 3 * K);
        List<Bid> bids = Auction(book, order, limit: 1_000);
        Assert.Equal(400, bids.Count);
        var latency = new ZoneLatencyMap(book);
        var clock = Stopwatch.StartNew();
        Selection s = book.Select("big", bids, latency, Now);
        clock.Stop();
        Assert.True(s.Succeeded, s.Failure);
        Assert.Single(s.Winners.Select(w => book.Get(w.ProviderId)!.Region).Distinct());
        Assert.Equal(64, s.Winners.Sum(w => w.Nodes.Sum(n => n.GpuUuids.Count)));
        Assert.True(clock.ElapsedMilliseconds < 500, $"selection took {clock.ElapsedMilliseconds} ms");

        // It is the cheapest such set: within each region, no cheaper 8 bids exist than the chosen region's.
        double best = regions.Select(r => bids.Where(b => book.Get(b.ProviderId)!.Region == r)
                .Select(b => MarketRules.Adjusted(b.PricePerHour, book.Get(b.ProviderId)!.Reputation))
                .Order().Take(8).ToList())
            .Where(l => l.Count == 8).Min(l => l.Sum());
        Assert.Equal(best, s.AdjustedTotal, 6);
    }
}
