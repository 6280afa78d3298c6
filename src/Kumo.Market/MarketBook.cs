using Kumo.Market.Internal;

namespace Kumo.Market;

/// <summary>
/// The market engine: providers and their capacity, open orders, reserved bids, leases and clearing prices.
/// <para>
/// Pure and single-threaded: no I/O, no clock (every time is Unix ms passed in), no threads, no locks. One instance
/// is driven by one caller at a time — the hub serializes calls (one market loop, or a lock around the book);
/// concurrent calls corrupt it. Queries are not thread-safe either (they share scratch arrays).
/// </para>
/// <para>
/// Capacity: free = inventory − reserved − leased per provider and resource; a GPU is held by at most one
/// reservation or lease at a time (<see cref="TryReserve"/> refuses anything already promised), so nothing is
/// ever promised twice. Index: see docs/MARKET.md — providers' GPU groups are indexed per GPU kind in three sort
/// orders (policy price, reputation, performance), plus a CPU index over all providers; a query merges the
/// streams of the kinds that fit, best lower bound first, and stops after <c>limit</c> hits once no remaining
/// entry can beat them.
/// </para>
/// </summary>
public sealed partial class MarketBook : IMarketView
{
    private readonly ModelTable _models = new();
    private readonly DenseIndex _dense = new();
    private readonly PostingList[] _cpuByPrice = [.. Enumerable.Range(0, FloorBuckets).Select(_ => new PostingList())];
    private readonly PostingList _cpuByReputation = new();
    private readonly PostingList _cpuByPerformance = new();
    private readonly Dictionary<string, ProviderState> _providers = new(StringComparer.Ordinal);
    private readonly List<ProviderState?> _slots = [];
    private readonly Stack<int> _freeSlots = new();
    private readonly Dictionary<string, string> _gpuOwners = new(StringComparer.Ordinal);

    /// <summary>Providers in the book, online or not.</summary>
    public int ProviderCount => _providers.Count;

    /// <summary>Every provider record, in no particular order.</summary>
    public IEnumerable<MarketProvider> Providers => _providers.Values.Select(s => s.Provider);

    /// <summary>The provider's current record, or null.</summary>
    public MarketProvider? Get(string providerId) => _providers.TryGetValue(providerId, out ProviderState? s) ? s.Provider : null;

    /// <summary>
    /// Adds a provider or replaces its record. Existing leases and reservations move to the new record: a lease
    /// whose GPU left the inventory, or leases holding more than the new inventory, are reported in
    /// <see cref="UpsertResult.Conflicts"/> (and in <see cref="Load"/>) and keep running, with free capacity floored
    /// at 0 so nothing new is promised; a reservation that no longer fits is released and returned.
    /// </summary>
    /// <exception cref="ArgumentException">The record is invalid, or claims a GPU UUID another provider registered.</exception>
    public UpsertResult Upsert(MarketProvider provider)
    {
        if (ProblemWith(provider) is { } problem)
        {
            throw new ArgumentException($"provider {provider.Id}: {problem}", nameof(provider));
        }

        foreach (MarketGpu gpu in provider.Gpus)
        {
            if (_gpuOwners.TryGetValue(gpu.Uuid, out string? owner) && !string.Equals(owner, provider.Id, StringComparison.Ordinal))
            {
                throw new ArgumentException($"provider {provider.Id}: GPU {gpu.Uuid} is already registered by provider {owner}", nameof(provider));
            }
        }

        bool added = !_providers.TryGetValue(provider.Id, out ProviderState? old);
        int slot = old?.Slot ?? NewSlot();
        var state = new ProviderState(provider, slot, _models, _dense);
        var conflicts = new List<string>();
        var released = new List<Bid>();
        if (old is not null)
        {
            Unindex(old);
            foreach (MarketGpu gpu in old.Provider.Gpus)
            {
                _gpuOwners.Remove(gpu.Uuid);
            }

            MoveHolds(old, state, conflicts, released);
            old.Retire();
        }

        foreach (MarketGpu gpu in provider.Gpus)
        {
            _gpuOwners[gpu.Uuid] = provider.Id;
        }

        _providers[provider.Id] = state;
        _slots[slot] = state;
        Index(state);
        state.Conflicts.AddRange(conflicts);
        _version++;
        return new UpsertResult(added, conflicts, released);
    }

