using System.Diagnostics;

namespace Kumo.Market.Simulation;

/// <summary>
/// Runs a seeded fleet and order stream through the real engine in virtual time and measures it in wall time.
/// Per order: <see cref="MarketBook.OpenOrder"/>, <see cref="MarketBook.FindCandidates"/> (limit 20), each
/// candidate's <see cref="BidEngine.Quote"/> and <see cref="MarketBook.TryReserve"/>, <see cref="MarketBook.Select"/>,
/// then <see cref="MarketBook.Lease(string, IReadOnlyList{Bid}, long)"/> or <see cref="MarketBook.CloseOrder"/>. A cluster order whose first round
/// finds no set asks every capable provider in a second round (what the hub does on "only 5 of 8 nodes"). Leases
/// end after random virtual durations, so capacity turns over. Not thread-safe; one run at a time per book.
/// </summary>
public static class MarketSimulator
{
    /// <summary>Runs the simulation. The only clocks read are the stopwatch and the process's memory counters.</summary>
    public static SimulationResult Run(SimulationOptions o)
    {
        ArgumentNullException.ThrowIfNull(o);
        if (o.WarmupOrders > 0)
        {
            int providers = Math.Max(50, o.Providers / 10);
            RunMeasured(o with
            {
                Seed = o.Seed + 1,
                Providers = providers,
                Gpus = (int)Math.Min(o.Gpus / 10L, providers * 64L),
                Orders = o.WarmupOrders,
                Clusters64 = Math.Min(4, o.Clusters64),
                CheckFeasibility = false,
            });
        }

        return RunMeasured(o) with { WarmupOrders = o.WarmupOrders };
    }

