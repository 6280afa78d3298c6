using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using Kumo.Hardware;
using Kumo.Hub.Scheduling;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Hub.Tests.Scheduling;

public class FirstFitMatcherTests
{
    private const long GiB = 1L << 30;
    private const string H100Sxm = "NVIDIA H100 80GB HBM3";
    private const string H100Pcie = "NVIDIA H100 PCIe";
    private const string A100 = "NVIDIA A100-SXM4-40GB";

    private readonly FirstFitMatcher _matcher = new();

    [Fact]
    public void First_fit_takes_the_first_candidate_with_room_in_the_order_given()
    {
        JobSpec spec = Spec(cpu: "2", memory: "8Gi");
        ProviderCapacity small = Provider("small", memoryBytes: 4 * GiB);
        ProviderCapacity first = Provider("first");
        ProviderCapacity second = Provider("second");

        Match match = _matcher.Find(spec, [small, first, second]);

        Assert.NotNull(match.Placement);
        Assert.Equal("first", match.Placement.Provider.ProviderId);
        Assert.Equal(3, match.Candidates);
        Assert.Equal([new Exclusion("have too little memory", 1)], match.Exclusions);
    }

    [Fact]
    public void Candidates_after_the_first_fit_are_not_looked_at()
    {
        JobSpec spec = Spec();
        Match match = _matcher.Find(spec, [Provider("a"), Provider("b", memoryBytes: GiB / 2)]);

        Assert.Equal("a", match.Placement!.Provider.ProviderId);
        Assert.Empty(match.Exclusions);
        Assert.Equal("2 providers considered: none excluded", match.Explain());
    }

    [Fact]
    public void The_allocation_is_what_the_spec_asks_for_and_the_price_is_the_providers_asking_price()
    {
        JobSpec spec = Spec(cpu: "1500m", memory: "3Gi", disk: "10Gi");
        var pricing = new ProviderPricing(1_000_000, 10_000, 2_000);

        Placement placement = _matcher.Find(spec, [Provider("p", pricing: pricing)]).Placement!;

        Assert.Equal(1500, placement.Allocation.CpuMillicores);
        Assert.Equal(3 * GiB, placement.Allocation.MemoryBytes);
        Assert.Equal(10 * GiB, placement.Allocation.DiskBytes);
        Assert.Empty(placement.Allocation.GpuUuids);
        Assert.Null(placement.Allocation.GpuModel);
        Assert.Equal(15_000 + 6_000, placement.PricePerHourMicros);
        Assert.False(placement.SimulatedGpus);
    }

    [Fact]
    public void Every_constraint_excludes_under_its_own_reason_and_the_counts_add_up_to_the_candidates()
    {
        // Wants 4 cores, 16 GiB, 50 GiB of disk and 2 H100s, for at most 3 KUMO an hour. At default prices a fit
        // costs 2 × 1,200,000 + 4 × 20,000 + 16 × 5,000 = 2,560,000 µKUMO.
        JobSpec spec = Spec(cpu: "4", memory: "16Gi", disk: "50Gi", gpu: "{ count: 2, model: H100 }", maxPerHour: "3");
        GpuDevice[] twoH100 = Gpus("x", H100Sxm, H100Sxm);
        ProviderCapacity[] candidates =
        [
            Provider("no-gpu"),
            Provider("a100s", gpus: Gpus("a", A100, A100)),
            Provider("one-h100", gpus: Gpus("o", H100Sxm)),
            Provider("h100s-busy", gpus: twoH100, usedGpus: ["x-0"]),
            Provider("two-cores", cores: 2, gpus: twoH100),
            Provider("cpu-busy", cores: 8, usedCpu: 6000, gpus: twoH100),
            Provider("small-memory", memoryBytes: 8 * GiB, gpus: twoH100),
            Provider("memory-busy", memoryBytes: 32 * GiB, usedMemory: 20 * GiB, gpus: twoH100),
            Provider("small-disk", diskBytes: 10 * GiB, gpus: twoH100),
            Provider("disk-busy", diskBytes: 100 * GiB, usedDisk: 60 * GiB, gpus: twoH100),
            Provider("expensive", gpus: twoH100, pricing: new ProviderPricing(2_000_000, 20_000, 5_000)),
            Provider("no-gpu-2"),
        ];

        Match match = _matcher.Find(spec, candidates);

        Assert.Null(match.Placement);
        Assert.Equal(candidates.Length, match.Candidates);
        Assert.Equal(candidates.Length, match.Exclusions.Sum(e => e.Count));
        Assert.Equal(
            new Dictionary<string, int>
            {
                ["lack a GPU matching H100"] = 3,
                ["have fewer than 2 GPUs matching H100"] = 1,
                ["have their matching GPUs busy"] = 1,
                ["have too few CPU cores"] = 1,
                ["have their CPU busy"] = 1,
                ["have too little memory"] = 1,
                ["have their memory busy"] = 1,
                ["have too little disk"] = 1,
                ["have their disk busy"] = 1,
                ["ask more than the maximum price"] = 1,
            },
            match.Exclusions.ToDictionary(e => e.Reason, e => e.Count));
    }

