using System.Text;
using Kumo.Tensor.Workloads;

namespace Kumo.Tensor.Tests.Training;

public class StepRootsTests
{
    private static readonly string[] Three = [new('a', 64), new('b', 64), new('c', 64)];

    [Theory]
    [InlineData(800, 200, 20)] // train-digits: ten roots a segment
    [InlineData(800, 0, 80)] // no checkpoints: the run is one segment
    [InlineData(600, 400, 20)] // a root at every checkpoint (400) and the last step (600): a divisor of gcd 200
    [InlineData(40, 8, 1)] // segments too short for ten roots: a root every step
    [InlineData(97, 0, 1)] // a prime: no divisor below a tenth but 1
    [InlineData(50, 50, 5)]
    public void The_interval_is_the_largest_divisor_of_the_segment_at_most_a_tenth_of_it(int steps, int checkpointEvery, int expected)
    {
        int every = StepRoots.IntervalFor(steps, checkpointEvery);
        Assert.Equal(expected, every);
        Assert.Equal(0, steps % every);
        Assert.True(checkpointEvery == 0 || checkpointEvery % every == 0);
    }

    [Fact]
    public void A_file_round_trips_and_names_the_roots_only_at_its_steps()
    {
        StepRoots roots = StepRoots.Parse(Encoding.UTF8.GetBytes(StepRoots.ToJson(220, 20, Three)));

        Assert.Equal((220, 20, 260), (roots.FirstStep, roots.Every, roots.LastStep));
        Assert.Equal(Three[1], roots.RootAfter(240));
        Assert.True(roots.Covers(260));
        Assert.False(roots.Covers(250));
        Assert.False(roots.Covers(200));
        Assert.False(roots.Covers(280));
        Assert.Throws<ArgumentOutOfRangeException>(() => roots.RootAfter(250));
    }

    [Fact]
    public void A_file_without_every_has_a_root_after_every_step()
    {
        StepRoots roots = StepRoots.Parse(Encoding.UTF8.GetBytes($"{{\"first_step\":1,\"roots\":[\"{Three[0]}\",\"{Three[1]}\"]}}"));

        Assert.Equal(1, roots.Every);
        Assert.Equal(Three[1], roots.RootAfter(2));
    }

    [Theory]
    [InlineData("{\"first_step\":1,\"every\":0,\"roots\":[]}", "every must be")]
    [InlineData("{\"first_step\":1,\"every\":\"ten\",\"roots\":[]}", "every must be")]
    [InlineData("{\"first_step\":0,\"roots\":[]}", "first_step")]
    [InlineData("{\"first_step\":\"one\",\"roots\":[]}", "first_step")]
    [InlineData("{\"first_step\":5,\"every\":5,\"roots\":[\"xyz\"]}", "the root after step 5 is not")]
    [InlineData("{\"first_step\":5,\"every\":5,\"roots\":[]}", "names no roots")]
    [InlineData("[1, 2", "not JSON")]
    public void A_malformed_file_is_named_for_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => StepRoots.Parse(Encoding.UTF8.GetBytes(text)));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
