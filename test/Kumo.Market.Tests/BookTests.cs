using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>Providers coming and going, re-registering, and the figures the book reports.</summary>
public sealed class BookTests
{
    [Fact]
    public void A_gpu_uuid_belongs_to_one_provider_and_bad_records_are_refused()
    {
        MarketBook book = Book(Provider("p", gpus: 2));
        var thief = new MarketProvider("thief", "thief", [Gpu("p-g0")], 1_000, Gib, Gib, PricingPolicy.Flat(K));
        Assert.Contains("GPU p-g0 is already registered by provider p", Assert.Throws<ArgumentException>(() => book.Upsert(thief)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => book.Upsert(Provider("twice") with { Gpus = [Gpu("x"), Gpu("x")] }));
        Assert.Throws<ArgumentException>(() => book.Upsert(Provider("neg") with { CpuMillicores = -1 }));
        Assert.Throws<ArgumentException>(() => book.Upsert(Provider("rep") with { Reputation = double.NaN }));
        Assert.Throws<ArgumentException>(() => book.Upsert(Provider("price") with { Pricing = PricingPolicy.Flat(-1) }));
        Assert.Contains("overflow", Assert.Throws<ArgumentException>(() => book.Upsert(Provider("dear") with { Pricing = PricingPolicy.Flat(long.MaxValue / 2) })).Message, StringComparison.Ordinal);
        Assert.Equal(1, book.ProviderCount);

        // Once p lets go of it (re-registered without it), another provider may claim it.
        book.Upsert(Provider("p", gpus: 2) with { Gpus = [Gpu("p-g1")] });
        Assert.True(book.Upsert(thief).Added);
    }

    [Fact]
    public void Re_registering_a_smaller_machine_keeps_leases_reports_conflicts_and_never_double_promises()
    {
        MarketBook book = Book(Provider("p", gpus: 4, cores: 32));
        OrderRequest order = Order("o", NodeRequirement.WithGpus(2, [], 16_000, 0, 0), 100 * K);
        List<Bid> bids = Auction(book, order);
        LeaseHandle lease = book.Lease("o", bids, Now).Single();
        Assert.Equal(["p-g0", "p-g1"], lease.Allocation.GpuUuids);
        book.OpenOrder(Order("r", NodeRequirement.WithGpus(1, [], 8_000, 0, 0), 100 * K), Now);
        Bid reserved = BidEngine.Quote(book.Get("p")!, book.GetOrder("r")!, book, Now, 60_000)!;
        Assert.True(book.TryReserve(reserved, Now, out _));
        Assert.Equal(["p-g2"], reserved.Nodes[0].GpuUuids);

        // The machine comes back with GPU 1 and 2 gone and half the cores.
        MarketProvider smaller = Provider("p", gpus: 4, cores: 12) with { Gpus = [Gpu("p-g0"), Gpu("p-g3")] };
        UpsertResult result = book.Upsert(smaller);
        Assert.False(result.Added);
        Assert.Equal("r/p", Assert.Single(result.ReleasedReservations).Id);
        Assert.Contains("GPU p-g1 is leased to lease o/0 but left the inventory", result.Conflicts);
        Assert.Contains("leases hold 16000 millicores but the inventory has 12000", result.Conflicts);
        ProviderLoad load = book.Load("p")!;
        Assert.Equal(load.Conflicts, result.Conflicts);
        Assert.Equal(new ResourceCount(1, 0, 512 * Gib, 2_000 * Gib), load.Free); // p-g3 is free, but no CPU is: nothing can be promised
        Assert.Equal(1, load.Leased.Gpus);
        Assert.False(book.IsReserved("r/p"));
        Assert.Empty(book.FindCandidates(Order("x", NodeRequirement.WithGpus(1, [], 1_000, 0, 0), 100 * K), Now, 5));

        // When the lease ends the machine is whole again and conflict-free on the next registration.
        Assert.True(book.EndLease("o/0"));
        Assert.Empty(book.Upsert(smaller).Conflicts);
        Assert.Equal(new ResourceCount(2, 12_000, 512 * Gib, 2_000 * Gib), book.Load("p")!.Free);
    }

    [Fact]
    public void Removing_a_provider_hands_back_its_leases_and_reservations()
    {
        MarketBook book = Book(Provider("p", gpus: 2), Provider("q"));
        List<Bid> bids = Auction(book, Order("o", 1) with { MaxPricePerHour = 10 * K });
        book.Lease("o", [bids.Single(b => b.ProviderId == "p")], Now);
        book.OpenOrder(Order("r", 1), Now);
        Assert.True(book.TryReserve(BidEngine.Quote(book.Get("p")!, book.GetOrder("r")!, book, Now, 1_000)!, Now, out _));
        ProviderRemoval removal = book.Remove("p")!;
        Assert.Single(removal.Leases);
        Assert.Single(removal.Reservations);
        Assert.Null(book.Remove("p"));
        Assert.Null(book.Get("p"));
        Assert.Equal(0, book.LeaseCount);
        Assert.Equal(0, book.ReservationCount);
        Assert.Equal(["q"], Ids(book.FindCandidates(Order("x", 1), Now, 5)));
        book.Upsert(Provider("p", gpus: 2));
        Assert.Equal(2, book.FindCandidates(Order("x", 1), Now, 5).Count);
    }

    [Fact]
    public void Reputation_changes_reorder_candidates()
    {
        MarketBook book = Book(Provider("a", perGpu: 2 * K), Provider("b", perGpu: 2_100_000));
        Assert.Equal(["a", "b"], Ids(book.FindCandidates(Order("o", 1), Now, 5)));
        Assert.True(book.SetReputation("a", 0.5));
        Assert.Equal(["b", "a"], Ids(book.FindCandidates(Order("o", 1), Now, 5)));
        Assert.False(book.SetReputation("ghost", 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => book.SetReputation("a", 1.5));
    }

    [Fact]
    public void Stats_count_online_gpus_by_kind_and_utilization()
    {
        MarketBook book = Book(
            Provider("h", gpus: 8, model: H100, cores: 64),
            Provider("hp", gpus: 2, model: H100Pcie, iface: "pcie", cores: 16),
            Provider("a", gpus: 4, model: A100, cores: 32),
            Provider("sim", gpus: 2, model: Rtx4090, cores: 16) with { Gpus = [Gpu("s0", Rtx4090, simulated: true), Gpu("s1", Rtx4090, simulated: true)] },
            CpuProvider("c", cores: 32),
            Provider("off", gpus: 8));
        book.SetOnline("off", false);
        OrderRequest order = Order("o", NodeRequirement.WithGpus(4, ["H100*HBM3"], 32_000, 0, 0), 100 * K);
        List<Bid> bids = Auction(book, order);
        book.Lease("o", bids, Now);
        book.OpenOrder(Order("open", 1), Now);

        MarketStats s = book.Stats(Now);
        Assert.Equal(6, s.Providers);
        Assert.Equal(5, s.ProvidersOnline);
        Assert.Equal(16, s.Gpus);
        Assert.Equal(14, s.RealGpus);
        Assert.Equal(2, s.SimulatedGpus);
        Assert.Equal(64 + 16 + 32 + 16 + 32, s.CpuCores);
        Assert.Equal(10, s.H100Gpus);
        Assert.Equal(4, s.A100Gpus);
        Assert.Equal(4, s.LeasedGpus);
        Assert.Equal(4 / 16.0, s.GpuUtilization);
        Assert.Equal(32 / 160.0, s.CpuUtilization);
        Assert.Equal(2 * K, s.H100MedianPerGpuHour);
        Assert.Null(s.A100MedianPerGpuHour);
        Assert.Equal(1, s.OpenOrders);
        Assert.Equal(0, s.OpenBids);
        Assert.Equal(1, s.ActiveLeases);
    }

    [Fact]
    public void The_market_price_is_the_lower_median_of_the_last_64_clearings_and_ranges_pool_model_variants()
    {
        var book = new MarketBook();
        Assert.Null(book.MarketPrice(H100));
        for (int i = 1; i <= 100; i++)
        {
            book.RecordClearing(H100, i * 1_000L, Now + i);
        }

        // Only 37..100 remain; their lower middle is the 32nd: 68.
        Assert.Equal(68_000, book.MarketPrice(H100));
        Assert.Equal(new PriceRange(37_000, 68_000, 100_000, 64, Now + 100), book.RecentPrices(H100));
        book.RecordClearing(H100Pcie, 1, Now + 200);
        PriceRange pooled = book.RecentPrices("H100")!;
        Assert.Equal(65, pooled.Count);
        Assert.Equal(1, pooled.Min);
        Assert.Equal(Now + 200, pooled.LastAt);
        Assert.Null(book.RecentPrices("A100"));
        Assert.Throws<ArgumentOutOfRangeException>(() => book.RecordClearing(H100, -1, Now));
    }
}