    /// <summary>Removes a provider with its reservations (released) and leases (dropped); both are returned. Null if unknown.</summary>
    public ProviderRemoval? Remove(string providerId)
    {
        if (!_providers.Remove(providerId, out ProviderState? state))
        {
            return null;
        }

        var leases = new List<LeaseHandle>();
        var reservations = new List<Bid>();
        foreach (Hold hold in state.Holds.ToList())
        {
            if (hold.IsLease)
            {
                _leases.Remove(hold.Id);
                leases.Add(hold.Lease!);
            }
            else
            {
                DropReservation(hold);
                reservations.Add(hold.Bid!);
            }
        }

        Unindex(state);
        foreach (MarketGpu gpu in state.Provider.Gpus)
        {
            _gpuOwners.Remove(gpu.Uuid);
        }

        state.Retire();
        _dense.Slots[state.Slot] = default;
        _slots[state.Slot] = null;
        _freeSlots.Push(state.Slot);
        _version++;
        return new ProviderRemoval(state.Provider, leases, reservations);
    }

    /// <summary>Marks a provider connected or not. False if unknown.</summary>
    public bool SetOnline(string providerId, bool online) => Update(providerId, p => p with { Online = online }, reindex: false);

    /// <summary>Marks a provider's stake as meeting the minimum or not. False if unknown.</summary>
    public bool SetBonded(string providerId, bool bonded) => Update(providerId, p => p with { Bonded = bonded }, reindex: false);

    /// <summary>Sets a provider's reputation (0..1). False if unknown.</summary>
    public bool SetReputation(string providerId, double reputation)
    {
        if (double.IsNaN(reputation) || reputation < 0 || reputation > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(reputation), "reputation is within 0..1");
        }

