namespace Kumo.Market.Internal;

/// <summary>
/// An entry of an index: a provider's GPU group (in the CPU index, the provider: Group = Gid = -1) under a sort
/// key, with the raw per-unit price or tier the key was made from (so a walk can skip an entry above the order's
/// maximum without touching the provider) and the group's dense id (for its free count).
/// </summary>
internal readonly record struct Posting(double Key, int Slot, int Group, int Gid, long Raw) : IComparable<Posting>
{
    public int CompareTo(Posting other)
    {
        int c = Key.CompareTo(other.Key);
        if (c != 0)
        {
            return c;
        }

        c = Slot.CompareTo(other.Slot);
        return c != 0 ? c : Group.CompareTo(other.Group);
    }
}

/// <summary>
/// Postings in ascending key order, in a flat array: queries walk it front to back (sequential reads), updates
/// binary-search and shift (O(n) memmove; n ≤ the providers holding one GPU kind, so microseconds at 5,000).
/// Keys change only when a provider's price, reputation or tier changes, never when capacity is reserved or
/// freed: free counts live in <see cref="DenseIndex"/> and are checked during the walk.
/// </summary>
internal sealed class PostingList
{
    private Posting[] _items = new Posting[16];

    public int Count { get; private set; }

    public Posting this[int index] => _items[index];

    public void Add(Posting posting)
    {
        int at = Array.BinarySearch(_items, 0, Count, posting);
        at = at < 0 ? ~at : at;
        if (Count == _items.Length)
        {
            Array.Resize(ref _items, _items.Length * 2);
        }

        Array.Copy(_items, at, _items, at + 1, Count - at);
        _items[at] = posting;
        Count++;
    }

    public void Remove(Posting posting)
    {
        int at = Array.BinarySearch(_items, 0, Count, posting);
        if (at < 0)
        {
            throw new InvalidOperationException($"posting {posting} is not in the index");
        }

        Array.Copy(_items, at + 1, _items, at, Count - at - 1);
        Count--;
    }
}

/// <summary>What a walk needs to know about a provider without touching its state: compact, by slot.</summary>
internal struct SlotInfo
{
    /// <summary>Online and bonded.</summary>
    public bool Eligible;
    public bool HasAttestations;
    public int Region;
    public double Reputation;

    /// <summary>Reputation weight (<see cref="MarketRules.Weight"/>).</summary>
    public double Weight;
    public long Floor;
    public long PerCoreHour;
    public long PerGibMemoryHour;
    public long PerGibDiskHour;
    public long FreeCpu;
    public long FreeMemory;
    public long FreeDisk;
}

/// <summary>
/// Dense mirrors of the per-provider facts a query checks for every index entry it walks — free GPUs per group,
/// and <see cref="SlotInfo"/> per provider — so skipping a busy, offline or out-of-region provider costs a read
/// of a small array, not a walk through its object graph. Written through by <see cref="ProviderState"/>.
/// </summary>
internal sealed class DenseIndex
{
    private readonly Stack<int> _freeGids = new();
    private readonly Dictionary<string, int> _regions = new(StringComparer.OrdinalIgnoreCase);
    private int _nextGid;

    public int[] GroupFree { get; private set; } = new int[256];
    public SlotInfo[] Slots { get; private set; } = new SlotInfo[256];

    public int RegionCount => _regions.Count;

    public int NewGid()
    {
        if (_freeGids.TryPop(out int gid))
        {
            return gid;
        }

        if (_nextGid == GroupFree.Length)
        {
            int[] grown = GroupFree;
            Array.Resize(ref grown, grown.Length * 2);
            GroupFree = grown;
        }

        return _nextGid++;
    }

    public void FreeGid(int gid)
    {
        GroupFree[gid] = 0;
        _freeGids.Push(gid);
    }

    public void EnsureSlot(int slot)
    {
        if (slot >= Slots.Length)
        {
            SlotInfo[] grown = Slots;
            Array.Resize(ref grown, Math.Max(slot + 1, grown.Length * 2));
            Slots = grown;
        }
    }

    public int RegionId(string region)
    {
        if (!_regions.TryGetValue(region, out int id))
        {
            id = _regions.Count;
            _regions.Add(region, id);
        }

        return id;
    }

    /// <summary>Which region ids an order's list allows; null = any.</summary>
    public bool[]? AllowedRegions(IReadOnlyList<string> regions)
    {
        if (regions.Count == 0)
        {
            return null;
        }

        bool[] allowed = new bool[_regions.Count];
        foreach (string region in regions)
        {
            if (_regions.TryGetValue(region, out int id))
            {
                allowed[id] = true;
            }
        }

        return allowed;
    }
}
