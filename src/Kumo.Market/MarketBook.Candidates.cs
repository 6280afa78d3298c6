using System.Globalization;
using Kumo.Market.Internal;

namespace Kumo.Market;

public sealed partial class MarketBook
{
    private int[] _visited = [];
    private int _stamp;
    private OrderQuery? _query;
    private long _queryVersion = -1;

    /// <summary>Bumped by anything a cached <see cref="OrderQuery"/> depends on: providers added, replaced or removed, prices cleared.</summary>
    private long _version;

    /// <summary>Index entries the last <see cref="FindCandidates"/> walked, and providers it evaluated (for tests and profiling).</summary>
    internal (int Walked, int Evaluated) LastWalk { get; private set; }

    /// <summary>
    /// Providers that could host at least one node of the order now, best first by reputation-adjusted quote
    /// (<see cref="MarketRules.Adjusted"/>; ties: lower quote, then provider id), at most <paramref name="limit"/>.
    /// Each candidate's quote is what <see cref="BidEngine"/> would bid for its first node. Expired reservations
    /// still hold capacity until <see cref="ExpireBids"/> runs.
    /// </summary>
    /// <param name="now">Unix ms; the book keeps no clock. Today's rules do not depend on it.</param>
    /// <exception cref="ArgumentException">The order is invalid (<see cref="OrderRequest.Problem"/>).</exception>
    public IReadOnlyList<Candidate> FindCandidates(OrderRequest order, long now, int limit)
    {
        ThrowIfInvalid(order);
        if (limit <= 0)
        {
            return [];
        }

        var query = Query(order);
        int g = order.Node.Gpus;
        var streams = new List<Stream>();
        if (g > 0)
        {
            foreach (ModelInfo model in _models.Models)
            {
                if (!query.Fits(model))
                {
                    continue;
                }

                for (int size = ModelInfo.SizeClass(g); size < ModelInfo.SizeClasses; size++)
                {
                    if (model.ByPrice[size].Count == 0)
                    {
                        continue;
                    }

                    streams.Add(order.Mode switch
                    {
                        PricingMode.Market when query.MarketPrice(model) is { } price => new Stream(model.ByReputation[size], (double)price * g, false) { FixedQuote = price * (double)g },
                        PricingMode.Performance => new Stream(model.ByPerformance[size], (double)order.PerformanceRatePerTierHour!.Value * g, false),
                        _ => new Stream(model.ByPrice[size], g, true),
                    });
                }
            }
        }
        else
        {
            double cores = order.Node.CpuMillicores / 1000.0;
            if (order.Mode == PricingMode.Market && query.CpuMarketPrice() is { } price)
            {
                streams.Add(new Stream(_cpuByReputation, price * cores, false) { FixedQuote = price * cores });
            }
            else if (order.Mode == PricingMode.Performance)
            {
                streams.Add(new Stream(_cpuByPerformance, order.PerformanceRatePerTierHour!.Value, false));
            }
            else
            {
                for (int b = 0; b < FloorBuckets; b++)
                {
                    if (_cpuByPrice[b].Count > 0)
                    {
                        streams.Add(new Stream(_cpuByPrice[b], cores, true, FloorBucketMin(b)));
                    }
                }
            }
        }

        // What every entry is checked against, from the dense mirrors, before a provider's state is touched.
        NodeRequirement node = order.Node;
        long share = order.MaxPerNodeHour;
        double minWeight = MarketRules.Weight(order.MinReputation);
        double shareLimit = share * (1 + 1e-12);
        bool[]? regions = _dense.AllowedRegions(order.Regions);
        bool needsAttestation = order.Auditor is not null || order.Attested.Count > 0;
        long rawScale = order.Mode switch
        {
            PricingMode.Performance => order.PerformanceRatePerTierHour!.Value * Math.Max(1, g),
            _ => g > 0 ? g : node.CpuMillicores / 1000,
        };
        long rawLimit = rawScale > 0 ? share / rawScale : long.MaxValue;
        double memoryGib = node.MemoryBytes / (double)(1L << 30), diskGib = node.DiskBytes / (double)(1L << 30);
        double cpuCores = node.CpuMillicores / 1000.0;
        int[] groupFree = _dense.GroupFree;
        SlotInfo[] slots = _dense.Slots;
        int stamp = NextStamp();
        int walked = 0, evaluated = 0;
        var hits = new PriorityQueue<Hit, Hit>(Math.Min(limit, 64) + 1, HitComparer.WorstFirst);
        double worst = double.PositiveInfinity;
        while (true)
        {
            // The k-way merge by lower bound (key × scale ≤ the adjusted quote of any group reached there): take the
            // stream with the least bound and walk it while it stays at or below the runner-up.
            int current = -1;
            double least = double.PositiveInfinity, second = double.PositiveInfinity;
            for (int i = 0; i < streams.Count; i++)
            {
                double b = streams[i].Bound;
                if (b < least)
                {
                    second = least;
                    least = b;
                    current = i;
                }
                else if (b < second)
                {
                    second = b;
                }
            }

            if (current < 0)
            {
                break;
            }

            Stream stream = streams[current];
            while (stream.Bound <= second)
            {
                double bound = stream.Bound;
                // Stop when nobody further can beat the hits, or (raw quote = bound × weight ≥ bound × the least weight
                // the order admits) nobody further can ask within the per-node share.
                if (double.IsPositiveInfinity(bound) || (hits.Count >= limit && bound > worst * (1 + 1e-12)) || bound * minWeight > shareLimit)
                {
                    stream.Bound = double.PositiveInfinity;
                    break;
                }

                Posting posting = stream.Take();
                walked++;
                if (_visited[posting.Slot] == stamp
                    || (g > 0 && groupFree[posting.Gid] < g)
                    || posting.Raw > rawLimit)
                {
                    // Seen, or this group busy or too dear; another group of the provider may do, so it is not marked.
                    continue;
                }

                ref SlotInfo info = ref slots[posting.Slot];
                if (info.Floor > stream.FixedQuote + 1)
                {
                    // Everyone in a market-priced stream asks the same; a provider whose floor is above it does not bid.
                    continue;
                }

                if (stream.AuctionPriced && hits.Count >= limit)
                {
                    // The policy quote without rounding, from the mirrors: a lower bound that spares most evaluations.
                    double quote = Math.Max(info.Floor, (g * (double)posting.Raw) + (cpuCores * info.PerCoreHour) + (memoryGib * info.PerGibMemoryHour) + (diskGib * info.PerGibDiskHour));
                    if (quote * (1 - 1e-12) / info.Weight > worst * (1 + 1e-12))
                    {
                        continue;
                    }
                }

                _visited[posting.Slot] = stamp;
                if (!info.Eligible || info.Reputation < order.MinReputation || info.Floor > share
                    || (regions is not null && (info.Region >= regions.Length || !regions[info.Region]))
                    || (needsAttestation && !info.HasAttestations)
                    || info.FreeCpu < node.CpuMillicores || info.FreeMemory < node.MemoryBytes || info.FreeDisk < node.DiskBytes)
                {
                    continue;
                }

                evaluated++;
                ProviderState s = _slots[posting.Slot]!;
                Evaluation e = query.Evaluate(s, idle: false);
                if (!e.Ok)
                {
                    continue;
                }

                var hit = new Hit(s, e, MarketRules.Adjusted(e.Quote, s.Provider.Reputation));
                hits.Enqueue(hit, hit);
                if (hits.Count > limit)
                {
                    hits.Dequeue();
                }

                if (hits.Count >= limit)
                {
                    worst = hits.Peek().Adjusted;
                }
            }
        }

        LastWalk = (walked, evaluated);
        var found = new Hit[hits.Count];
        for (int i = found.Length - 1; i >= 0; i--)
        {
            found[i] = hits.Dequeue();
        }

        return [.. found.Select(h => new Candidate(h.State.Provider, query.FirstNode(h.State, h.Evaluation), h.Evaluation.Quote, h.Evaluation.Nodes))];
    }