    [Fact]
    public void Each_candidate_is_counted_once_under_the_first_constraint_it_fails()
    {
        // Too few cores, too little memory and too little disk at once: counted as CPU only.
        JobSpec spec = Spec(cpu: "16", memory: "64Gi", disk: "500Gi");
        Match match = _matcher.Find(spec, [Provider("tiny", cores: 2, memoryBytes: GiB, diskBytes: GiB)]);

        Assert.Equal([new Exclusion("have too few CPU cores", 1)], match.Exclusions);
    }

    [Fact]
    public void A_provider_too_small_even_when_idle_is_told_apart_from_one_that_is_busy()
    {
        JobSpec spec = Spec(cpu: "4", memory: "16Gi");
        ProviderCapacity tooSmall = Provider("p", cores: 2, memoryBytes: 8 * GiB);
        ProviderCapacity busy = Provider("q", cores: 8, memoryBytes: 32 * GiB, usedCpu: 5000);

        Assert.Equal("have too few CPU cores", _matcher.Find(spec, [tooSmall]).Exclusions.Single().Reason);
        Assert.Equal("have their CPU busy", _matcher.Find(spec, [busy]).Exclusions.Single().Reason);
        Assert.NotNull(_matcher.Find(spec, [busy.Empty()]).Placement);
        Assert.Null(_matcher.Find(spec, [tooSmall.Empty()]).Placement);
    }

    [Fact]
    public void Gpus_already_used_by_other_leases_are_skipped()
    {
        JobSpec spec = Spec(gpu: "{ count: 2, model: H100 }");
        ProviderCapacity provider = Provider("p", gpus: Gpus("g", H100Sxm, H100Sxm, H100Sxm, H100Sxm), usedGpus: ["g-0", "g-2"]);

        Allocation allocation = _matcher.Find(spec, [provider]).Placement!.Allocation;

        Assert.Equal(["g-1", "g-3"], allocation.GpuUuids);
    }

    [Fact]
    public void The_lowest_free_indices_are_taken_first()
    {
        JobSpec spec = Spec(gpu: "{ count: 2 }");
        GpuDevice[] gpus = [Gpu("z", 3, H100Sxm), Gpu("z", 1, H100Sxm), Gpu("z", 2, H100Sxm), Gpu("z", 0, H100Sxm)];

        Allocation allocation = _matcher.Find(spec, [Provider("p", gpus: gpus)]).Placement!.Allocation;

        Assert.Equal(["z-0", "z-1"], allocation.GpuUuids);
    }

    [Fact]
    public void A_lease_never_mixes_gpu_models_and_carries_the_real_model_name()
    {
        // One PCIe card first, then two SXM cards: "H100" matches all three, but only the two SXM cards go together.
        JobSpec spec = Spec(gpu: "{ count: 2, model: H100 }");
        GpuDevice[] gpus = [Gpu("m", 0, H100Pcie), Gpu("m", 1, H100Sxm), Gpu("m", 2, H100Sxm)];

        Allocation allocation = _matcher.Find(spec, [Provider("p", gpus: gpus)]).Placement!.Allocation;

        Assert.Equal(["m-1", "m-2"], allocation.GpuUuids);
        Assert.Equal(H100Sxm, allocation.GpuModel);
    }

    [Fact]
    public void A_single_gpu_lease_names_the_model_of_the_device_not_the_pattern()
    {
        JobSpec spec = Spec(gpu: "{ count: 1, model: \"h100*\" }");

        Allocation allocation = _matcher.Find(spec, [Provider("p", gpus: Gpus("s", H100Pcie))]).Placement!.Allocation;

        Assert.Equal(H100Pcie, allocation.GpuModel);
        Assert.Equal(["s-0"], allocation.GpuUuids);
    }

