using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>Reservations: what is refused and why, and that a refusal changes nothing.</summary>
public sealed class ReservationTests
{
    private static Bid BidFor(string id, string order, string provider, long price, params string[] gpus) =>
        new(id, order, provider, [new NodeAllocation(4_000, 16 * Gib, 100 * Gib, gpus, H100)], price, Now + 60_000);

    private static string Refusal(MarketBook book, Bid bid)
    {
        ProviderLoad before = book.Load(bid.ProviderId) ?? book.Load("p")!;
        bool wasReserved = book.IsReserved(bid.Id);
        int reservations = book.ReservationCount;
        Assert.False(book.TryReserve(bid, Now, out string? reason), $"bid {bid.Id} was reserved");
        Assert.NotNull(reason);
        ProviderLoad after = book.Load(bid.ProviderId) ?? book.Load("p")!;
        Assert.Equal(before.Free, after.Free);
        Assert.Equal(before.Reserved, after.Reserved);
        Assert.Equal(wasReserved, book.IsReserved(bid.Id));
        Assert.Equal(reservations, book.ReservationCount);
        return reason!;
    }

    private static MarketBook OpenBook(long max = 5 * K, int nodes = 1)
    {
        MarketBook book = Book(Provider("p", gpus: 4), Provider("q", gpus: 4));
        book.OpenOrder(Order("o", 1, "H100") with { MaxPricePerHour = max, Nodes = nodes }, Now);
        return book;
    }

    [Fact]
    public void A_valid_bid_reserves_its_gpus_and_host_resources()
    {
        MarketBook book = OpenBook();
        Assert.True(book.TryReserve(BidFor("b1", "o", "p", 2 * K, "p-g0"), Now, out string? reason), reason);
        ProviderLoad load = book.Load("p")!;
        Assert.Equal(new ResourceCount(1, 4_000, 16 * Gib, 100 * Gib), load.Reserved);
        Assert.Equal(3, load.Free.Gpus);
        Assert.Equal(1, book.ReservationCount);
    }