    /// <summary>
    /// Who could run the order now and when idle, and for every other provider the first constraint that excludes
    /// it, counted; the model the order would get and its recent clearing prices; an expected wait. One pass over
    /// all providers (O(providers × GPU groups)).
    /// </summary>
    /// <exception cref="ArgumentException">The order is invalid.</exception>
    public Feasibility Explain(OrderRequest order, long now)
    {
        ThrowIfInvalid(order);
        var query = Query(order);
        var counts = new Dictionary<Verdict, int>();
        int canNow = 0, canIdle = 0;
        long nodesNow = 0, nodesIdle = 0;
        (double Adjusted, string Model)? bestNow = null, bestIdle = null;
        var later = new List<(ProviderState State, int Extra)>();
        foreach (ProviderState? s in _slots)
        {
            if (s is null)
            {
                continue;
            }

            Evaluation idle = query.Evaluate(s, idle: true);
            if (!idle.Ok)
            {
                counts[idle.Verdict] = counts.GetValueOrDefault(idle.Verdict) + 1;
                continue;
            }

            canIdle++;
            nodesIdle += idle.Nodes;
            Keep(ref bestIdle, s, idle, query);
            Evaluation current = query.Evaluate(s, idle: false);
            if (!current.Ok)
            {
                counts[current.Verdict] = counts.GetValueOrDefault(current.Verdict) + 1;
                later.Add((s, idle.Nodes));
                continue;
            }

            canNow++;
            nodesNow += current.Nodes;
            Keep(ref bestNow, s, current, query);
            if (current.Nodes < idle.Nodes)
            {
                later.Add((s, idle.Nodes - current.Nodes));
            }
        }

        string? model = (bestNow ?? bestIdle)?.Model;
        PriceRange? prices = model is null ? null : RecentPrices(model);
        long? wait = ExpectedWait(order, nodesNow, later, now);
        var exclusions = counts
            .Select(c => new Exclusion(Reason(c.Key, query), c.Value))
            .OrderByDescending(e => e.Count).ThenBy(e => e.Reason, StringComparer.Ordinal)
            .ToList();
        string sentence = Sentence(canNow, canIdle, exclusions, model, prices, wait);
        return new Feasibility(_providers.Count, canNow, canIdle, (int)Math.Min(nodesNow, int.MaxValue), (int)Math.Min(nodesIdle, int.MaxValue), exclusions, model, prices, wait, sentence);
    }