    private static SimulationResult RunMeasured(SimulationOptions o)
    {
        var rng = new Random(o.Seed);
        long buildStart = Stopwatch.GetTimestamp();
        List<MarketProvider> fleet = SimulatedFleet.Build(o.Providers, o.Gpus, rng);
        var book = new MarketBook();
        foreach (MarketProvider provider in fleet)
        {
            book.Upsert(provider);
        }

        double buildMs = Stopwatch.GetElapsedTime(buildStart).TotalMilliseconds;
        var latency = new ZoneLatencyMap(book);
        int totalGpus = fleet.Sum(p => p.Gpus.Count);
        var clusterAt = new HashSet<int>();
        for (int c = 0; c < Math.Min(o.Clusters64, o.Orders); c++)
        {
            clusterAt.Add((int)((c + 0.5) * o.Orders / Math.Min(o.Clusters64, o.Orders)));
        }

        TimeSpan pausedBefore = GC.GetTotalPauseDuration();
        var ends = new PriorityQueue<string, long>();
        var orderMs = new List<double>(o.Orders);
        var clusterMs = new List<double>();
        var missed = new List<string>();
        var infeasibleBy = new Dictionary<string, int>(StringComparer.Ordinal);
        long matchingTicks = 0;
        int leased = 0, feasible = 0, infeasible = 0, clusters = 0, clustersLeased = 0, secondRounds = 0;
        long candidatesSeen = 0;
        double peakUtilization = 0;
        long gcPeak = 0;
        long now = o.StartAt;
        for (int i = 0; i < o.Orders; i++)
        {
            now += o.OrderIntervalMs;
            bool isCluster = clusterAt.Contains(i);
            long expected = isCluster ? LogUniform(rng, 3_600_000, 8 * 3_600_000) : LogUniform(rng, 5 * 60_000, 4 * 3_600_000);
            OrderRequest order = isCluster ? SimulatedOrders.Cluster(i, rng, expected) : SimulatedOrders.Next(i, rng, fleet, expected);
            long actual = (long)(expected * (0.3 + (0.7 * rng.NextDouble())));

            // Capacity turns over: leases whose (virtual) time is up end before this order arrives.
            long turnStart = Stopwatch.GetTimestamp();
            while (ends.TryPeek(out string? leaseId, out long endAt) && endAt <= now)
            {
                ends.Dequeue();
                book.EndLease(leaseId);
            }

            book.ExpireBids(now);
            matchingTicks += Stopwatch.GetTimestamp() - turnStart;

            long start = Stopwatch.GetTimestamp();
            (IReadOnlyList<LeaseHandle>? leases, string? failure, int candidates, bool secondRound) = Match(book, order, latency, now, o);
            long elapsed = Stopwatch.GetTimestamp() - start;
            matchingTicks += elapsed;
            candidatesSeen += candidates;
            if (isCluster)
            {
                clusters++;
                secondRounds += secondRound ? 1 : 0;
            }

            if (leases is not null)
            {
                leased++;
                feasible++;
                double ms = Stopwatch.GetElapsedTime(start, start + elapsed).TotalMilliseconds;
                orderMs.Add(ms);
                if (isCluster)
                {
                    clustersLeased++;
                    clusterMs.Add(ms);
                }

                foreach (LeaseHandle lease in leases)
                {
                    ends.Enqueue(lease.LeaseId, now + actual);
                }
            }
            else if (!o.CheckFeasibility)
            {
                infeasible++;
            }
            else if (WasFeasible(book, order, now, out string why))
            {
                // The failed attempt changed nothing (all or nothing), so the book is as it was at submission.
                feasible++;
                missed.Add($"{order.Id}: {failure}");
            }
            else
            {
                infeasible++;
                infeasibleBy[why] = infeasibleBy.GetValueOrDefault(why) + 1;
            }

            if ((i & 255) == 0 || i == o.Orders - 1)
            {
                peakUtilization = Math.Max(peakUtilization, Utilization(book, totalGpus));
                gcPeak = Math.Max(gcPeak, GC.GetTotalMemory(false));
            }
        }

        double utilizationEnd = Utilization(book, totalGpus);
        double wallSeconds = Stopwatch.GetElapsedTime(0, matchingTicks).TotalSeconds;
        orderMs.Sort();
        clusterMs.Sort();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return new SimulationResult
        {
            Providers = fleet.Count,
            Gpus = totalGpus,
            CpuOnlyProviders = fleet.Count(p => p.Gpus.Count == 0),
            Orders = o.Orders,
            LeasedOrders = leased,
            FeasibleOrders = feasible,
            InfeasibleOrders = infeasible,
            FeasibleFilledFraction = feasible == 0 ? 1 : leased / (double)feasible,
            OrdersMatchedPerSecond = wallSeconds > 0 ? leased / wallSeconds : 0,
            P50OrderToLeaseMs = Percentile(orderMs, 0.50),
            P99OrderToLeaseMs = Percentile(orderMs, 0.99),
            MatchingWallSeconds = wallSeconds,
            Cluster64Orders = clusters,
            Cluster64Leased = clustersLeased,
            Cluster64LeaseMs = clusterMs.Count == 0 ? null : Percentile(clusterMs, 0.50),
            Cluster64MaxMs = clusterMs.Count == 0 ? null : clusterMs[^1],
            Cluster64SecondRounds = secondRounds,
            MeanCandidates = o.Orders == 0 ? 0 : candidatesSeen / (double)o.Orders,
            GpuUtilizationPeak = peakUtilization,
            GpuUtilizationEnd = utilizationEnd,
            PeakMemoryMb = process.PeakWorkingSet64 / (1024.0 * 1024.0),
            GcHeapPeakMb = Math.Max(gcPeak, GC.GetTotalMemory(false)) / (1024.0 * 1024.0),
            GcPauseMs = (GC.GetTotalPauseDuration() - pausedBefore).TotalMilliseconds,
            BuildFleetMs = buildMs,
            Seed = o.Seed,
            Missed = missed,
            InfeasibleBy = infeasibleBy,
        };
    }