    [Fact]
    public void Bids_are_refused_with_the_reason()
    {
        MarketBook book = OpenBook();
        Assert.True(book.TryReserve(BidFor("b1", "o", "p", 2 * K, "p-g0"), Now, out _));
        Assert.Equal("unknown provider ghost", Refusal(book, BidFor("b2", "o", "ghost", K, "p-g1")));
        Assert.Equal("GPU GPU-nope is not on provider p", Refusal(book, BidFor("b2", "o", "p", K, "GPU-nope")));
        Assert.Equal("GPU q-g0 is not on provider p", Refusal(book, BidFor("b2", "o", "p", K, "q-g0")));
        Assert.Equal("GPU p-g0 is already promised to bid b1", Refusal(book, BidFor("b2", "o", "p", K, "p-g0")));
        Assert.Equal("bid b2 asks 5000001 µKUMO/h, above the order's maximum of 5000000", Refusal(book, BidFor("b2", "o", "p", (5 * K) + 1, "p-g1")));
        Assert.Equal("bid b1 is already reserved", Refusal(book, BidFor("b1", "o", "p", K, "p-g1")));
        Assert.Equal("order nope is not open", Refusal(book, BidFor("b2", "nope", "p", K, "p-g1")));
        Assert.StartsWith("bid b2 expired", Refusal(book, BidFor("b2", "o", "p", K, "p-g1") with { ExpiresAt = Now }), StringComparison.Ordinal);
        book.OpenOrder(Order("pair", 1) with { Nodes = 2, MaxPricePerHour = 10 * K }, Now);
        var twice = new Bid("b2", "pair", "p", [new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g1"], H100), new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g1"], H100)], K, Now + 1);
        Assert.Equal("GPU p-g1 appears twice in bid b2", Refusal(book, twice));
    }

    [Fact]
    public void Provider_state_and_order_constraints_are_checked_again_at_reservation()
    {
        MarketBook book = OpenBook();
        book.SetBonded("q", false);
        Assert.Equal("provider q has too little stake bonded", Refusal(book, BidFor("b", "o", "q", K, "q-g0")));
        book.SetBonded("q", true);
        book.SetOnline("q", false);
        Assert.Equal("provider q is offline", Refusal(book, BidFor("b", "o", "q", K, "q-g0")));
        book.SetOnline("q", true);

        book.OpenOrder(Order("eu-only", 1) with { Regions = ["us-east"] }, Now);
        Assert.Equal("provider q is outside us-east", Refusal(book, BidFor("b", "eu-only", "q", K, "q-g0")));
        book.OpenOrder(Order("a100", 1, "A100"), Now);
        Assert.Equal("GPU q-g0 (NVIDIA H100 80GB HBM3) does not match the order's A100", Refusal(book, BidFor("b", "a100", "q", K, "q-g0")));
    }

    [Fact]
    public void Nodes_must_match_the_requirement_and_name_their_real_model()
    {
        MarketBook book = OpenBook();
        Assert.Equal("node 0 of bid b has 2 GPUs; the order wants 1 per node", Refusal(book, BidFor("b", "o", "p", K, "p-g0", "p-g1")));
        Assert.Contains("is a NVIDIA H100 80GB HBM3, but node 0 of bid b says H100", Refusal(book, BidFor("b", "o", "p", K, "p-g0") with
        {
            Nodes = [new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g0"], "H100")],
        }), StringComparison.Ordinal);
        Assert.Equal("node 0 of bid b allocates less CPU, memory or disk than the order requires", Refusal(book, BidFor("b", "o", "p", K, "p-g0") with
        {
            Nodes = [new NodeAllocation(1_000, 16 * Gib, 100 * Gib, ["p-g0"], H100)],
        }));
        Assert.Equal("bid b covers 2 nodes; the order needs 1", Refusal(book, BidFor("b", "o", "p", K, "p-g0") with
        {
            Nodes = [new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g0"], H100), new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g1"], H100)],
        }));
    }

    [Fact]
    public void Host_resources_already_promised_are_refused()
    {
        MarketBook book = Book(Provider("p", gpus: 8, cores: 8));
        book.OpenOrder(Order("o", 1), Now);
        Assert.True(book.TryReserve(BidFor("b1", "o", "p", K, "p-g0") with { Nodes = [new NodeAllocation(6_000, 16 * Gib, 100 * Gib, ["p-g0"], H100)] }, Now, out string? reason), reason);
        Assert.Equal("provider p has 2000 millicores free; bid b2 needs 4000", Refusal(book, BidFor("b2", "o", "p", K, "p-g1")));
    }

    [Fact]
    public void A_cluster_bid_may_ask_at_most_its_nodes_share_of_the_maximum()
    {
        MarketBook book = Book(Provider("p", gpus: 8));
        book.OpenOrder(Order("c", 1) with { Nodes = 4, MaxPricePerHour = 8 * K }, Now);
        Bid two = new("b", "c", "p", [new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g0"], H100), new NodeAllocation(4_000, 16 * Gib, 100 * Gib, ["p-g1"], H100)], (4 * K) + 1, Now + 1);
        Assert.Equal("bid b asks 4000001 µKUMO/h for 2 nodes, above 2 × the per-node share 2000000 of the order's maximum 8000000", Refusal(book, two));
        Assert.True(book.TryReserve(two with { PricePerHour = 4 * K }, Now, out string? reason), reason);
    }

    [Fact]
    public void Release_close_and_expiry_free_what_was_reserved()
    {
        MarketBook book = OpenBook();
        Assert.True(book.TryReserve(BidFor("b1", "o", "p", K, "p-g0") with { ExpiresAt = Now + 10 }, Now, out _));
        Assert.True(book.TryReserve(BidFor("b2", "o", "p", K, "p-g1") with { ExpiresAt = Now + 20 }, Now, out _));
        Assert.True(book.TryReserve(BidFor("b3", "o", "q", K, "q-g0") with { ExpiresAt = Now + 30 }, Now, out _));
        Assert.Empty(book.ExpireBids(Now + 9));
        Assert.Equal(["b1"], book.ExpireBids(Now + 10).Select(b => b.Id));
        Assert.True(book.Release("b2"));
        Assert.False(book.Release("b2"));
        Assert.Equal(4, book.Load("p")!.Free.Gpus);
        Assert.True(book.CloseOrder("o"));
        Assert.Equal(4, book.Load("q")!.Free.Gpus);
        Assert.Equal(0, book.ReservationCount);
        Assert.Empty(book.ExpireBids(Now + 100));
    }

    [Fact]
    public void An_expired_reservation_is_not_selectable_and_selection_changes_nothing()
    {
        MarketBook book = OpenBook();
        Bid bid = BidFor("b1", "o", "p", K, "p-g0") with { ExpiresAt = Now + 10 };
        Assert.True(book.TryReserve(bid, Now, out _));
        Selection s = book.Select("o", [bid], new ZoneLatencyMap(book), Now + 10);
        Assert.False(s.Succeeded);
        Assert.Contains("1 expired", s.Failure, StringComparison.Ordinal);
        Assert.True(book.IsReserved("b1"));
        Assert.True(book.Select("o", [bid], new ZoneLatencyMap(book), Now + 9).Succeeded);
    }
}