    private static void Keep(ref (double Adjusted, string Model)? best, ProviderState s, Evaluation e, OrderQuery query)
    {
        double adjusted = MarketRules.Adjusted(e.Quote, s.Provider.Reputation);
        if (best is null || adjusted < best.Value.Adjusted)
        {
            best = (adjusted, query.Gpus == 0 ? OrderQuery.CpuModel : s.Groups[e.Group].Model.Model);
        }
    }

    /// <summary>
    /// 0 when the nodes available now cover the order; otherwise the time until enough capable providers are
    /// entirely idle (each provider counted from the end of its last hold — reservation expiry or the lease's
    /// expected end), ignoring the latency bound. Null when leases lack end estimates or capacity never suffices.
    /// </summary>
    private static long? ExpectedWait(OrderRequest order, long nodesNow, List<(ProviderState State, int Extra)> later, long now)
    {
        if (nodesNow >= order.Nodes)
        {
            return 0;
        }

        var events = new List<(long At, int Extra)>();
        foreach ((ProviderState state, int extra) in later)
        {
            if (state.IdleAt() is { } at)
            {
                events.Add((at, extra));
            }
        }

        events.Sort((a, b) => a.At.CompareTo(b.At));
        long have = nodesNow;
        foreach ((long at, int extra) in events)
        {
            have += extra;
            if (have >= order.Nodes)
            {
                return Math.Max(0, at - now);
            }
        }

        return null;
    }