    [Fact]
    public void Matching_gpus_of_two_models_that_cannot_be_combined_make_a_provider_too_small_not_busy()
    {
        // Two H100s, but of different models: idle or not, this node can never hold a lease of two.
        JobSpec spec = Spec(gpu: "{ count: 2, model: H100 }");
        ProviderCapacity provider = Provider("p", gpus: [Gpu("m", 0, H100Pcie), Gpu("m", 1, H100Sxm)]);

        Match match = _matcher.Find(spec, [provider]);

        Assert.Null(match.Placement);
        string reason = match.Exclusions.Single().Reason;
        Assert.DoesNotContain("busy", reason, StringComparison.Ordinal);
        Assert.Equal("have fewer than 2 GPUs of one model matching H100", reason);
    }

    [Fact]
    public void A_model_whose_free_devices_are_too_few_gives_way_to_another_model_with_enough()
    {
        JobSpec spec = Spec(gpu: "{ count: 2, model: [H100, A100] }");
        GpuDevice[] gpus = [Gpu("k", 0, H100Sxm), Gpu("k", 1, H100Sxm), Gpu("k", 2, A100), Gpu("k", 3, A100)];
        ProviderCapacity provider = Provider("p", gpus: gpus, usedGpus: ["k-0"]);

        Allocation allocation = _matcher.Find(spec, [provider]).Placement!.Allocation;

        Assert.Equal(["k-2", "k-3"], allocation.GpuUuids);
        Assert.Equal(A100, allocation.GpuModel);
    }

    [Fact]
    public void Vendor_and_minimum_vram_narrow_the_devices_that_match()
    {
        ProviderCapacity provider = Provider("p", gpus: Gpus("v", A100));

        Assert.NotNull(_matcher.Find(Spec(gpu: "{ count: 1, vendor: nvidia, vram: 40Gi }"), [provider]).Placement);
        Assert.Equal(
            "lack a GPU matching amd any model",
            _matcher.Find(Spec(gpu: "{ count: 1, vendor: amd }"), [provider]).Exclusions.Single().Reason);
        Assert.Equal(
            "lack a GPU matching A100 with ≥ 80 GiB",
            _matcher.Find(Spec(gpu: "{ count: 1, model: A100, vram: 80Gi }"), [provider]).Exclusions.Single().Reason);
    }

    [Fact]
    public void A_price_equal_to_the_maximum_is_accepted_and_one_micro_more_is_not()
    {
        // One core at default prices plus 1 GiB: 20,000 + 5,000 = 25,000 µKUMO an hour.
        ProviderCapacity provider = Provider("p");

        Placement? atMax = _matcher.Find(Spec(cpu: "1", memory: "1Gi", maxPerHour: "\"25000u\""), [provider]).Placement;
        Match over = _matcher.Find(Spec(cpu: "1", memory: "1Gi", maxPerHour: "\"24999u\""), [provider]);

        Assert.Equal(25_000, atMax!.PricePerHourMicros);
        Assert.Equal([new Exclusion("ask more than the maximum price", 1)], over.Exclusions);
    }

    [Fact]
    public void Simulated_gpus_are_flagged_on_the_placement()
    {
        GpuDevice simulated = Gpu("sim", 0, H100Sxm) with { Simulated = true };

        Placement placement = _matcher.Find(Spec(gpu: "{ count: 1 }"), [Provider("p", gpus: [simulated])]).Placement!;

        Assert.True(placement.SimulatedGpus);
    }

    [Fact]
    public void Explain_counts_each_reason_most_common_first()
    {
        JobSpec spec = Spec(memory: "16Gi", gpu: "{ count: 1, model: H100 }");
        ProviderCapacity[] candidates =
        [
            Provider("a", memoryBytes: 8 * GiB, gpus: Gpus("a", H100Sxm)),
            Provider("b", gpus: Gpus("b", A100)),
            Provider("c"),
        ];

        Match match = _matcher.Find(spec, candidates);

        Assert.Equal("3 providers considered: 2 lack a GPU matching H100; 1 have too little memory", match.Explain());
    }

    [Fact]
    public void Explain_says_so_when_there_is_no_provider_at_all()
    {
        Match match = _matcher.Find(Spec(), []);

        Assert.Null(match.Placement);
        Assert.Empty(match.Exclusions);
        Assert.Equal("no provider is registered and online", match.Explain());
    }

    [Fact]
    public void Explain_uses_the_singular_for_one_provider_and_lists_several_patterns()
    {
        JobSpec spec = Spec(gpu: "{ count: 1, model: [\"H100*\", A100], vram: 40Gi, vendor: nvidia }");

        Match match = _matcher.Find(spec, [Provider("p")]);

        Assert.Equal("1 provider considered: 1 lack a GPU matching nvidia H100* or A100 with ≥ 40 GiB", match.Explain());
    }