    /// <summary>One order through the engine: candidates, bids, reservations, selection, lease (or close).</summary>
    private static (IReadOnlyList<LeaseHandle>? Leases, string? Failure, int Candidates, bool SecondRound) Match(
        MarketBook book, OrderRequest order, ILatencyMap latency, long now, SimulationOptions o)
    {
        book.OpenOrder(order, now);
        var bids = new List<Bid>();
        var bidders = new HashSet<string>(StringComparer.Ordinal);
        IReadOnlyList<Candidate> candidates = book.FindCandidates(order, now, o.CandidateLimit);
        Invite(book, order, candidates, bids, bidders, now, o.BidTtlMs);
        Selection selection = book.Select(order.Id, bids, latency, now);
        bool second = false;
        if (!selection.Succeeded && order.Nodes > 1)
        {
            // A cluster the first invitations cannot cover: invite every capable provider not yet bidding.
            second = true;
            Invite(book, order, book.FindCandidates(order, now, int.MaxValue), bids, bidders, now, o.BidTtlMs);
            selection = book.Select(order.Id, bids, latency, now);
        }

        if (!selection.Succeeded)
        {
            book.CloseOrder(order.Id);
            return (null, selection.Failure, candidates.Count, second);
        }

        return (book.Lease(order.Id, selection.Winners, now), null, candidates.Count, second);
    }

    private static void Invite(MarketBook book, OrderRequest order, IReadOnlyList<Candidate> candidates, List<Bid> bids, HashSet<string> bidders, long now, long ttl)
    {
        foreach (Candidate candidate in candidates)
        {
            if (!bidders.Add(candidate.Provider.Id))
            {
                continue;
            }

            if (BidEngine.Quote(candidate.Provider, order, book, now, ttl) is { } bid && book.TryReserve(bid, now, out _))
            {
                bids.Add(bid);
            }
        }
    }

    /// <summary>
    /// Whether some set of providers could have hosted the order at submission. One node: some provider can host
    /// it now (<see cref="MarketBook.Explain"/>, a full scan independent of the index). A cluster: some group of
    /// providers pairwise within the latency bound under <see cref="ZoneLatencyMap"/>'s rules (one provider, one
    /// zone, one region, or everyone, by the bound) can host all its nodes now, each node within its share of the
    /// maximum — which is also all the bid rules allow.
    /// </summary>
    private static bool WasFeasible(MarketBook book, OrderRequest order, long now, out string why)
    {
        if (order.Nodes == 1)
        {
            Feasibility f = book.Explain(order, now);
            why = f.CanRunWhenIdle > 0 ? "every capable provider is busy"
                : f.Exclusions.Any(e => e.Reason.Contains("price", StringComparison.Ordinal)) ? "nobody who could host it asks within its price"
                : "no provider matches its hardware, region, reputation and attestation needs";
            return f.CanRunNow > 0;
        }

        double bound = order.MaxRttMs ?? double.PositiveInfinity;
        var groups = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
        foreach (Candidate c in book.FindCandidates(order, now, int.MaxValue))
        {
            MarketProvider p = c.Provider;
            string group = bound >= ZoneLatencyMap.OtherMs ? "*"
                : bound >= ZoneLatencyMap.SameRegionMs && p.Region.Length > 0 ? "r:" + p.Region
                : bound >= ZoneLatencyMap.SameZoneMs && p.Region.Length > 0 && p.LatencyZone.Length > 0 ? $"z:{p.Region}/{p.LatencyZone}"
                : "p:" + p.Id;
            groups[group] = groups.GetValueOrDefault(group) + c.NodesPossible;
        }

        long most = groups.Count == 0 ? 0 : groups.Values.Max();
        why = $"cluster: too few nodes within {order.MaxRttMs} ms of each other";
        return most >= order.Nodes;
    }

    private static double Utilization(MarketBook book, int totalGpus) => totalGpus == 0 ? 0 : book.Stats(0).LeasedGpus / (double)totalGpus;

    private static long LogUniform(Random rng, long min, long max) => (long)Math.Exp(Math.Log(min) + (rng.NextDouble() * (Math.Log(max) - Math.Log(min))));

    private static double Percentile(List<double> sorted, double q) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