    private static string Reason(Verdict verdict, OrderQuery q)
    {
        OrderRequest o = q.Order;
        return verdict switch
        {
            Verdict.Offline => "are offline",
            Verdict.Unbonded => "have too little stake bonded",
            Verdict.Excluded => "are excluded by the order",
            Verdict.OutsideRegions => $"are outside {string.Join(" or ", o.Regions)}",
            Verdict.BelowReputation => $"are below reputation {o.MinReputation.ToString("0.###", CultureInfo.InvariantCulture)}",
            Verdict.NotAttested => o.Auditor is null
                ? $"lack an attestation of {Attributes(o)}"
                : $"lack an attestation{(o.Attested.Count == 0 ? "" : " of " + Attributes(o))} by {o.Auditor}",
            Verdict.NoMatchingGpu => $"lack a GPU matching {o.Node.DescribeGpu()}",
            Verdict.TooFewGpus => $"have fewer than {o.Node.Gpus} GPUs of one model matching {o.Node.DescribeGpu()}",
            Verdict.TooFewCores => "have too few CPU cores",
            Verdict.TooLittleMemory => "have too little memory",
            Verdict.TooLittleDisk => "have too little disk",
            Verdict.NoPerformanceTier => "have no measured performance tier",
            Verdict.FloorAboveMarketPrice => "have a price floor above the market price",
            Verdict.FloorAbovePerformancePrice => "have a price floor above the performance price",
            Verdict.AboveMax => o.Nodes > 1 ? "ask more than the per-node share of the maximum price" : "ask more than the maximum price",
            Verdict.GpusBusy => "have their matching GPUs busy",
            Verdict.CpuBusy => "have their CPU busy",
            Verdict.MemoryBusy => "have their memory busy",
            Verdict.DiskBusy => "have their disk busy",
            _ => verdict.ToString(),
        };
    }

    /// <summary>"are offline" → "is offline", "have …" → "has …", "lack …" → "lacks …", "ask …" → "asks …".</summary>
    internal static string Singular(string reason)
    {
        int space = reason.IndexOf(' ', StringComparison.Ordinal);
        string verb = space < 0 ? reason : reason[..space];
        string rest = space < 0 ? "" : reason[space..];
        return verb switch
        {
            "are" => "is",
            "have" => "has",
            _ => verb + "s",
        } + rest;
    }

