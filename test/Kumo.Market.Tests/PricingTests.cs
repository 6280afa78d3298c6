using FsCheck;
using FsCheck.Fluent;
using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

public sealed class PricingTests
{
    private static readonly PricingPolicy Policy = new(
        [new ModelPrice("H100 PCIe", 1_000_000), new ModelPrice("H100", 2_000_000), new ModelPrice("A100", 1_200_000)],
        DefaultPerGpuHour: 500_000,
        PerCpuCoreHour: 10_000,
        PerGibMemoryHour: 1_000,
        PerGibDiskHour: 10,
        FloorPerHour: 50_000);

    [Fact]
    public void A_quote_is_the_exact_sum_of_its_parts_each_rounded_up()
    {
        // 2 GPUs × 2.0 K + 1.5 cores × 10,000 + 1 byte over 3 GiB × 1,000/GiB + 1 GiB disk × 10.
        var a = new NodeAllocation(1_500, (3 * Gib) + 1, Gib, ["g0", "g1"], H100);
        long expected = (2 * 2_000_000) + 15_000 + 3_001 + 10;
        Assert.Equal(expected, Policy.Quote(a));
    }

    [Fact]
    public void The_first_matching_pattern_wins_so_order_matters()
    {
        Assert.Equal(2_000_000, Policy.PerGpuHourFor(H100));
        Assert.Equal(1_000_000, Policy.PerGpuHourFor(H100Pcie));
        Assert.Equal(1_200_000, Policy.PerGpuHourFor(A100));
        // The same prices in the other order: "H100" now catches the PCIe card first.
        var reversed = Policy with { PerGpuModelHour = [new ModelPrice("H100", 2_000_000), new ModelPrice("H100 PCIe", 1_000_000)] };
        Assert.Equal(2_000_000, reversed.PerGpuHourFor(H100Pcie));
        Assert.Equal(500_000, Policy.PerGpuHourFor(Rtx4090));
        Assert.Equal(500_000, Policy.PerGpuHourFor(null));
    }

    [Fact]
    public void The_allocated_model_is_priced_unless_another_is_named()
    {
        var a = new NodeAllocation(0, 0, 0, ["g0"], A100);
        Assert.Equal(1_200_000, Policy.Quote(a));
        Assert.Equal(500_000, Policy.Quote(a, Rtx4090));
    }

    [Fact]
    public void A_quote_below_the_floor_is_raised_to_it()
    {
        var small = new NodeAllocation(1_000, Gib, 0, [], null);
        Assert.Equal(50_000, Policy.Quote(small));
    }

    [Fact]
    public void Huge_allocations_are_priced_exactly_or_refused_never_wrapped()
    {
        var big = new NodeAllocation(0, long.MaxValue, 0, [], null);
        long exact = (long)(((Int128)long.MaxValue * 1_000 / Gib) + 1);
        Assert.Equal(exact, Policy.Quote(big));
        var dear = PricingPolicy.Flat(0, perGibMemoryHour: long.MaxValue);
        Assert.Throws<OverflowException>(() => dear.Quote(new NodeAllocation(0, 4 * Gib, 0, [], null)));
    }

    [Fact]
    public void Quotes_are_linear_and_monotone_in_every_part()
    {
        Gen<(int Gpus, int Cpu, long Memory, long Disk, int Extra)> cases =
            from gpus in Gen.Choose(0, 16)
            from cpu in Gen.Choose(0, 256_000)
            from memory in Gen.Choose(0, 4096).Select(g => g * Gib / 3)
            from disk in Gen.Choose(0, 100_000).Select(g => g * (Gib / 7))
            from extra in Gen.Choose(1, 1000)
            select (gpus, cpu, memory, disk, extra);
        var noFloor = Policy with { FloorPerHour = 0 };
        Prop.ForAll(Arb.From(cases), c =>
        {
            string[] uuids = [.. Enumerable.Range(0, c.Gpus).Select(i => $"g{i}")];
            long q = noFloor.Quote(new NodeAllocation(c.Cpu, c.Memory, c.Disk, uuids, H100));
            long gpuPart = c.Gpus * 2_000_000L;
            long host = noFloor.Quote(new NodeAllocation(c.Cpu, c.Memory, c.Disk, [], null));
            Assert.Equal(gpuPart + host, q);
            Assert.True(noFloor.Quote(new NodeAllocation(c.Cpu + c.Extra, c.Memory + c.Extra, c.Disk, uuids, H100)) >= q);
            // Rounding up per part: never below the exact rational price, and less than one µKUMO above it per part.
            decimal exact = gpuPart + (c.Cpu * 10_000m / 1000) + (c.Memory * 1_000m / Gib) + (c.Disk * 10m / Gib);
            Assert.InRange(q - exact, 0m, 3m);
            Assert.Equal(Math.Max(50_000, q), Policy.Quote(new NodeAllocation(c.Cpu, c.Memory, c.Disk, uuids, H100)));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Node_shares_add_up_to_the_bid_price()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), Arb.From(Gen.Choose(1, 64)), (price, nodes) =>
        {
            long sum = Enumerable.Range(0, nodes).Sum(i => MarketRules.NodeShare(price, nodes, i));
            Assert.Equal(price, sum);
            for (int taken = 0; taken <= nodes; taken++)
            {
                Assert.Equal(Enumerable.Range(0, taken).Sum(i => MarketRules.NodeShare(price, nodes, i)), MarketRules.SharesOfFirst(price, nodes, taken));
            }

            Assert.True(MarketRules.NodeShare(price, nodes, 0) - MarketRules.NodeShare(price, nodes, nodes - 1) <= 1);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Reputation_adjustment_is_price_over_half_plus_half_reputation()
    {
        Assert.Equal(1_000_000, MarketRules.Adjusted(1_000_000, 1));
        Assert.Equal(2_000_000, MarketRules.Adjusted(1_000_000, 0));
        Assert.Equal(1_000_000 / 0.75, MarketRules.Adjusted(1_000_000, 0.5));
        Assert.Equal(1, MarketRules.Weight(7));
    }
}