    [Fact]
    public void Explain_of_a_placed_job_with_nobody_excluded_says_none_excluded()
    {
        Match match = _matcher.Find(Spec(), [Provider("p")]);

        Assert.NotNull(match.Placement);
        Assert.Equal("1 provider considered: none excluded", match.Explain());
    }

    [Fact]
    public void Holding_an_allocation_takes_its_resources_and_gpus_from_the_free_capacity()
    {
        JobSpec spec = Spec(cpu: "3", memory: "10Gi", disk: "20Gi", gpu: "{ count: 1 }");
        ProviderCapacity provider = Provider("p", cores: 8, memoryBytes: 32 * GiB, diskBytes: 100 * GiB, gpus: Gpus("h", H100Sxm, H100Sxm));

        ProviderCapacity after = provider.With(_matcher.Find(spec, [provider]).Placement!.Allocation);

        Assert.Equal(new ResourceAmounts(5000, 22 * GiB, 80 * GiB, 1), after.Free);
        Assert.Equal(new ResourceAmounts(8000, 32 * GiB, 100 * GiB, 2), after.Empty().Free);
        Assert.Equal(["h-1"], _matcher.Find(spec, [after]).Placement!.Allocation.GpuUuids);
    }

    [Fact]
    public void Free_capacity_never_goes_negative_when_more_is_used_than_exists()
    {
        ProviderCapacity overbooked = Provider("p", cores: 2, memoryBytes: GiB, diskBytes: GiB, usedCpu: 5000, usedMemory: 2 * GiB, usedDisk: 3 * GiB);

        Assert.Equal(new ResourceAmounts(0, 0, 0, 0), overbooked.Free);
    }