    private static string Attributes(OrderRequest o) => string.Join(", ", o.Attested.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={a.Value}"));

    private static string Sentence(int canNow, int canIdle, List<Exclusion> exclusions, string? model, PriceRange? prices, long? wait)
    {
        var text = new System.Text.StringBuilder();
        int total = canNow + exclusions.Sum(e => e.Count);
        text.Append(CultureInfo.InvariantCulture, $"{total} provider{(total == 1 ? "" : "s")}, {canNow} can run it now and {canIdle} when idle");
        if (exclusions.Count > 0)
        {
            text.Append(": ").AppendJoin(", ", exclusions.Select(e => $"{e.Count} {(e.Count == 1 ? Singular(e.Reason) : e.Reason)}"));
        }

        if (model is not null && prices is not null)
        {
            string unit = model == OrderQuery.CpuModel ? "core-hour" : "GPU-hour";
            text.Append(CultureInfo.InvariantCulture, $"; {model} recently cleared at {Kumo(prices.Min)}/{Kumo(prices.Median)}/{Kumo(prices.Max)} KUMO per {unit} (min/median/max of {prices.Count})");
        }

        text.Append(wait switch
        {
            null => "; expected wait unknown",
            0 => "; it can start now",
            { } ms => $"; expected wait about {Duration(ms)}",
        });
        return text.ToString();
    }

    internal static string Kumo(long micros) => ((decimal)micros / 1_000_000m).ToString("0.######", CultureInfo.InvariantCulture);

    private static string Duration(long ms) => ms switch
    {
        < 60_000 => $"{Math.Max(1, ms / 1000)} s",
        < 3_600_000 => $"{ms / 60_000} min",
        _ => $"{ms / 3_600_000} h {ms % 3_600_000 / 60_000} min",
    };

    /// <summary>The bid engine's fast path: the provider is the book's current record, so its live state is used directly.</summary>
    internal bool TryQuoteInBook(MarketProvider provider, OrderRequest order, long expiresAt, string bidId, out Bid? bid)
    {
        bid = null;
        if (!_providers.TryGetValue(provider.Id, out ProviderState? state) || !ReferenceEquals(state.Provider, provider))
        {
            return false;
        }

        bid = BidEngine.Build(Query(order), state, expiresAt, bidId);
        return true;
    }

    /// <summary>
    /// The prepared query of an order, reused while the same order object is asked about again (candidates, then
    /// each bid and reservation) and nothing it caches — GPU kinds, regions, market prices — has changed.
    /// </summary>
    private OrderQuery Query(OrderRequest order)
    {
        if (_query is { } cached && ReferenceEquals(cached.Order, order) && _queryVersion == _version)
        {
            return cached;
        }

        _query = new OrderQuery(order, _models, MarketPrice);
        _queryVersion = _version;
        return _query;
    }

    private static void ThrowIfInvalid(OrderRequest order)
    {
        if (order.Problem() is { } problem)
        {
            throw new ArgumentException($"order {order.Id}: {problem}", nameof(order));
        }
    }

    private int NextStamp()
    {
        if (_visited.Length < _slots.Count)
        {
            Array.Resize(ref _visited, Math.Max(_slots.Count, _visited.Length * 2));
        }

        if (++_stamp == int.MaxValue)
        {
            Array.Clear(_visited);
            _stamp = 1;
        }

        return _stamp;
    }

    private readonly record struct Hit(ProviderState State, Evaluation Evaluation, double Adjusted);

    /// <summary>One index list being walked: its position, the scale turning keys into bounds, and whether it is priced by policy.</summary>
    private sealed class Stream(PostingList list, double scale, bool auctionPriced, double least = 0)
    {
        public PostingList List { get; } = list;
        public double Scale { get; } = scale;
        public bool AuctionPriced { get; } = auctionPriced;

        /// <summary>The quote every provider of a market-priced stream asks (∞ elsewhere).</summary>
        public double FixedQuote { get; init; } = double.PositiveInfinity;
        public int Position { get; private set; }
        public double Bound { get; set; } = list.Count > 0 ? Math.Max(least, list[0].Key * scale) : double.PositiveInfinity;

        /// <summary>Takes the entry at the position and moves the bound to the next one (∞ at the end).</summary>
        public Posting Take()
        {
            Posting posting = List[Position++];
            Bound = Position < List.Count ? Math.Max(least, List[Position].Key * Scale) : double.PositiveInfinity;
            return posting;
        }
    }

    /// <summary>Orders hits worst first (higher adjusted quote, then higher quote, then higher id), so the heap's top is the one to drop.</summary>
    private sealed class HitComparer : IComparer<Hit>
    {
        public static readonly HitComparer WorstFirst = new();

        public int Compare(Hit x, Hit y)
        {
            int c = y.Adjusted.CompareTo(x.Adjusted);
            if (c != 0)
            {
                return c;
            }

            c = y.Evaluation.Quote.CompareTo(x.Evaluation.Quote);
            return c != 0 ? c : string.CompareOrdinal(y.State.Provider.Id, x.State.Provider.Id);
        }
    }
}
