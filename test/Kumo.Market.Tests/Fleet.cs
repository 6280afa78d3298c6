namespace Kumo.Market.Tests;

/// <summary>Small builders for providers and orders, with defaults that make every test say only what it is about.</summary>
internal static class Fleet
{
    public const long Gib = 1L << 30;
    public const long K = 1_000_000;
    public const long Now = 1_767_225_600_000;
    public const string H100 = "NVIDIA H100 80GB HBM3";
    public const string H100Pcie = "NVIDIA H100 PCIe";
    public const string A100 = "NVIDIA A100-SXM4-80GB";
    public const string A100Pcie40 = "NVIDIA A100-PCIE-40GB";
    public const string Rtx4090 = "NVIDIA GeForce RTX 4090";
    public const string Mi300 = "AMD Instinct MI300X";

    public static MarketGpu Gpu(string uuid, string model = H100, long vramGib = 80, string? iface = "sxm", string vendor = "nvidia", bool simulated = false) =>
        new(uuid, vendor, model, vramGib * Gib, iface, simulated);

    /// <summary>A provider with <paramref name="gpus"/> GPUs of one model, uuids "{id}-g{n}", priced flat per GPU.</summary>
    public static MarketProvider Provider(
        string id,
        int gpus = 8,
        string model = H100,
        long perGpu = 2 * K,
        int cores = 64,
        long memoryGib = 512,
        long diskGib = 2_000,
        string region = "eu-central",
        string zone = "eu-central-a",
        double reputation = 1,
        long vramGib = 80,
        string? iface = "sxm",
        string vendor = "nvidia",
        long floor = 0) =>
        new(id, id, [.. Enumerable.Range(0, gpus).Select(n => Gpu($"{id}-g{n}", model, vramGib, iface, vendor))], cores * 1000, memoryGib * Gib, diskGib * Gib,
            PricingPolicy.Flat(perGpu, floorPerHour: floor))
        {
            Region = region,
            LatencyZone = zone,
            Reputation = reputation,
        };

    public static MarketProvider CpuProvider(string id, int cores = 32, long memoryGib = 128, long diskGib = 1_000, long perCore = 10_000, string region = "eu-central", double reputation = 1) =>
        new(id, id, [], cores * 1000, memoryGib * Gib, diskGib * Gib, PricingPolicy.Flat(0, perCpuCoreHour: perCore))
        {
            Region = region,
            LatencyZone = region + "-a",
            Reputation = reputation,
        };

    public static NodeRequirement Gpus(int count, params string[] models) =>
        NodeRequirement.WithGpus(count, models, 4_000 * count, 16 * Gib * count, 100 * Gib * count);

    public static OrderRequest Order(string id, NodeRequirement node, long max = 1_000 * K) => new(id, node, max);

    public static OrderRequest Order(string id, int gpus = 1, params string[] models) => new(id, Gpus(gpus, models), 1_000 * K);

    public static MarketBook Book(params MarketProvider[] providers)
    {
        var book = new MarketBook();
        foreach (MarketProvider p in providers)
        {
            book.Upsert(p);
        }

        return book;
    }

    /// <summary>Opens the order, has every candidate bid, reserves the bids and returns them.</summary>
    public static List<Bid> Auction(MarketBook book, OrderRequest order, int limit = 100, long now = Now, long ttl = 300_000)
    {
        book.OpenOrder(order, now);
        var bids = new List<Bid>();
        foreach (Candidate c in book.FindCandidates(order, now, limit))
        {
            Bid bid = BidEngine.Quote(c.Provider, order, book, now, ttl) ?? throw new InvalidOperationException($"candidate {c.Provider.Id} did not bid");
            Assert.True(book.TryReserve(bid, now, out string? reason), reason);
            bids.Add(bid);
        }

        return bids;
    }

    public static IReadOnlyList<string> Ids(IEnumerable<Candidate> candidates) => [.. candidates.Select(c => c.Provider.Id)];
}
