namespace Kumo.Market.Simulation;

/// <summary>
/// A realistic, seeded fleet: CPU-only hosts, gamers' RTX 4090s, workstations of four GPUs, 8-GPU HGX servers
/// and racks of 16–64 datacentre GPUs (several 8-GPU hosts in one zone registered as one provider), across six
/// regions of five zones each, with spread prices, floors, reputations, benchmark tiers and some attestations.
/// The GPU total is exactly what was asked.
/// </summary>
internal static class SimulatedFleet
{
    public const long Gib = 1L << 30;

    public static readonly string[] Regions = ["us-east", "us-west", "eu-central", "eu-west", "ap-northeast", "ap-southeast"];
    public const string Auditor0 = "kumo1auditor0confidential";
    public const string Auditor1 = "kumo1auditor1datacenter";

    /// <summary>A GPU kind with its typical price range (µKUMO per GPU-hour) and benchmark tier.</summary>
    public sealed record Kind(string Model, string Pattern, long VramGib, string Interface, long MinPrice, long MaxPrice, int Tier);

    public static readonly Kind H100Sxm = new("NVIDIA H100 80GB HBM3", "H100*HBM3", 80, "sxm", 1_200_000, 2_500_000, 1000);
    public static readonly Kind H100Pcie = new("NVIDIA H100 PCIe", "H100 PCIe", 80, "pcie", 1_000_000, 2_000_000, 800);
    public static readonly Kind A100Sxm = new("NVIDIA A100-SXM4-80GB", "A100-SXM4*", 80, "sxm", 900_000, 1_600_000, 600);
    public static readonly Kind A100Pcie = new("NVIDIA A100-PCIE-40GB", "A100-PCIE*", 40, "pcie", 700_000, 1_200_000, 500);
    public static readonly Kind L40S = new("NVIDIA L40S", "L40S", 48, "pcie", 600_000, 1_000_000, 450);
    public static readonly Kind Rtx4090 = new("NVIDIA GeForce RTX 4090", "RTX 4090", 24, "pcie", 250_000, 500_000, 350);

    private enum Category { CpuOnly, Consumer, Workstation, Hgx, Rack }

    private sealed class Host
    {
        public Category Category { get; set; }
        public Kind? Kind { get; set; }
        public int Gpus { get; set; }
    }

    public static List<MarketProvider> Build(int providers, int gpus, Random rng)
    {
        if (providers <= 0 || gpus < 0 || gpus > providers * 64L)
        {
            throw new ArgumentOutOfRangeException(nameof(gpus), $"{gpus} GPUs cannot be spread over {providers} providers of at most 64");
        }

        var hosts = new List<Host>(providers);
        for (int i = 0; i < providers; i++)
        {
            hosts.Add(Draw(rng));
        }

        Adjust(hosts, gpus, rng);
        var fleet = new List<MarketProvider>(providers);
        for (int i = 0; i < hosts.Count; i++)
        {
            fleet.Add(Provider(i, hosts[i], rng));
        }

        return fleet;
    }

    private static Host Draw(Random rng)
    {
        double u = rng.NextDouble();
        return u switch
        {
            < 0.08 => new Host { Category = Category.CpuOnly },
            < 0.30 => new Host { Category = Category.Consumer, Kind = Rtx4090, Gpus = rng.Next(1, 3) },
            < 0.42 => new Host { Category = Category.Workstation, Kind = Pick(rng, (4, L40S), (3, Rtx4090), (2, A100Pcie)), Gpus = 4 },
            < 0.85 => new Host { Category = Category.Hgx, Kind = Pick(rng, (4, H100Sxm), (3, A100Sxm), (2, H100Pcie), (1, L40S)), Gpus = 8 },
            _ => new Host { Category = Category.Rack, Kind = Pick(rng, (3, H100Sxm), (2, A100Sxm)), Gpus = 8 * rng.Next(2, 5) },
        };
    }

    /// <summary>Adds or removes GPUs until the total is exact: whole 8-GPU hosts to and from racks first, then single GPUs on small hosts.</summary>
    private static void Adjust(List<Host> hosts, int target, Random rng)
    {
        long diff = target - hosts.Sum(h => (long)h.Gpus);
        int guard = 0;
        while (diff != 0)
        {
            if (++guard > 10_000_000)
            {
                throw new InvalidOperationException("could not reach the GPU total");
            }

            Host h = hosts[rng.Next(hosts.Count)];
            if (diff >= 8 && h.Category is Category.Hgx or Category.Rack && h.Gpus <= 56)
            {
                h.Category = Category.Rack;
                h.Gpus += 8;
                diff -= 8;
            }
            else if (diff <= -8 && h.Category == Category.Rack)
            {
                h.Gpus -= 8;
                h.Category = h.Gpus > 8 ? Category.Rack : Category.Hgx;
                diff += 8;
            }
            else if (diff > 0 && h.Category is Category.Consumer or Category.Workstation && h.Gpus < 8)
            {
                int add = (int)Math.Min(diff, 8 - h.Gpus);
                h.Gpus += add;
                diff -= add;
            }
            else if (diff < 0 && h.Category is Category.Consumer or Category.Workstation or Category.Hgx && h.Gpus > 1)
            {
                int remove = (int)Math.Min(-diff, h.Gpus - 1);
                h.Gpus -= remove;
                diff += remove;
            }
            else if (diff > 0 && h.Category == Category.CpuOnly && guard > 1_000)
            {
                h.Category = Category.Consumer;
                h.Kind = Rtx4090;
                h.Gpus = 1;
                diff--;
            }
            else if (diff < 0 && h.Gpus == 1 && guard > 1_000)
            {
                h.Category = Category.CpuOnly;
                h.Kind = null;
                h.Gpus = 0;
                diff++;
            }
        }
    }

