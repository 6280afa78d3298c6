using FsCheck;
using FsCheck.Fluent;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Core.Tests.Protocol;

public class ProviderPricingTests
{
    private const long GiB = 1L << 30;
    private const long MiB = 1L << 20;

    [Theory]
    [InlineData(0, 0, 0L, 0L)]
    [InlineData(1, 1000, GiB, 1_225_000L)]
    [InlineData(0, 500, 256 * MiB, 11_250L)]
    [InlineData(0, 1000, 0L, 20_000L)]
    [InlineData(2, 0, 0L, 2_400_000L)]
    [InlineData(8, 64_000, 512 * GiB, 13_440_000L)]
    [InlineData(16, 1_024_000, 64L << 40, 19_200_000L + 20_480_000L + 327_680_000L)]
    public void Default_prices_give_exact_micros_for_whole_allocations(int gpus, int cpuMillicores, long memoryBytes, long expected) =>
        Assert.Equal(expected, ProviderPricing.Default.PriceFor(gpus, cpuMillicores, memoryBytes));

    [Fact]
    public void Default_prices_are_those_documented()
    {
        Assert.Equal(new ProviderPricing(1_200_000, 20_000, 5_000), ProviderPricing.Default);
    }

    [Theory]
    // 1 millicore at 20,000 µKUMO per core-hour is 20 µKUMO exactly; 1 byte at 5,000 per GiB-hour is a tiny
    // fraction, charged as 1 whole µKUMO.
    [InlineData(0, 1, 0L, 20L)]
    [InlineData(0, 0, 1L, 1L)]
    [InlineData(0, 1, 1L, 21L)]
    [InlineData(0, 0, GiB + 1, 5_001L)]
    [InlineData(0, 0, GiB - 1, 5_000L)]
    public void Fractions_of_a_micro_round_up(int gpus, int cpuMillicores, long memoryBytes, long expected) =>
        Assert.Equal(expected, ProviderPricing.Default.PriceFor(gpus, cpuMillicores, memoryBytes));

    [Theory]
    [InlineData(1, 1L)]
    [InlineData(999, 1L)]
    [InlineData(1000, 1L)]
    [InlineData(1001, 2L)]
    [InlineData(2500, 3L)]
    public void Cpu_at_one_micro_per_core_hour_rounds_each_started_core_up(int cpuMillicores, long expected) =>
        Assert.Equal(expected, new ProviderPricing(0, 1, 0).PriceFor(0, cpuMillicores, 0));

    [Fact]
    public void The_gpu_product_overflowing_throws_rather_than_wrapping()
    {
        var pricing = new ProviderPricing(long.MaxValue / 2 + 1, 0, 0);
        Assert.Throws<OverflowException>(() => pricing.PriceFor(2, 0, 0));
    }

    [Fact]
    public void The_cpu_part_overflowing_throws_rather_than_wrapping()
    {
        // 1024 cores at long.MaxValue per core-hour: 1024 × long.MaxValue does not fit in a long.
        var pricing = new ProviderPricing(0, long.MaxValue, 0);
        Assert.Throws<OverflowException>(() => pricing.PriceFor(0, 1_024_000, 0));
    }

    [Fact]
    public void The_memory_part_overflowing_throws_rather_than_wrapping()
    {
        var pricing = new ProviderPricing(0, 0, long.MaxValue);
        Assert.Throws<OverflowException>(() => pricing.PriceFor(0, 0, 2 * GiB));
    }

    [Fact]
    public void The_sum_overflowing_throws_rather_than_wrapping()
    {
        var pricing = new ProviderPricing(long.MaxValue, 1000, 0);
        Assert.Throws<OverflowException>(() => pricing.PriceFor(1, 1000, 0));
    }

    [Fact]
    public void A_cpu_price_near_the_top_of_the_range_rounds_up_without_wrapping_negative()
    {
        // 1 millicore at long.MaxValue per core-hour is long.MaxValue / 1000 rounded up: representable, so the
        // answer is that number, not an overflow and never a negative price.
        var pricing = new ProviderPricing(0, long.MaxValue, 0);
        Assert.Equal(long.MaxValue / 1000 + 1, pricing.PriceFor(0, 1, 0));
    }

    [Fact]
    public void A_large_memory_allocation_is_still_rounded_up_exactly()
    {
        // 16383 GiB plus 50,036,369 bytes at 5,000 µKUMO per GiB-hour is 81,915,233.000000007... µKUMO: the
        // fraction is below what a double can hold at that size, and must still round up.
        long memoryBytes = 16383 * GiB + 50_036_369;
        Assert.Equal(81_915_234L, ProviderPricing.Default.PriceFor(0, 0, memoryBytes));
    }

    [Fact]
    public void Any_allocation_within_the_spec_limits_costs_the_exact_rounded_up_sum()
    {
        Gen<long> price = Gen.OneOf(
            Gen.Choose(0, 10_000_000).Select(p => (long)p),
            Gen.Elements(0L, 1L, 5_000L, 20_000L, 1_200_000L, 999_999_999L));
        Gen<long> memory = Gen.OneOf(
            Gen.Choose(0, int.MaxValue).Select(m => (long)m),
            from gib in Gen.Choose(0, (int)(JobSpecLimits.MaxMemoryBytes / GiB))
            from rest in Gen.Choose(0, (int)GiB - 1)
            select Math.Min(JobSpecLimits.MaxMemoryBytes, gib * GiB + rest));

        Arbitrary<(ProviderPricing Pricing, int Gpus, int Cpu, long Memory)> cases =
            (from perGpu in price
             from perCore in price
             from perGib in price
             from gpus in Gen.Choose(0, JobSpecLimits.MaxGpusPerNode)
             from cpu in Gen.Choose(0, JobSpecLimits.MaxCpuMillicores)
             from mem in memory
             select (new ProviderPricing(perGpu, perCore, perGib), gpus, cpu, mem)).ToArbitrary();

        Prop.ForAll(cases, c =>
        {
            Int128 expected =
                (Int128)c.Gpus * c.Pricing.PerGpuHourMicros
                + CeilDiv((Int128)c.Cpu * c.Pricing.PerCpuCoreHourMicros, 1000)
                + CeilDiv((Int128)c.Memory * c.Pricing.PerGibMemoryHourMicros, GiB);
            return expected == c.Pricing.PriceFor(c.Gpus, c.Cpu, c.Memory);
        }).QuickCheckThrowOnFailure();
    }

    private static Int128 CeilDiv(Int128 a, Int128 b) => (a + b - 1) / b;
}
