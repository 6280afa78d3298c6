using Kumo.Tensor.Randomness;

namespace Kumo.Tensor.Tests.Randomness;

public class PhiloxTests
{
    [Theory]
    [InlineData(0, 0)]
    [InlineData(0, 1)]
    [InlineData(1, 3)]
    [InlineData(3, 4)]
    [InlineData(2, 9)]
    [InlineData(4, 1000)]
    [InlineData(7, 1027)]
    public void Bulk_words_are_exactly_the_word_by_word_stream_from_any_position(int skip, int count)
    {
        var one = new Philox(0x1234_5678_9abc_def0, 77, 3);
        var bulk = new Philox(0x1234_5678_9abc_def0, 77, 3);
        for (int i = 0; i < skip; i++)
        {
            one.NextUInt32();
            bulk.NextUInt32();
        }

        uint[] expected = [.. Enumerable.Range(0, count).Select(_ => one.NextUInt32())];
        uint[] words = new uint[count];
        bulk.FillUInt32(words);

        Assert.Equal(expected, words);
        Assert.Equal(one.Position, bulk.Position);
        Assert.Equal(one.NextUInt32(), bulk.NextUInt32()); // and it carries on from the same place
    }

    // Random123's published known-answer vectors for philox4x32-10 (tests/kat_vectors): counter, key, output.
    [Theory]
    [InlineData(0u, 0u, 0u, 0u, 0u, 0u, 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u)]
    [InlineData(0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu)]
    [InlineData(0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u, 0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u)]
    public void Known_answers(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1, uint x0, uint x1, uint x2, uint x3) =>
        Assert.Equal((x0, x1, x2, x3), Philox.Block(c0, c1, c2, c3, k0, k1));

    [Fact]
    public void A_stream_is_its_blocks_in_counter_order()
    {
        var rng = new Philox(0x0123456789abcdefUL, step: 0x1_0000_0002UL, stream: 7);
        (uint a, uint b, uint c, uint d) = Philox.Block(1, 7, 2, 1, 0x89abcdef, 0x01234567);
        for (int i = 0; i < 4; i++)
        {
            rng.NextUInt32();
        }

        Assert.Equal([a, b, c, d], new[] { rng.NextUInt32(), rng.NextUInt32(), rng.NextUInt32(), rng.NextUInt32() });
        Assert.Equal(8, rng.Position);
    }

    [Fact]
    public void Same_key_step_and_stream_repeat_and_any_difference_gives_an_unrelated_stream()
    {
        uint[] Words(ulong job, ulong step, uint stream)
        {
            var rng = new Philox(job, step, stream);
            return [.. Enumerable.Range(0, 64).Select(_ => rng.NextUInt32())];
        }

        uint[] baseline = Words(42, 3, 1);
        Assert.Equal(baseline, Words(42, 3, 1));
        foreach (uint[] other in new[] { Words(43, 3, 1), Words(42, 4, 1), Words(42, 3, 2), Words(42UL | (1UL << 40), 3, 1), Words(42, 3 | (1UL << 33), 1) })
        {
            // Unrelated: no shared words, and about half the bits differ position by position.
            Assert.Empty(baseline.Intersect(other));
            int differing = baseline.Zip(other, (x, y) => System.Numerics.BitOperations.PopCount(x ^ y)).Sum();
            Assert.InRange(differing, 64 * 32 * 0.4, 64 * 32 * 0.6);
        }
    }

    [Fact]
    public void Uniform_floats_are_in_range_with_the_right_moments()
    {
        var rng = new Philox(1, 0, 0);
        float[] u = new float[100_000];
        rng.FillUniform(u);
        Assert.All(u, x => Assert.InRange(x, 0f, 0.99999995f));
        Assert.InRange(u.Average(), 0.495, 0.505);
        Assert.InRange(u.Select(x => (x - 0.5) * (x - 0.5)).Average(), 1 / 12.0 - 0.002, 1 / 12.0 + 0.002);
    }

    [Fact]
    public void Normals_have_mean_and_variance_and_repeat_bit_for_bit()
    {
        float[] z = new float[100_001], again = new float[100_001];
        new Philox(9, 1, 2).FillNormal(z, mean: 1f, stdDev: 2f);
        new Philox(9, 1, 2).FillNormal(again, mean: 1f, stdDev: 2f);
        Assert.Equal(z, again);
        double mean = z.Average(), variance = z.Select(x => (x - mean) * (x - mean)).Average();
        Assert.InRange(mean, 0.97, 1.03);
        Assert.InRange(variance, 3.9, 4.1);
        Assert.All(z, x => Assert.InRange(x, 1 - (2 * 5.8f), 1 + (2 * 5.8f)));
    }

    [Fact]
    public void Permutations_are_permutations_deterministic_and_unbiased()
    {
        Assert.Equal(new Philox(5, 6, 7).Permutation(1000), new Philox(5, 6, 7).Permutation(1000));
        Assert.Equal(Enumerable.Range(0, 1000), new Philox(5, 6, 7).Permutation(1000).Order());
        Assert.NotEqual(new Philox(5, 6, 7).Permutation(1000), new Philox(5, 7, 7).Permutation(1000));
        Assert.Empty(new Philox(1, 1, 1).Permutation(0));

        // Each of the 6 orders of 3 items appears about equally often.
        var rng = new Philox(11, 0, 0);
        var counts = new Dictionary<string, int>();
        for (int i = 0; i < 60_000; i++)
        {
            string key = string.Join(',', rng.Permutation(3));
            counts[key] = counts.GetValueOrDefault(key) + 1;
        }

        Assert.Equal(6, counts.Count);
        Assert.All(counts.Values, c => Assert.InRange(c, 9_400, 10_600));
    }

    [Fact]
    public void Bounded_integers_cover_the_range_without_bias()
    {
        var rng = new Philox(3, 0, 0);
        int[] counts = new int[7];
        for (int i = 0; i < 70_000; i++)
        {
            counts[rng.NextInt(7)]++;
        }

        Assert.All(counts, c => Assert.InRange(c, 9_500, 10_500));
        Assert.Equal(0, rng.NextInt(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => rng.NextInt(0));
    }
}
