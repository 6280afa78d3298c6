using FsCheck;
using FsCheck.Fluent;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>The index, its walk and its shortcuts against the naive rules, on random fleets, loads and orders.</summary>
public sealed class IndexPropertyTests
{
    [Fact]
    public void Candidates_are_exactly_the_naive_top_k_with_the_same_quotes_nodes_and_models()
    {
        int compared = 0, nonEmpty = 0;
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            MarketBook book = RandomMarket.Book(rng, rng.Next(1, 30));
            RandomMarket.Load(rng, book, rng.Next(0, 12));
            List<MarketProvider> fleet = [.. book.Providers];
            for (int i = 0; i < 15; i++)
            {
                OrderRequest order = RandomMarket.Order(rng, $"o{i}", fleet);
                int limit = rng.Next(1, 12);
                var expected = Reference.Top(book, order, limit);
                IReadOnlyList<Candidate> actual = book.FindCandidates(order, Now, limit);
                Assert.Equal(expected.Select(e => e.Provider.Id), actual.Select(a => a.Provider.Id));
                Assert.Equal(expected.Select(e => e.Result.Quote), actual.Select(a => a.QuotePerNodeHour));
                Assert.Equal(expected.Select(e => e.Result.Nodes), actual.Select(a => a.NodesPossible));
                Assert.Equal(expected.Select(e => e.Result.Model), actual.Select(a => a.Allocation.GpuModel));
                compared++;
                nonEmpty += actual.Count > 0 ? 1 : 0;
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
        Assert.True(nonEmpty > compared / 5, $"only {nonEmpty} of {compared} orders had candidates: the generator is too strict to test much");
    }

    [Fact]
    public void Explain_counts_add_up_and_agree_with_the_naive_rules_now_and_when_idle()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            MarketBook book = RandomMarket.Book(rng, rng.Next(0, 25));
            RandomMarket.Load(rng, book, rng.Next(0, 10));
            List<MarketProvider> fleet = [.. book.Providers];
            for (int i = 0; i < 10; i++)
            {
                OrderRequest order = RandomMarket.Order(rng, $"o{i}", fleet);
                Feasibility f = book.Explain(order, Now);
                Assert.Equal(book.ProviderCount, f.Providers);
                Assert.Equal(f.Providers, f.CanRunNow + f.Exclusions.Sum(e => e.Count));
                Assert.Equal(fleet.Count(p => Reference.Evaluate(book, p, order) is not null), f.CanRunNow);
                Assert.Equal(fleet.Count(p => Reference.Evaluate(book, p, order, idle: true) is not null), f.CanRunWhenIdle);
                Assert.Equal(fleet.Sum(p => Reference.Evaluate(book, p, order)?.Nodes ?? 0), f.NodesNow);
                if (f.NodesNow >= order.Nodes)
                {
                    Assert.Equal(0, f.ExpectedWaitMs);
                }
                else
                {
                    Assert.True(f.ExpectedWaitMs is null or > 0, $"wait {f.ExpectedWaitMs} with {f.NodesNow} of {order.Nodes} nodes free");
                }

                Assert.StartsWith($"{f.Providers} provider", f.Explanation, StringComparison.Ordinal);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(150));
    }

    [Fact]
    public void Every_candidate_bids_what_it_was_found_at_through_the_book_and_through_its_own_view()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            MarketBook book = RandomMarket.Book(rng, rng.Next(1, 20));
            RandomMarket.Load(rng, book, rng.Next(0, 8));
            List<MarketProvider> fleet = [.. book.Providers];
            var prices = new[] { H100, H100Pcie, A100, A100Pcie40, Rtx4090, Mi300, "cpu" }
                .Where(m => book.MarketPrice(m) is not null)
                .ToDictionary(m => m, m => book.MarketPrice(m)!.Value);
            for (int i = 0; i < 10; i++)
            {
                OrderRequest order = RandomMarket.Order(rng, $"o{i}", fleet);
                foreach (Candidate c in book.FindCandidates(order, Now, 50))
                {
                    Bid bid = BidEngine.Quote(c.Provider, order, book, Now, 1_000)!;
                    Assert.NotNull(bid);
                    Assert.True(bid.Nodes[0].SameAs(c.Allocation));
                    Assert.Equal(c.NodesPossible, bid.Nodes.Count);
                    Assert.True(bid.PricePerHour <= order.MaxPerNodeHour * bid.Nodes.Count);
                    Assert.Equal(c.QuotePerNodeHour, bid.Nodes.Count == 1 ? bid.PricePerHour : c.QuotePerNodeHour);
                    Assert.Equal(Now + 1_000, bid.ExpiresAt);

                    var view = new LocalMarketView(c.Provider.Id, book.Free(c.Provider.Id)!, prices);
                    Bid own = BidEngine.Quote(c.Provider with { }, order, view, Now, 1_000)!;
                    Assert.NotNull(own);
                    Assert.Equal(bid.PricePerHour, own.PricePerHour);
                    Assert.Equal(bid.Nodes.Count, own.Nodes.Count);
                    Assert.All(bid.Nodes.Zip(own.Nodes), pair => Assert.True(pair.First.SameAs(pair.Second)));
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }
}
