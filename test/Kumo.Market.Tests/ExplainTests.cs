using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

public sealed class ExplainTests
{
    [Fact]
    public void The_explanation_counts_every_provider_once_under_its_first_failing_constraint()
    {
        var providers = new List<MarketProvider>();
        providers.AddRange(Enumerable.Range(0, 28).Select(i => Provider($"a100-{i}", model: A100)));
        providers.AddRange(Enumerable.Range(0, 2).Select(i => Provider($"shaky-{i}", reputation: 0.5, diskGib: 10)));     // reputation comes before disk
        providers.AddRange(Enumerable.Range(0, 1).Select(i => Provider($"small-disk-{i}", diskGib: 10)));
        providers.Add(Provider("good"));
        MarketBook book = Book([.. providers]);
        OrderRequest order = Order("o", Gpus(1, "H100") with { DiskBytes = 100 * Gib }) with { MinReputation = 0.8 };
        Feasibility f = book.Explain(order, Now);
        Assert.Equal(32, f.Providers);
        Assert.Equal(1, f.CanRunNow);
        Assert.Equal(
            [new Exclusion("lack a GPU matching H100", 28), new Exclusion("are below reputation 0.8", 2), new Exclusion("have too little disk", 1)],
            f.Exclusions);
        Assert.StartsWith("32 providers, 1 can run it now and 1 when idle: 28 lack a GPU matching H100, 2 are below reputation 0.8, 1 has too little disk", f.Explanation, StringComparison.Ordinal);
        Assert.Equal(H100, f.Model);
        Assert.Equal(0, f.ExpectedWaitMs);
        Assert.EndsWith("it can start now", f.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Recent_prices_of_the_model_it_would_get_are_shown()
    {
        MarketBook book = Book(Provider("p"));
        foreach (long price in new long[] { 1_200_000, 1_450_000, 2_100_000 })
        {
            book.RecordClearing(H100, price, Now);
        }

        Feasibility f = book.Explain(Order("o", 1, "H100"), Now);
        Assert.Equal(new PriceRange(1_200_000, 1_450_000, 2_100_000, 3, Now), f.RecentPrices);
        Assert.Contains("NVIDIA H100 80GB HBM3 recently cleared at 1.2/1.45/2.1 KUMO per GPU-hour", f.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void The_expected_wait_comes_from_lease_end_estimates_of_capable_providers()
    {
        MarketBook book = Book(Provider("p", gpus: 1), Provider("q", gpus: 1));
        foreach ((string id, long duration) in new[] { ("first", 3_600_000L), ("second", 600_000L) })
        {
            OrderRequest taken = Order(id, 1) with { ExpectedDurationMs = duration };
            List<Bid> bids = Auction(book, taken);
            book.Lease(id, book.Select(id, bids, new ZoneLatencyMap(book), Now).Winners, Now);
        }

        Feasibility f = book.Explain(Order("o", 1), Now + 60_000);
        Assert.Equal(0, f.CanRunNow);
        Assert.Equal(2, f.CanRunWhenIdle);
        Assert.Equal(540_000, f.ExpectedWaitMs); // the shorter lease ends first
        Assert.EndsWith("expected wait about 9 min", f.Explanation, StringComparison.Ordinal);
        Assert.Equal(3_540_000, book.Explain(Order("pair", 1) with { Nodes = 2, MaxPricePerHour = 100 * K }, Now + 60_000).ExpectedWaitMs);

        // A lease with no end estimate makes its provider's wait unknown.
        MarketBook unknown = Book(Provider("u", gpus: 1));
        List<Bid> b = Auction(unknown, Order("x", 1));
        unknown.Lease("x", unknown.Select("x", b, new ZoneLatencyMap(unknown), Now).Winners, Now);
        Feasibility u = unknown.Explain(Order("o", 1), Now);
        Assert.Null(u.ExpectedWaitMs);
        Assert.EndsWith("expected wait unknown", u.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_book_explains_itself()
    {
        Feasibility f = new MarketBook().Explain(Order("o", 1), Now);
        Assert.Equal(0, f.Providers);
        Assert.Null(f.Model);
        Assert.Equal("0 providers, 0 can run it now and 0 when idle; expected wait unknown", f.Explanation);
    }

    [Fact]
    public void Invalid_orders_are_refused_with_the_field_at_fault()
    {
        MarketBook book = Book(Provider("p"));
        Assert.Contains("nodes must be 1..4096", Assert.Throws<ArgumentException>(() => book.Explain(Order("o", 1) with { Nodes = 0 }, Now)).Message, StringComparison.Ordinal);
        Assert.Contains("minimum reputation", Assert.Throws<ArgumentException>(() => book.FindCandidates(Order("o", 1) with { MinReputation = 2 }, Now, 1)).Message, StringComparison.Ordinal);
        Assert.Contains("already open", Assert.Throws<InvalidOperationException>(() =>
        {
            book.OpenOrder(Order("o", 1), Now);
            book.OpenOrder(Order("o", 1), Now);
        }).Message, StringComparison.Ordinal);
    }
}
