using Kumo.Tensor.Training;

namespace Kumo.Tensor.Tests.Training;

public class RngTests
{
    [Fact]
    public void Streams_are_reproducible_and_distinct_per_key()
    {
        ulong[] Draw(ulong seed, ulong step, ulong stream)
        {
            IRandomSource r = Rng.For(seed, step, stream);
            return [r.NextUInt64(), r.NextUInt64(), r.NextUInt64()];
        }

        Assert.Equal(Draw(1, 2, 3), Draw(1, 2, 3));
        Assert.NotEqual(Draw(1, 2, 3), Draw(1, 2, 4));
        Assert.NotEqual(Draw(1, 2, 3), Draw(1, 3, 3));
        Assert.NotEqual(Draw(1, 2, 3), Draw(2, 2, 3));
        Assert.NotEqual(Draw(1, 2, 3), Draw(1, 3, 2));
    }

    [Fact]
    public void Derived_draws_stay_in_range_and_cover_it()
    {
        IRandomSource r = Rng.For(0, 0, 0);
        int[] counts = new int[7];
        for (int i = 0; i < 7000; i++)
        {
            counts[r.NextInt(7)]++;
            float f = r.NextFloat();
            Assert.InRange(f, 0f, 0.99999994f);
        }

        Assert.All(counts, c => Assert.InRange(c, 850, 1150));
    }
}
