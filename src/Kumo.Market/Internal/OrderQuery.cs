namespace Kumo.Market.Internal;

/// <summary>Why a provider cannot host a node of an order, in the order the constraints are checked; Ok when it can.</summary>
internal enum Verdict : byte
{
    Ok,
    Offline,
    Unbonded,
    Excluded,
    OutsideRegions,
    BelowReputation,
    NotAttested,
    NoMatchingGpu,
    TooFewGpus,
    TooFewCores,
    TooLittleMemory,
    TooLittleDisk,
    NoPerformanceTier,
    FloorAboveMarketPrice,
    FloorAbovePerformancePrice,
    AboveMax,
    GpusBusy,
    CpuBusy,
    MemoryBusy,
    DiskBusy,
}

/// <summary>A provider against an order: the verdict, and when Ok the cheapest usable group, its node quote and how many nodes fit.</summary>
internal readonly record struct Evaluation(Verdict Verdict, int Group, long Quote, int Nodes)
{
    public bool Ok => Verdict == Verdict.Ok;

    public static Evaluation Fail(Verdict verdict) => new(verdict, -1, 0, 0);
}

/// <summary>
/// One order, prepared for evaluating providers: which GPU kinds fit, market prices looked up once, and the
/// pricing rules of its mode. The single place that decides whether a provider can host a node and at what
/// price: <see cref="MarketBook.FindCandidates"/>, <see cref="MarketBook.Explain"/>, <see cref="BidEngine"/> and
/// the reservation checks all go through it, so a candidate always bids what it was found at.
/// </summary>
internal sealed class OrderQuery
{
    public const string CpuModel = "cpu";

    private readonly bool[] _fits;
    private readonly Func<string, long?> _marketPrice;
    private readonly HashSet<string>? _regions;
    private readonly long?[] _prices;
    private readonly bool[] _priced;
    private long? _cpuPrice;
    private bool _cpuPriced;

    public OrderQuery(OrderRequest order, ModelTable table, Func<string, long?> marketPrice)
    {
        Order = order;
        Node = order.Node;
        Gpus = order.Node.Gpus;
        Share = order.MaxPerNodeHour;
        _fits = Gpus > 0 ? table.Fits(order.Node) : [];
        _prices = new long?[_fits.Length];
        _priced = new bool[_fits.Length];
        _marketPrice = marketPrice;
        _regions = order.Regions.Count == 0 ? null : new HashSet<string>(order.Regions, StringComparer.OrdinalIgnoreCase);
    }

    public OrderRequest Order { get; }
    public NodeRequirement Node { get; }
    public int Gpus { get; }

    /// <summary>The most one node may ask: ⌊max / nodes⌋.</summary>
    public long Share { get; }

    public bool Fits(ModelInfo model) => model.Id < _fits.Length && _fits[model.Id];

    public long? MarketPrice(ModelInfo model)
    {
        if (!_priced[model.Id])
        {
            _prices[model.Id] = _marketPrice(model.Model);
            _priced[model.Id] = true;
        }

        return _prices[model.Id];
    }

    public long? CpuMarketPrice()
    {
        if (!_cpuPriced)
        {
            _cpuPrice = _marketPrice(CpuModel);
            _cpuPriced = true;
        }

        return _cpuPrice;
    }

    /// <summary>Provider-level constraints: state, exclusion, region, reputation, attestation.</summary>
    public Verdict CheckProvider(MarketProvider p)
    {
        if (!p.Online)
        {
            return Verdict.Offline;
        }

        if (!p.Bonded)
        {
            return Verdict.Unbonded;
        }

        if (Order.ExcludedProviders.Count > 0 && Order.ExcludedProviders.Contains(p.Id))
        {
            return Verdict.Excluded;
        }

        if (_regions is not null && !_regions.Contains(p.Region))
        {
            return Verdict.OutsideRegions;
        }

        if (p.Reputation < Order.MinReputation)
        {
            return Verdict.BelowReputation;
        }

        return Attested(p) ? Verdict.Ok : Verdict.NotAttested;
    }

    private bool Attested(MarketProvider p)
    {
        if (Order.Auditor is null && Order.Attested.Count == 0)
        {
            return true;
        }

        if (Order.Auditor is { } auditor)
        {
            return p.Attested.TryGetValue(auditor, out IReadOnlyDictionary<string, string>? attributes) && Covers(attributes);
        }

        return p.Attested.Values.Any(Covers);
    }

    private bool Covers(IReadOnlyDictionary<string, string> attributes) =>
        Order.Attested.All(a => attributes.TryGetValue(a.Key, out string? value) && string.Equals(value, a.Value, StringComparison.Ordinal));

