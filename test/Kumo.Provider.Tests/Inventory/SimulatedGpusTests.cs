using Kumo.Provider.Inventory;

namespace Kumo.Provider.Tests.Inventory;

public sealed class SimulatedGpusTests
{
    [Fact]
    public void Devnet_spec_becomes_numbered_simulated_devices()
    {
        var gpus = SimulatedGpus.Parse("2xH100-80GB,1xA100-40GB", "provider-a");

        Assert.Equal([0, 1, 2], gpus.Select(g => g.Index));
        Assert.Equal(["H100", "H100", "A100"], gpus.Select(g => g.Model));
        Assert.Equal([80L << 30, 80L << 30, 40L << 30], gpus.Select(g => g.VramBytes));
        Assert.All(gpus, g =>
        {
            Assert.True(g.Simulated);
            Assert.Equal("nvidia", g.Vendor);
            Assert.Matches("^SIM-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", g.Uuid);
            Assert.Null(g.PciBusId);
        });
        Assert.Equal(3, gpus.Select(g => g.Uuid).Distinct().Count());
    }

    [Fact]
    public void Uuids_are_deterministic_per_seed_and_index()
    {
        var first = SimulatedGpus.Parse("2xH100-80GB", "provider-a");
        var again = SimulatedGpus.Parse("1xH100-80GB, 1xRTX4090-24GB", "provider-a");
        var other = SimulatedGpus.Parse("2xH100-80GB", "provider-b");

        Assert.Equal(first.Select(g => g.Uuid), again.Select(g => g.Uuid));
        Assert.Empty(first.Select(g => g.Uuid).Intersect(other.Select(g => g.Uuid)));
        Assert.Equal(SimulatedGpus.Parse("1xT4-16GB", SimulatedGpus.DefaultSeed)[0].Uuid, SimulatedGpus.Parse("1xT4-16GB")[0].Uuid);
    }

    [Theory]
    [InlineData("H100-80GB", "H100", 80L << 30)]
    [InlineData(" 3 x A100-SXM4-40GB ", "A100-SXM4", 40L << 30)]
    [InlineData("1XL4-24GiB", "L4", 24L << 30)]
    [InlineData("1xT4-16384MiB", "T4", 16L << 30)]
    [InlineData("1xMI300X-192gb", "MI300X", 192L << 30)]
    [InlineData("1xTiny-1.5GB", "Tiny", 3L << 29)]
    public void Entry_forms(string spec, string model, long vram)
    {
        var gpu = SimulatedGpus.Parse(spec)[0];

        Assert.Equal(model, gpu.Model);
        Assert.Equal(vram, gpu.VramBytes);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Empty_spec_means_no_gpu(string spec) => Assert.Empty(SimulatedGpus.Parse(spec));

    [Theory]
    [InlineData("2xH100", "entry 1 ('2xH100')", "expected [count x]model-memory")]
    [InlineData("2xH100-80GB,", "entry 2 ('')", "expected")]
    [InlineData("2xH100-80GB,,1xA100-40GB", "entry 2", "expected")]
    [InlineData("0xH100-80GB", "entry 1", "at least 1")]
    [InlineData("2xH100-80XB", "entry 1", "GB, GiB, MB or MiB")]
    [InlineData("2xH100-0GB", "entry 1", "positive")]
    [InlineData("1xH100-2000GB", "entry 1", "at most 1 TiB")]
    [InlineData("2000xH100-80GB", "entry 1", "more than 1024")]
    [InlineData("-2xH100-80GB", "entry 1", "expected")]
    [InlineData("2xH100 80GB", "entry 1", "expected")]
    [InlineData("2*H100-80GB", "entry 1", "expected")]
    public void Malformed_specs_are_refused_naming_the_entry(string spec, string where, string why)
    {
        var error = Assert.Throws<FormatException>(() => SimulatedGpus.Parse(spec));

        Assert.Contains(where, error.Message, StringComparison.Ordinal);
        Assert.Contains(why, error.Message, StringComparison.Ordinal);
    }
}