    [Fact]
    public void A_placement_never_exceeds_the_chosen_providers_free_capacity_nor_reuses_a_used_gpu()
    {
        Prop.ForAll(Cases(), c =>
        {
            Match match = _matcher.Find(c.Spec, c.Candidates);
            int excluded = match.Exclusions.Sum(e => e.Count);
            if (match.Placement is not { } placement)
            {
                return excluded == c.Candidates.Length && match.Candidates == c.Candidates.Length;
            }

            ProviderCapacity chosen = placement.Provider;
            int index = Array.FindIndex(c.Candidates, p => ReferenceEquals(p, chosen));
            Allocation a = placement.Allocation;
            ResourceAmounts free = chosen.Free;
            GpuDevice[] held = [.. chosen.Inventory.Gpus.Where(g => a.GpuUuids.Contains(g.Uuid))];
            int wantGpus = c.Spec.Resources.Gpu?.Count ?? 0;

            return index >= 0
                && excluded == index
                && a.CpuMillicores <= free.CpuMillicores
                && a.MemoryBytes <= free.MemoryBytes
                && a.DiskBytes <= free.DiskBytes
                && a.GpuUuids.Count <= free.Gpus
                && a.GpuUuids.Count == wantGpus
                && a.GpuUuids.Distinct().Count() == a.GpuUuids.Count
                && held.Length == a.GpuUuids.Count
                && !a.GpuUuids.Any(chosen.UsedGpuUuids.Contains)
                && held.Select(g => g.Model).Distinct().Count() <= 1
                && a.GpuModel == held.FirstOrDefault()?.Model
                && placement.PricePerHourMicros <= c.Spec.MaxPricePerHourMicros;
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>A job and some providers, drawn so that about half the jobs find a place.</summary>
    public sealed record Case(JobSpec Spec, ProviderCapacity[] Candidates)
    {
        public override string ToString() =>
            $"cpu={Spec.Resources.CpuMillicores}m mem={Spec.Resources.MemoryBytes} disk={Spec.Resources.DiskBytes} " +
            $"gpu={Spec.Resources.Gpu?.Count}x[{string.Join(",", Spec.Resources.Gpu?.Models ?? [])}] max={Spec.MaxPricePerHourMicros}; " +
            string.Join("; ", Candidates.Select(p =>
                $"{p.ProviderId}: {p.Inventory.Cpu.LogicalCores} cores used {p.UsedCpuMillicores}m, mem {p.Inventory.MemoryBytes} used {p.UsedMemoryBytes}, " +
                $"disk {p.Inventory.DiskBytes} used {p.UsedDiskBytes}, gpus [{string.Join(",", p.Inventory.Gpus.Select(g => g.Uuid + "=" + g.Model))}] used [{string.Join(",", p.UsedGpuUuids)}]"));
    }

    private static Arbitrary<Case> Cases()
    {
        string[] models = [H100Sxm, H100Pcie, A100, "NVIDIA GeForce RTX 4090"];
        string[] patterns = ["H100", "H100*", "A100", "RTX 4090", "*"];

        Gen<JobSpec> spec =
            from cores in Gen.Choose(1, 16)
            from gib in Gen.Choose(1, 64)
            from diskGib in Gen.Choose(0, 200)
            from gpuCount in Gen.Choose(0, 4)
            from pattern in Gen.Elements(patterns)
            from maxKumo in Gen.Choose(1, 8)
            select Spec(
                cpu: $"{cores * 250}m",
                memory: $"{gib}Gi",
                disk: $"{diskGib}Gi",
                gpu: gpuCount == 0 ? null : $"{{ count: {gpuCount}, model: \"{pattern}\" }}",
                maxPerHour: maxKumo.ToString(CultureInfo.InvariantCulture));

        Gen<ProviderCapacity> provider =
            from id in Gen.Choose(0, 1_000_000)
            from cores in Gen.Choose(1, 8)
            from usedCpu in Gen.Choose(0, 8000)
            from gib in Gen.Choose(1, 64)
            from usedGib in Gen.Choose(0, 64)
            from diskGib in Gen.Choose(0, 200)
            from usedDiskGib in Gen.Choose(0, 200)
            from gpuModels in Gen.Elements(models).ArrayOf().Select(a => a.Take(6).ToArray())
            from used in Gen.Choose(0, 63)
            from perGpu in Gen.Choose(0, 3_000_000)
            select Provider(
                $"p{id}",
                cores: cores,
                memoryBytes: gib * GiB,
                diskBytes: diskGib * GiB,
                usedCpu: usedCpu,
                usedMemory: usedGib * GiB,
                usedDisk: usedDiskGib * GiB,
                gpus: [.. gpuModels.Select((m, i) => Gpu($"p{id}", i, m))],
                usedGpus: [.. gpuModels.Select((_, i) => $"p{id}-{i}").Where((_, i) => (used & (1 << i)) != 0)],
                pricing: new ProviderPricing(perGpu, 20_000, 5_000));

        return (from s in spec
                from ps in provider.ArrayOf().Select(a => a.Take(6).ToArray())
                select new Case(s, ps)).ToArbitrary();
    }

    private static JobSpec Spec(string cpu = "1", string memory = "1Gi", string disk = "1Gi", string? gpu = null, string maxPerHour = "100")
    {
        string yaml = $"""
            version: kumo/v1
            name: t
            resources:
              cpu: {cpu}
              memory: {memory}
              disk: {disk}
            {(gpu is null ? "" : $"  gpu: {gpu}")}
            workload:
              exec:
                command: /bin/true
            price:
              maxPerHour: {maxPerHour}
            timeout: 1m
            """;
        JobSpecReadResult read = JobSpecReader.Read(yaml, "t.yaml");
        return read.Spec ?? throw new InvalidOperationException($"test spec does not read: {read}");
    }

    private static ProviderCapacity Provider(
        string id,
        int cores = 8,
        long memoryBytes = 32 * GiB,
        long diskBytes = 100 * GiB,
        GpuDevice[]? gpus = null,
        ProviderPricing? pricing = null,
        int usedCpu = 0,
        long usedMemory = 0,
        long usedDisk = 0,
        string[]? usedGpus = null)
    {
        var inventory = new HardwareInventory(new CpuInfo("Test CPU", cores, cores), memoryBytes, diskBytes, gpus ?? [], "Linux", "x64");
        return new ProviderCapacity(
            id,
            id,
            inventory,
            pricing ?? ProviderPricing.Default,
            usedCpu,
            usedMemory,
            usedDisk,
            new HashSet<string>(usedGpus ?? [], StringComparer.Ordinal));
    }

    /// <summary>Devices with uuids PREFIX-0, PREFIX-1, ... in index order.</summary>
    private static GpuDevice[] Gpus(string prefix, params string[] models) =>
        [.. models.Select((m, i) => Gpu(prefix, i, m))];

    private static GpuDevice Gpu(string prefix, int index, string model) =>
        new(index, "nvidia", model, model.Contains("40GB", StringComparison.Ordinal) ? 40 * GiB : 80 * GiB, $"{prefix}-{index}", null, null, null, Simulated: false);
}