    /// <summary>
    /// Whether <paramref name="s"/> can host a node: idle = as if nothing were reserved or leased. Constraints in
    /// order: provider state, GPU kind and count, host size, price, then (not idle) what is busy now.
    /// </summary>
    public Evaluation Evaluate(ProviderState s, bool idle)
    {
        MarketProvider p = s.Provider;
        Verdict verdict = CheckProvider(p);
        if (verdict != Verdict.Ok)
        {
            return Evaluation.Fail(verdict);
        }

        int g = Gpus;
        if (g > 0)
        {
            bool matched = false, bigEnough = false;
            foreach (GpuGroup group in s.Groups)
            {
                if (Fits(group.Model))
                {
                    matched = true;
                    bigEnough |= group.Gpus.Length >= g;
                }
            }

            if (!matched)
            {
                return Evaluation.Fail(Verdict.NoMatchingGpu);
            }

            if (!bigEnough)
            {
                return Evaluation.Fail(Verdict.TooFewGpus);
            }
        }

        if (p.CpuMillicores < Node.CpuMillicores)
        {
            return Evaluation.Fail(Verdict.TooFewCores);
        }

        if (p.MemoryBytes < Node.MemoryBytes)
        {
            return Evaluation.Fail(Verdict.TooLittleMemory);
        }

        if (p.DiskBytes < Node.DiskBytes)
        {
            return Evaluation.Fail(Verdict.TooLittleDisk);
        }

        int best = -1;
        long bestQuote = 0;
        long gpuNodes = long.MaxValue;
        if (g > 0)
        {
            // The host part is the same for every group; it is computed only where a quote needs it.
            Int128? host = null;
            Verdict priceFailure = Verdict.Ok;
            bool priced = false;
            gpuNodes = 0;
            for (int i = 0; i < s.Groups.Length; i++)
            {
                GpuGroup group = s.Groups[i];
                if (!Fits(group.Model) || group.Gpus.Length < g)
                {
                    continue;
                }

                Verdict v = GroupQuote(s, group, ref host, out long quote);
                if (v != Verdict.Ok)
                {
                    priceFailure = priceFailure == Verdict.Ok ? v : priceFailure;
                    continue;
                }

                priced = true;
                int nodes = (idle ? group.Gpus.Length : group.Free) / g;
                if (nodes == 0)
                {
                    continue;
                }

                gpuNodes += nodes;
                if (best < 0 || quote < bestQuote)
                {
                    best = i;
                    bestQuote = quote;
                }
            }

            if (!priced)
            {
                return Evaluation.Fail(priceFailure);
            }

            if (gpuNodes == 0)
            {
                return Evaluation.Fail(Verdict.GpusBusy);
            }
        }
        else
        {
            Verdict v = CpuQuote(s, out bestQuote);
            if (v != Verdict.Ok)
            {
                return Evaluation.Fail(v);
            }
        }

        long cpu = idle ? p.CpuMillicores : s.FreeCpu;
        long memory = idle ? p.MemoryBytes : s.FreeMemory;
        long disk = idle ? p.DiskBytes : s.FreeDisk;
        if (cpu < Node.CpuMillicores)
        {
            return Evaluation.Fail(Verdict.CpuBusy);
        }

        if (memory < Node.MemoryBytes)
        {
            return Evaluation.Fail(Verdict.MemoryBusy);
        }

        if (disk < Node.DiskBytes)
        {
            return Evaluation.Fail(Verdict.DiskBusy);
        }

        long fit = Math.Min(gpuNodes, Order.Nodes);
        fit = Node.CpuMillicores > 0 ? Math.Min(fit, cpu / Node.CpuMillicores) : fit;
        fit = Node.MemoryBytes > 0 ? Math.Min(fit, memory / Node.MemoryBytes) : fit;
        fit = Node.DiskBytes > 0 ? Math.Min(fit, disk / Node.DiskBytes) : fit;
        return new Evaluation(Verdict.Ok, best, bestQuote, (int)fit);
    }

