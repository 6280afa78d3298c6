using static Kumo.Market.Tests.Fleet;

namespace Kumo.Market.Tests;

/// <summary>Every constraint an order can state, each shown to exclude exactly the providers it should, in candidates and in explanations alike.</summary>
public sealed class MatchingTests
{
    private static IReadOnlyList<string> Find(MarketBook book, OrderRequest order, int limit = 100) => Ids(book.FindCandidates(order, Now, limit));

    private static void AssertExcluded(MarketBook book, OrderRequest order, string expectedReason, params string[] stillIn)
    {
        Assert.Equal(stillIn.Order(StringComparer.Ordinal), Find(book, order).Order(StringComparer.Ordinal));
        Feasibility f = book.Explain(order, Now);
        Assert.Equal(stillIn.Length, f.CanRunNow);
        Exclusion exclusion = Assert.Single(f.Exclusions);
        Assert.Equal(expectedReason, exclusion.Reason);
        Assert.Equal(book.ProviderCount - stillIn.Length, exclusion.Count);
        int count = book.ProviderCount - stillIn.Length;
        Assert.Contains($"{count} {(count == 1 ? MarketBook.Singular(expectedReason) : expectedReason)}", f.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public void Vendor_is_matched_case_insensitively()
    {
        var book = Book(Provider("nv", model: H100), Provider("amd", model: Mi300, vendor: "AMD", iface: null));
        AssertExcluded(book, Order("o", Gpus(1) with { Vendor = "amd" }), "lack a GPU matching amd any model", "amd");
        Assert.Equal(["nv"], Find(book, Order("o", Gpus(1) with { Vendor = "NVIDIA" })));
    }

    [Fact]
    public void Model_patterns_match_words_wildcards_and_lists_and_the_allocation_names_the_real_model()
    {
        var book = Book(
            Provider("h100", model: H100),
            Provider("h100pcie", model: H100Pcie, iface: "pcie"),
            Provider("a100", model: A100),
            Provider("a100-40", model: A100Pcie40, vramGib: 40, iface: "pcie"),
            Provider("rtx", model: Rtx4090, vramGib: 24, iface: "pcie"));
        Assert.Equal(["h100", "h100pcie"], Find(book, Order("o", 1, "H100")).Order(StringComparer.Ordinal));
        Assert.Equal(["h100"], Find(book, Order("o", 1, "H100*HBM3")));
        Assert.Equal(["a100-40"], Find(book, Order("o", 1, "A100*40GB")));
        Assert.Empty(Find(book, Order("o", 1, "A10")));
        Assert.Equal(["a100", "a100-40", "rtx"], Find(book, Order("o", 1, "A100", "RTX 4090")).Order(StringComparer.Ordinal));
        Assert.Equal(5, Find(book, Order("o", 1)).Count);

        Candidate c = Assert.Single(book.FindCandidates(Order("o", 1, "A100*40GB"), Now, 10));
        Assert.Equal(A100Pcie40, c.Allocation.GpuModel);
        Assert.Equal(["a100-40-g0"], c.Allocation.GpuUuids);
        AssertExcluded(book, Order("o", 1, "B200"), "lack a GPU matching B200");
    }

    [Fact]
    public void Vram_interface_and_count_are_per_node()
    {
        var book = Book(
            Provider("sxm80", gpus: 8, model: H100),
            Provider("pcie40", gpus: 8, model: A100Pcie40, vramGib: 40, iface: "pcie"),
            Provider("small", gpus: 2, model: H100));
        AssertExcluded(book, Order("o", Gpus(1) with { MinVramBytes = 80 * Gib }), "lack a GPU matching any model with ≥ 80 GiB", "sxm80", "small");
        AssertExcluded(book, Order("o", Gpus(1) with { Interface = "SXM" }), "lack a GPU matching any model (SXM)", "sxm80", "small");
        AssertExcluded(book, Order("o", Gpus(4)), "have fewer than 4 GPUs of one model matching any model", "sxm80", "pcie40");
    }

    [Fact]
    public void A_node_never_mixes_models()
    {
        var mixed = new MarketProvider("mixed", "mixed", [Gpu("m0", H100), Gpu("m1", H100), Gpu("m2", A100), Gpu("m3", A100)], 64_000, 512 * Gib, 2000 * Gib, PricingPolicy.Flat(K));
        var book = Book(mixed);
        AssertExcluded(book, Order("o", 3), "have fewer than 3 GPUs of one model matching any model");
        Candidate c = Assert.Single(book.FindCandidates(Order("o", 2), Now, 10));
        Assert.Single(c.Allocation.GpuUuids.Select(u => mixed.Gpus.Single(g => g.Uuid == u).Model).Distinct());
    }

    [Fact]
    public void Cpu_memory_and_disk_must_fit_the_node()
    {
        var book = Book(Provider("big", cores: 128, memoryGib: 1024, diskGib: 8000), Provider("few-cores", cores: 8), Provider("little-mem", memoryGib: 32), Provider("little-disk", diskGib: 100));
        NodeRequirement node = Gpus(1) with { CpuMillicores = 16_000 };
        AssertExcluded(book, Order("o", node), "have too few CPU cores", "big", "little-mem", "little-disk");
        node = Gpus(1) with { MemoryBytes = 64 * Gib };
        AssertExcluded(book, Order("o", node), "have too little memory", "big", "few-cores", "little-disk");
        node = Gpus(1) with { DiskBytes = 500 * Gib };
        AssertExcluded(book, Order("o", node), "have too little disk", "big", "few-cores", "little-mem");
    }

    [Fact]
    public void Cpu_only_orders_match_any_provider_with_room()
    {
        var book = Book(CpuProvider("cpu", cores: 16), Provider("gpu", cores: 64));
        Assert.Equal(["cpu", "gpu"], Find(book, Order("o", NodeRequirement.CpuOnly(8_000, 16 * Gib, 10 * Gib))).Order(StringComparer.Ordinal));
        AssertExcluded(book, Order("o", NodeRequirement.CpuOnly(32_000, 16 * Gib, 10 * Gib)), "have too few CPU cores", "gpu");
        Candidate c = book.FindCandidates(Order("o", NodeRequirement.CpuOnly(8_000, 16 * Gib, 10 * Gib)), Now, 1).Single();
        Assert.Empty(c.Allocation.GpuUuids);
        Assert.Null(c.Allocation.GpuModel);
    }

    [Fact]
    public void Region_reputation_exclusion_and_attestation_filter_providers()
    {
        var attested = Provider("attested") with
        {
            Attested = new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                ["kumo1auditor"] = new Dictionary<string, string> { ["tee"] = "h100-cc", ["dc"] = "tier3" },
            },
        };
        var other = Provider("other-auditor") with
        {
            Attested = new Dictionary<string, IReadOnlyDictionary<string, string>>
            {
                ["kumo1someone"] = new Dictionary<string, string> { ["tee"] = "h100-cc" },
            },
        };
        var book = Book(attested, other, Provider("us", region: "us-east", zone: "us-east-a"), Provider("shaky", reputation: 0.5));

        AssertExcluded(book, Order("o", 1) with { Regions = ["US-East"] }, "are outside US-East", "us");
        AssertExcluded(book, Order("o", 1) with { MinReputation = 0.8 }, "are below reputation 0.8", "attested", "other-auditor", "us");
        AssertExcluded(book, Order("o", 1) with { ExcludedProviders = new HashSet<string> { "shaky", "us" } }, "are excluded by the order", "attested", "other-auditor");
        var tee = new Dictionary<string, string> { ["tee"] = "h100-cc" };
        AssertExcluded(book, Order("o", 1) with { Auditor = "kumo1auditor", Attested = tee }, "lack an attestation of tee=h100-cc by kumo1auditor", "attested");
        AssertExcluded(book, Order("o", 1) with { Attested = tee }, "lack an attestation of tee=h100-cc", "attested", "other-auditor");
        AssertExcluded(book, Order("o", 1) with { Attested = new Dictionary<string, string> { ["tee"] = "sev-snp" } }, "lack an attestation of tee=sev-snp");
    }

    [Fact]
    public void Offline_and_unbonded_providers_are_never_candidates()
    {
        var book = Book(Provider("ok"), Provider("off"), Provider("unbonded"));
        book.SetOnline("off", false);
        book.SetBonded("unbonded", false);
        Assert.Equal(["ok"], Find(book, Order("o", 1)));
        Feasibility f = book.Explain(Order("o", 1), Now);
        Assert.Equal(1, f.Exclusions.Single(e => e.Reason == "are offline").Count);
        Assert.Equal(1, f.Exclusions.Single(e => e.Reason == "have too little stake bonded").Count);
        book.SetOnline("off", true);
        Assert.Equal(2, Find(book, Order("o", 1)).Count);
    }

    [Fact]
    public void Candidates_come_best_first_by_reputation_adjusted_quote()
    {
        var book = Book(
            Provider("cheap-shaky", perGpu: 1 * K, reputation: 0.2),   // 1.0 / 0.6 = 1.67
            Provider("fair", perGpu: 1_500_000, reputation: 1),        // 1.5
            Provider("dear", perGpu: 3 * K, reputation: 1),            // 3.0
            Provider("cheap-good", perGpu: 1_200_000, reputation: 0.9)); // 1.2 / 0.95 = 1.26
        NodeRequirement bare = NodeRequirement.WithGpus(1, [], 0, 0, 0);
        IReadOnlyList<Candidate> found = book.FindCandidates(Order("o", bare, 10 * K), Now, 10);
        Assert.Equal(["cheap-good", "fair", "cheap-shaky", "dear"], Ids(found));
        Assert.Equal(1_200_000, found[0].QuotePerNodeHour);
        Assert.Equal(["cheap-good", "fair"], Ids(book.FindCandidates(Order("o", bare, 10 * K), Now, 2)));
        // Above the maximum: not a candidate at all.
        Assert.Equal(["cheap-good", "cheap-shaky"], Ids(book.FindCandidates(Order("o", bare, 1_400_000), Now, 10)));
    }

    [Fact]
    public void Busy_capacity_is_not_offered_but_counts_when_idle()
    {
        var book = Book(Provider("p", gpus: 2));
        List<Bid> bids = Auction(book, Order("first", 2));
        Assert.Single(bids);
        Assert.Empty(Find(book, Order("second", 1)));
        Feasibility f = book.Explain(Order("second", 1), Now);
        Assert.Equal(0, f.CanRunNow);
        Assert.Equal(1, f.CanRunWhenIdle);
        Assert.Equal("have their matching GPUs busy", Assert.Single(f.Exclusions).Reason);
    }
}
