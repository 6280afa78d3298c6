using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

public sealed class LeaseTests
{
    [Fact]
    public void Leasing_turns_the_winner_into_leases_releases_the_rest_records_the_clearing_price_and_closes_the_order()
    {
        MarketBook book = Book(Provider("a", perGpu: 1_500_000), Provider("b", perGpu: 2 * K));
        OrderRequest order = Order("o", NodeRequirement.WithGpus(2, ["H100"], 0, 0, 0), 10 * K) with { ExpectedDurationMs = 3_600_000 };
        List<Bid> bids = Auction(book, order);
        Selection s = book.Select("o", bids, new ZoneLatencyMap(book), Now);
        LeaseHandle lease = Assert.Single(book.Lease("o", s.Winners, Now));
        Assert.Equal("o/0", lease.LeaseId);
        Assert.Equal("a", lease.ProviderId);
        Assert.Equal(3 * K, lease.PricePerHour);
        Assert.Equal(H100, lease.Allocation.GpuModel);
        Assert.Equal(Now + 3_600_000, lease.ExpectedEndAt);
        Assert.Equal(0, book.ReservationCount);
        Assert.Null(book.GetOrder("o"));
        Assert.Equal(8, book.Load("b")!.Free.Gpus);
        Assert.Equal(new ResourceCount(2, 0, 0, 0), book.Load("a")!.Leased);
        Assert.Equal(1_500_000, book.MarketPrice(H100));
        Assert.Same(lease, book.GetLease("o/0"));

        Assert.True(book.EndLease("o/0"));
        Assert.False(book.EndLease("o/0"));
        Assert.Equal(8, book.Load("a")!.Free.Gpus);
        Assert.Equal(0, book.LeaseCount);
    }

    [Fact]
    public void A_lease_that_does_not_match_the_reservations_throws_and_changes_nothing()
    {
        MarketBook book = Book(Provider("a", gpus: 1), Provider("b", gpus: 1));
        OrderRequest order = Order("o", 1) with { Nodes = 2, MaxPricePerHour = 100 * K };
        List<Bid> bids = Auction(book, order);
        Assert.Equal(2, bids.Count);

        void Refused(IReadOnlyList<Bid> winners, IReadOnlyList<string>? ids = null, string? expected = null)
        {
            var e = Assert.Throws<InvalidOperationException>(() => _ = ids is null ? book.Lease("o", winners, Now) : book.Lease("o", winners, ids, Now));
            if (expected is not null)
            {
                Assert.Contains(expected, e.Message, StringComparison.Ordinal);
            }

            Assert.Equal(2, book.ReservationCount);
            Assert.Equal(0, book.LeaseCount);
            Assert.NotNull(book.GetOrder("o"));
        }

        Refused([bids[0]], expected: "winners cover 1 nodes; the order needs 2");
        Refused([bids[0], bids[0]], expected: "listed twice");
        Refused([bids[0], bids[1] with { PricePerHour = 1 }], expected: "not its reserved share");
        Refused([bids[0], bids[1] with { Nodes = [bids[0].Nodes[0]] }], expected: "differs from its reservation");
        Refused([bids[0], bids[1] with { Id = "ghost" }], expected: "holds no reservation");
        Refused(bids, ["same", "same"], "repeated");
        Refused(bids, ["one"], "1 lease ids for 2 nodes");
        Assert.Throws<InvalidOperationException>(() => book.Lease("nope", bids, Now));

        Assert.Equal(2, book.Lease("o", bids, ["x", "y"], Now).Count);
        book.OpenOrder(Order("o2", 1), Now);
        Assert.Equal(0, book.ReservationCount);
    }

    [Fact]
    public void Cpu_nodes_clear_per_core_hour()
    {
        MarketBook book = Book(CpuProvider("c", cores: 32, perCore: 10_000));
        OrderRequest order = Order("o", NodeRequirement.CpuOnly(4_000, 0, 0), 10 * K);
        List<Bid> bids = Auction(book, order);
        book.Lease("o", book.Select("o", bids, new ZoneLatencyMap(book), Now).Winners, Now);
        Assert.Equal(10_000, book.MarketPrice("cpu"));
    }
}