        return Update(providerId, p => p with { Reputation = reputation }, reindex: true);
    }

    /// <summary>How the provider's capacity is split now, with any conflicts from its last re-registration. Null if unknown.</summary>
    public ProviderLoad? Load(string providerId)
    {
        if (!_providers.TryGetValue(providerId, out ProviderState? s))
        {
            return null;
        }

        MarketProvider p = s.Provider;
        int freeGpus = s.Groups.Sum(g => g.Free);
        return new ProviderLoad(
            new ResourceCount(p.Gpus.Count, p.CpuMillicores, p.MemoryBytes, p.DiskBytes),
            new ResourceCount(s.ReservedGpus, (int)s.ReservedCpu, s.ReservedMemory, s.ReservedDisk),
            new ResourceCount(s.LeasedGpus, (int)s.LeasedCpu, s.LeasedMemory, s.LeasedDisk),
            new ResourceCount(freeGpus, (int)s.FreeCpu, s.FreeMemory, s.FreeDisk),
            [.. s.Conflicts]);
    }

    /// <summary>Free capacity of a provider now (what a bid may use). Null if unknown.</summary>
    public FreeCapacity? Free(string providerId)
    {
        if (!_providers.TryGetValue(providerId, out ProviderState? s))
        {
            return null;
        }

        var gpus = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < s.Holder.Length; i++)
        {
            if (s.Holder[i] is null)
            {
                gpus.Add(s.Provider.Gpus[i].Uuid);
            }
        }

        return new FreeCapacity((int)s.FreeCpu, s.FreeMemory, s.FreeDisk, gpus);
    }

    private bool Update(string providerId, Func<MarketProvider, MarketProvider> change, bool reindex)
    {
        if (!_providers.TryGetValue(providerId, out ProviderState? s))
        {
            return false;
        }

        if (reindex)
        {
            Unindex(s);
        }

        s.Provider = change(s.Provider);
        s.Weight = MarketRules.Weight(s.Provider.Reputation);
        s.Sync();
        if (reindex)
        {
            Index(s);
        }

        return true;
    }

    private int NewSlot()
    {
        if (_freeSlots.TryPop(out int slot))
        {
            return slot;
        }

        _slots.Add(null);
        return _slots.Count - 1;
    }

    /// <summary>Moves holds to a re-registered provider's new state: leases first (they run), then reservations that still fit.</summary>
    private void MoveHolds(ProviderState old, ProviderState state, List<string> conflicts, List<Bid> released)
    {
        foreach (Hold hold in old.Holds.Where(h => h.IsLease))
        {
            hold.Gpus = Resolve(state, [hold.Lease!.Allocation]);
            foreach (string uuid in hold.Lease.Allocation.GpuUuids.Where(u => !state.GpuIndex.ContainsKey(u)))
            {
                conflicts.Add($"GPU {uuid} is leased to lease {hold.Id} but left the inventory");
            }

            hold.Provider = state;
            state.Attach(hold);
        }

        MarketProvider p = state.Provider;
        if (state.LeasedCpu > p.CpuMillicores)
        {
            conflicts.Add($"leases hold {state.LeasedCpu} millicores but the inventory has {p.CpuMillicores}");
        }

        if (state.LeasedMemory > p.MemoryBytes)
        {
            conflicts.Add($"leases hold {state.LeasedMemory} bytes of memory but the inventory has {p.MemoryBytes}");
        }

        if (state.LeasedDisk > p.DiskBytes)
        {
            conflicts.Add($"leases hold {state.LeasedDisk} bytes of disk but the inventory has {p.DiskBytes}");
        }

        foreach (Hold hold in old.Holds.Where(h => !h.IsLease))
        {
            int[][] gpus = Resolve(state, hold.Bid!.Nodes);
            bool fits = gpus.All(n => n.All(i => i >= 0 && state.Holder[i] is null))
                && hold.Cpu <= state.FreeCpu && hold.Memory <= state.FreeMemory && hold.Disk <= state.FreeDisk;
            if (!fits)
            {
                _reservations.Remove(hold.Id);
                if (_orders.TryGetValue(hold.OrderId, out OrderState? order))
                {
                    order.Bids.Remove(hold.Id);
                }

                released.Add(hold.Bid);
                conflicts.Add($"reservation of bid {hold.Id} released: it no longer fits the inventory");
                continue;
            }

            hold.Gpus = gpus;
            hold.Provider = state;
            state.Attach(hold);
        }
    }

    private static int[][] Resolve(ProviderState state, IReadOnlyList<NodeAllocation> nodes) =>
        [.. nodes.Select(n => n.GpuUuids.Select(u => state.GpuIndex.TryGetValue(u, out int i) ? i : -1).ToArray())];

    private void Index(ProviderState s)
    {
        double w = s.Weight;
        int tier = s.Provider.PerformanceTier;
        double perf = tier > 0 ? tier / w : double.PositiveInfinity;
        for (int i = 0; i < s.Groups.Length; i++)
        {
            GpuGroup g = s.Groups[i];
            g.ByPrice = new Posting(g.PerGpuHour / w, s.Slot, i, g.Gid, g.PerGpuHour);
            g.ByReputation = new Posting(1 / w, s.Slot, i, g.Gid, 0);
            g.ByPerformance = new Posting(perf, s.Slot, i, g.Gid, tier);
            int size = ModelInfo.SizeClass(g.Gpus.Length);
            g.Model.ByPrice[size].Add(g.ByPrice);
            g.Model.ByReputation[size].Add(g.ByReputation);
            g.Model.ByPerformance[size].Add(g.ByPerformance);
        }

        s.CpuByPrice = new Posting(s.Provider.Pricing.PerCpuCoreHour / w, s.Slot, -1, -1, s.Provider.Pricing.PerCpuCoreHour);
        s.CpuByReputation = new Posting(1 / w, s.Slot, -1, -1, 0);
        s.CpuByPerformance = new Posting(perf, s.Slot, -1, -1, tier);
        s.CpuBucket = FloorBucket(s.Provider.Pricing.FloorPerHour / w);
        _cpuByPrice[s.CpuBucket].Add(s.CpuByPrice);
        _cpuByReputation.Add(s.CpuByReputation);
        _cpuByPerformance.Add(s.CpuByPerformance);
    }

    private void Unindex(ProviderState s)
    {
        foreach (GpuGroup g in s.Groups)
        {
            int size = ModelInfo.SizeClass(g.Gpus.Length);
            g.Model.ByPrice[size].Remove(g.ByPrice);
            g.Model.ByReputation[size].Remove(g.ByReputation);
            g.Model.ByPerformance[size].Remove(g.ByPerformance);
        }

        _cpuByPrice[s.CpuBucket].Remove(s.CpuByPrice);
        _cpuByReputation.Remove(s.CpuByReputation);
        _cpuByPerformance.Remove(s.CpuByPerformance);
    }

    /// <summary>
    /// The CPU price index is split by reputation-adjusted floor into power-of-two buckets (below 1,024 µKUMO/h,
    /// then [1,024·2ᵇ⁻¹, 1,024·2ᵇ)): a CPU node's policy quote is at least its provider's floor, and floors — which
    /// GPU hosts set high — otherwise dominate small CPU orders, so the floor is the bound that lets a walk skip them.
    /// </summary>
    private const int FloorBuckets = 48;

    private static int FloorBucket(double adjustedFloor) =>
        adjustedFloor < 1024 ? 0 : Math.Min(FloorBuckets - 1, 1 + (int)Math.Floor(Math.Log2(adjustedFloor / 1024)));

    private static double FloorBucketMin(int bucket) => bucket == 0 ? 0 : 1024 * Math.Pow(2, bucket - 1);

    private static string? ProblemWith(MarketProvider p)
    {
        if (string.IsNullOrEmpty(p.Id))
        {
            return "the id is empty";
        }

        if (p.Name is null || p.Gpus is null || p.Pricing is null || p.Region is null || p.LatencyZone is null || p.Attested is null)
        {
            return "a field is missing";
        }

        if (p.CpuMillicores < 0 || p.MemoryBytes < 0 || p.DiskBytes < 0 || p.PerformanceTier < 0)
        {
            return "a capacity is negative";
        }

        if (double.IsNaN(p.Reputation) || p.Reputation < 0 || p.Reputation > 1)
        {
            return "reputation must be within 0..1";
        }

        var uuids = new HashSet<string>(StringComparer.Ordinal);
        foreach (MarketGpu gpu in p.Gpus)
        {
            if (gpu is null || string.IsNullOrEmpty(gpu.Uuid) || string.IsNullOrWhiteSpace(gpu.Model) || gpu.Vendor is null || gpu.VramBytes < 0)
            {
                return "a GPU lacks a UUID, model or vendor";
            }

            if (!uuids.Add(gpu.Uuid))
            {
                return $"GPU {gpu.Uuid} is listed twice";
            }
        }

        if (p.Pricing.Problem() is { } pricing)
        {
            return pricing;
        }

        try
        {
            // Every allocation is within the inventory, so if the whole machine at its dearest GPU price fits a
            // long, every quote of the policy does.
            _ = p.Pricing.Quote(p.Gpus.Count, p.Pricing.MaxPerGpuHour(), p.CpuMillicores, p.MemoryBytes, p.DiskBytes);
        }
        catch (OverflowException)
        {
            return "its prices for this machine overflow";
        }

        return null;
    }
}