    /// <summary>
    /// The node quote of a group by the order's mode, and whether the provider may ask it: auction = the
    /// provider's policy (floored); market = the model's market price × GPUs if that meets the provider's floor
    /// (no market price yet: the policy); performance = tier × rate × GPUs if the tier is measured and the price
    /// meets the floor. Never above the order's per-node share.
    /// </summary>
    public Verdict GroupQuote(ProviderState s, GpuGroup group, ref Int128? host, out long quote)
    {
        MarketProvider p = s.Provider;
        long floor = p.Pricing.FloorPerHour;
        switch (Order.Mode)
        {
            case PricingMode.Market when MarketPrice(group.Model) is { } price:
                quote = Saturate((Int128)price * Gpus);
                if (quote < floor)
                {
                    return Verdict.FloorAboveMarketPrice;
                }

                break;
            case PricingMode.Performance:
                if (p.PerformanceTier <= 0)
                {
                    quote = 0;
                    return Verdict.NoPerformanceTier;
                }

                quote = Saturate((Int128)p.PerformanceTier * Order.PerformanceRatePerTierHour!.Value * Math.Max(1, Gpus));
                if (quote < floor)
                {
                    return Verdict.FloorAbovePerformancePrice;
                }

                break;
            default:
                host ??= p.Pricing.HostPart(Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes);
                quote = p.Pricing.Floored(((Int128)Gpus * group.PerGpuHour) + host.Value);
                break;
        }

        return quote > Share ? Verdict.AboveMax : Verdict.Ok;
    }

    /// <summary>The quote of a CPU-only node, by the same rules (the market price of "cpu" is per core-hour).</summary>
    public Verdict CpuQuote(ProviderState s, out long quote)
    {
        MarketProvider p = s.Provider;
        long floor = p.Pricing.FloorPerHour;
        switch (Order.Mode)
        {
            case PricingMode.Market when CpuMarketPrice() is { } price:
                quote = Saturate(PricingPolicy.MulDivCeil(price, Node.CpuMillicores, 1000));
                if (quote < floor)
                {
                    return Verdict.FloorAboveMarketPrice;
                }

                break;
            case PricingMode.Performance:
                if (p.PerformanceTier <= 0)
                {
                    quote = 0;
                    return Verdict.NoPerformanceTier;
                }

                quote = Saturate((Int128)p.PerformanceTier * Order.PerformanceRatePerTierHour!.Value);
                if (quote < floor)
                {
                    return Verdict.FloorAbovePerformancePrice;
                }

                break;
            default:
                quote = p.Pricing.Quote(0, 0, Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes);
                break;
        }

        return quote > Share ? Verdict.AboveMax : Verdict.Ok;
    }

    /// <summary>The first node <paramref name="s"/> would offer (from the evaluation's cheapest group).</summary>
    public NodeAllocation FirstNode(ProviderState s, Evaluation e)
    {
        if (Gpus == 0)
        {
            return new NodeAllocation(Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes, [], null);
        }

        GpuGroup group = s.Groups[e.Group];
        return new NodeAllocation(Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes, TakeFree(s, group, Gpus, null), group.Model.Model);
    }

    /// <summary>
    /// <paramref name="nodes"/> nodes, cheapest first: GPU groups in ascending quote, each giving as many nodes as
    /// its free GPUs allow (lowest-numbered GPUs first), each node priced by its group.
    /// </summary>
    public List<(NodeAllocation Node, long Quote)> BuildNodes(ProviderState s, int nodes)
    {
        var result = new List<(NodeAllocation, long)>(nodes);
        if (Gpus == 0)
        {
            CpuQuote(s, out long quote);
            for (int i = 0; i < nodes; i++)
            {
                result.Add((new NodeAllocation(Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes, [], null), quote));
            }

            return result;
        }

        var usable = new List<(long Quote, int Group)>();
        Int128? host = null;
        for (int i = 0; i < s.Groups.Length; i++)
        {
            GpuGroup group = s.Groups[i];
            if (Fits(group.Model) && group.Free >= Gpus && GroupQuote(s, group, ref host, out long quote) == Verdict.Ok)
            {
                usable.Add((quote, i));
            }
        }

        usable.Sort();
        var taken = new HashSet<int>();
        foreach ((long quote, int index) in usable)
        {
            GpuGroup group = s.Groups[index];
            for (int n = group.Free / Gpus; n > 0 && result.Count < nodes; n--)
            {
                string[] uuids = TakeFree(s, group, Gpus, taken);
                result.Add((new NodeAllocation(Node.CpuMillicores, Node.MemoryBytes, Node.DiskBytes, uuids, group.Model.Model), quote));
            }
        }

        return result;
    }

    private static string[] TakeFree(ProviderState s, GpuGroup group, int count, HashSet<int>? taken)
    {
        string[] uuids = new string[count];
        int found = 0;
        foreach (int index in group.Gpus)
        {
            if (s.Holder[index] is null && (taken is null || taken.Add(index)))
            {
                uuids[found++] = s.Provider.Gpus[index].Uuid;
                if (found == count)
                {
                    break;
                }
            }
        }

        return uuids;
    }

    private static long Saturate(Int128 value) => value > long.MaxValue ? long.MaxValue : (long)value;
}