    private static MarketProvider Provider(int index, Host host, Random rng)
    {
        string id = $"kumo1sim{index:D6}";
        string region = Regions[rng.Next(Regions.Length)];
        string zone = $"{region}-{(char)('a' + rng.Next(5))}";
        var gpus = new List<MarketGpu>(host.Gpus);
        for (int j = 0; j < host.Gpus; j++)
        {
            Kind kind = host.Kind!;
            gpus.Add(new MarketGpu($"GPU-{index:x6}-{j:x2}-sim", "nvidia", kind.Model, kind.VramGib * Gib, kind.Interface, Simulated: false));
        }

        (int cores, long memoryGib, long diskGib) = host.Category switch
        {
            Category.CpuOnly => (8 * rng.Next(2, 17), 64L * rng.Next(1, 9), 500L * rng.Next(1, 9)),
            Category.Consumer => (16 + (8 * rng.Next(0, 3)) + (host.Gpus * 8), 64L + (32 * host.Gpus), 1000L + (500 * host.Gpus)),
            Category.Workstation => (16 * host.Gpus, 64L * host.Gpus, 1000L * host.Gpus),
            _ => (host.Gpus * rng.Next(14, 29), host.Gpus * 128L * rng.Next(1, 3), host.Gpus * 1000L * rng.Next(1, 5)),
        };

        long gpuPrice = host.Kind is { } k ? Between(rng, k.MinPrice, k.MaxPrice) : 0;
        var perModel = new List<ModelPrice>();
        if (host.Kind is { } kind1)
        {
            perModel.Add(new ModelPrice(kind1.Pattern, gpuPrice));
        }

        long floor = host.Kind is null ? Between(rng, 10_000, 60_000) : gpuPrice * rng.Next(10, 61) / 100;
        var pricing = new PricingPolicy(
            perModel,
            DefaultPerGpuHour: gpuPrice == 0 ? 1_000_000 : gpuPrice,
            PerCpuCoreHour: Between(rng, 3_000, 12_000),
            PerGibMemoryHour: Between(rng, 200, 1_000),
            PerGibDiskHour: Between(rng, 2, 20),
            FloorPerHour: floor);

        double u = rng.NextDouble();
        double reputation = u < 0.7 ? 0.95 + (0.05 * rng.NextDouble()) : u < 0.9 ? 0.8 + (0.15 * rng.NextDouble()) : 0.4 + (0.4 * rng.NextDouble());
        int tier = rng.NextDouble() < 0.1 ? 0 : host.Kind is { } k2 ? k2.Tier * rng.Next(90, 111) / 100 : cores * 5;
        var attested = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        if (host.Category is Category.Hgx or Category.Rack && rng.NextDouble() < 0.2)
        {
            attested[Auditor0] = new Dictionary<string, string>(StringComparer.Ordinal) { ["tee"] = "h100-cc" };
        }

        if (host.Category != Category.Consumer && rng.NextDouble() < 0.3)
        {
            attested[Auditor1] = new Dictionary<string, string>(StringComparer.Ordinal) { ["datacenter"] = "tier3" };
        }

        return new MarketProvider(id, $"sim-{host.Category.ToString().ToLowerInvariant()}-{index}", gpus, cores * 1000, memoryGib * Gib, diskGib * Gib, pricing)
        {
            Region = region,
            LatencyZone = zone,
            Reputation = Math.Round(reputation, 4),
            Online = rng.NextDouble() >= 0.02,
            Bonded = rng.NextDouble() >= 0.03,
            PerformanceTier = tier,
            Attested = attested,
        };
    }

    private static Kind Pick(Random rng, params (int Weight, Kind Kind)[] choices)
    {
        int total = choices.Sum(c => c.Weight);
        int roll = rng.Next(total);
        foreach ((int weight, Kind kind) in choices)
        {
            if ((roll -= weight) < 0)
            {
                return kind;
            }
        }

        return choices[^1].Kind;
    }

    public static long Between(Random rng, long min, long max) => min + (long)(rng.NextDouble() * (max - min));
}
