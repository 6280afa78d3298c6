using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

public sealed class BidEngineTests
{
    private static readonly NodeRequirement OneH100 = NodeRequirement.WithGpus(1, ["H100"], 8_000, 32 * Gib, 100 * Gib);

    private static MarketProvider Priced(string id, long floor = 0, int tier = 0, long perGpu = 2 * K) =>
        Provider(id, perGpu: perGpu) with
        {
            Pricing = new PricingPolicy([new ModelPrice("H100", perGpu)], 5 * K, 10_000, 1_000, 10, floor),
            PerformanceTier = tier,
        };

    [Fact]
    public void Auction_bids_the_policy_quote_for_the_cheapest_fitting_gpus()
    {
        var mixed = new MarketProvider("m", "m", [Gpu("m-a100", A100), Gpu("m-h100-0", H100), Gpu("m-h100-1", H100)], 64_000, 512 * Gib, 4_000 * Gib,
            new PricingPolicy([new ModelPrice("H100", 2 * K), new ModelPrice("A100", 1 * K)], 5 * K, 0, 0, 0, 0));
        MarketBook book = Book(mixed);
        Bid bid = BidEngine.Quote(mixed, Order("o", NodeRequirement.WithGpus(1, [], 0, 0, 0), 10 * K), book, Now, 300_000)!;
        Assert.Equal(A100, bid.Nodes.Single().GpuModel);
        Assert.Equal(["m-a100"], bid.Nodes.Single().GpuUuids);
        Assert.Equal(K, bid.PricePerHour);
        Assert.Equal(Now + 300_000, bid.ExpiresAt);
        Assert.Equal("o/m", bid.Id);
    }

    [Fact]
    public void Auction_respects_the_floor_and_the_maximum()
    {
        MarketProvider p = Priced("p", floor: 3 * K);
        MarketBook book = Book(p);
        Assert.Equal(3 * K, BidEngine.Quote(p, Order("o", OneH100, 10 * K), book, Now, 1_000)!.PricePerHour);
        Assert.Null(BidEngine.Quote(p, Order("o", OneH100, (3 * K) - 1), book, Now, 1_000));
    }

    [Fact]
    public void Market_mode_bids_the_median_clearing_price_if_the_floor_allows_and_the_policy_before_any_clearing()
    {
        MarketProvider p = Priced("p", floor: 1_500_000);
        MarketBook book = Book(p);
        OrderRequest order = Order("o", OneH100, 10 * K) with { Mode = PricingMode.Market };
        long policy = 2 * K + 80_000 + 32_000 + 1_000;
        Assert.Equal(policy, BidEngine.Quote(p, order, book, Now, 1_000)!.PricePerHour);
        foreach (long price in new long[] { 1_600_000, 1_700_000, 1_800_000, 9_000_000 })
        {
            book.RecordClearing(H100, price, Now);
        }

        Assert.Equal(1_700_000, book.MarketPrice(H100)); // lower middle of four
        Assert.Equal(1_700_000, BidEngine.Quote(p, order, book, Now, 1_000)!.PricePerHour);
        book.RecordClearing(H100, 100_000, Now);
        book.RecordClearing(H100, 100_000, Now);
        Assert.Equal(1_600_000, book.MarketPrice(H100));
        book.RecordClearing(H100, 100_000, Now);
        book.RecordClearing(H100, 100_000, Now);
        Assert.Equal(100_000, book.MarketPrice(H100));
        Assert.Null(BidEngine.Quote(p, order, book, Now, 1_000)); // below its floor: no bid
        Assert.Equal("have a price floor above the market price", Assert.Single(book.Explain(order, Now).Exclusions).Reason);
    }

    [Fact]
    public void Performance_mode_prices_tier_times_rate_times_gpus_and_skips_unmeasured_or_underpriced_providers()
    {
        MarketProvider fast = Priced("fast", tier: 1_000), unmeasured = Priced("unmeasured"), proud = Priced("proud", tier: 10, floor: 5 * K);
        MarketBook book = Book(fast, unmeasured, proud);
        OrderRequest order = Order("o", OneH100 with { Gpus = 2 }, 100 * K) with { Mode = PricingMode.Performance, PerformanceRatePerTierHour = 1_800 };
        Assert.Equal(1_000 * 1_800 * 2, BidEngine.Quote(fast, order, book, Now, 1_000)!.PricePerHour);
        Assert.Null(BidEngine.Quote(unmeasured, order, book, Now, 1_000));
        Assert.Null(BidEngine.Quote(proud, order, book, Now, 1_000));
        Feasibility f = book.Explain(order, Now);
        Assert.Contains(f.Exclusions, e => e.Reason == "have no measured performance tier");
        Assert.Contains(f.Exclusions, e => e.Reason == "have a price floor above the performance price");
        Assert.Throws<ArgumentException>(() => book.FindCandidates(order with { PerformanceRatePerTierHour = null }, Now, 5));
    }

    [Fact]
    public void Cluster_bids_cover_as_many_nodes_as_fit_each_within_the_per_node_share()
    {
        MarketProvider rack = Provider("rack", gpus: 20, perGpu: K, cores: 256, memoryGib: 2_048, diskGib: 20_000);
        MarketBook book = Book(rack);
        NodeRequirement eight = NodeRequirement.WithGpus(8, [], 8_000, 64 * Gib, 500 * Gib);
        Bid bid = BidEngine.Quote(rack, Order("c", eight, 40 * K) with { Nodes = 4 }, book, Now, 1_000)!;
        Assert.Equal(2, bid.Nodes.Count); // 20 GPUs hold two nodes of eight
        Assert.Equal(16, bid.Nodes.SelectMany(n => n.GpuUuids).Distinct().Count());
        Assert.Equal(16 * K, bid.PricePerHour);
        Assert.Null(BidEngine.Quote(rack, Order("c", eight, (32 * K) - 1) with { Nodes = 4 }, book, Now, 1_000)); // 8 M per node > share of 7.99 M
        Assert.Single(BidEngine.Quote(rack, Order("one", eight, 40 * K), book, Now, 1_000)!.Nodes);
    }

    [Fact]
    public void A_provider_the_book_does_not_know_or_cannot_fit_does_not_bid()
    {
        MarketBook book = Book(Provider("p", gpus: 1));
        Assert.Null(BidEngine.Quote(Provider("stranger"), Order("o", 1), book, Now, 1_000));
        Assert.Null(BidEngine.Quote(book.Get("p")!, Order("o", 2), book, Now, 1_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => BidEngine.Quote(book.Get("p")!, Order("o", 1), book, Now, 0));
    }
}
