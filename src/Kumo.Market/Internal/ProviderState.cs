namespace Kumo.Market.Internal;

/// <summary>A provider's GPUs of one kind, the unit a node is carved from (a node never spans groups).</summary>
internal sealed class GpuGroup(ModelInfo model, int[] gpus, long perGpuHour)
{
    private int _free = gpus.Length;

    public ModelInfo Model { get; } = model;

    /// <summary>Indices into the provider's GPU list, ascending: nodes take the lowest free ones.</summary>
    public int[] Gpus { get; } = gpus;

    /// <summary>Present GPUs of the group held by nobody (mirrored into <see cref="DenseIndex.GroupFree"/>).</summary>
    public int Free
    {
        get => _free;
        set
        {
            _free = value;
            if (Dense is { } dense)
            {
                dense.GroupFree[Gid] = value;
            }
        }
    }

    /// <summary>The book's dense mirror and this group's id in it; null for a state outside a book.</summary>
    public DenseIndex? Dense { get; private set; }
    public int Gid { get; private set; } = -1;

    public void Register(DenseIndex dense)
    {
        Dense = dense;
        Gid = dense.NewGid();
        dense.GroupFree[Gid] = _free;
    }

    public void Unregister()
    {
        Dense?.FreeGid(Gid);
        Dense = null;
        Gid = -1;
    }

    /// <summary>The provider's policy price for this model (first matching pattern), cached.</summary>
    public long PerGpuHour { get; } = perGpuHour;

    public Posting ByPrice { get; set; }
    public Posting ByReputation { get; set; }
    public Posting ByPerformance { get; set; }
}

/// <summary>
/// The book's live record of one provider: its declaration, its GPUs grouped by kind, who holds each GPU, and
/// running sums of reserved and leased host resources. Free capacity is inventory − reserved − leased, floored
/// at 0, always derived from these counters, never stored twice.
/// </summary>
internal sealed class ProviderState
{
    public ProviderState(MarketProvider provider, int slot, ModelTable table, DenseIndex? dense = null)
    {
        Dense = dense;
        Provider = provider;
        Slot = slot;
        Weight = MarketRules.Weight(provider.Reputation);
        int count = provider.Gpus.Count;
        GroupOf = new int[count];
        Holder = new Hold?[count];
        GpuIndex = new Dictionary<string, int>(count, StringComparer.Ordinal);
        var members = new List<(ModelInfo Model, List<int> Gpus)>();
        for (int i = 0; i < count; i++)
        {
            MarketGpu gpu = provider.Gpus[i];
            GpuIndex.Add(gpu.Uuid, i);
            ModelInfo model = table.GetOrAdd(gpu);
            int group = members.FindIndex(m => ReferenceEquals(m.Model, model));
            if (group < 0)
            {
                group = members.Count;
                members.Add((model, []));
            }

            members[group].Gpus.Add(i);
            GroupOf[i] = group;
        }

        Groups = [.. members.Select(m => new GpuGroup(m.Model, [.. m.Gpus], provider.Pricing.PerGpuHourFor(m.Model.Model)))];
        if (dense is not null)
        {
            dense.EnsureSlot(slot);
            foreach (GpuGroup group in Groups)
            {
                group.Register(dense);
            }

            Sync();
        }
    }

    public DenseIndex? Dense { get; }

    public MarketProvider Provider { get; set; }
    public int Slot { get; }
    public double Weight { get; set; }
    public GpuGroup[] Groups { get; }
    public int[] GroupOf { get; }
    public Hold?[] Holder { get; }
    public Dictionary<string, int> GpuIndex { get; }
    public List<Hold> Holds { get; } = [];
    public List<string> Conflicts { get; } = [];

    public long ReservedCpu { get; set; }
    public long LeasedCpu { get; set; }
    public long ReservedMemory { get; set; }
    public long LeasedMemory { get; set; }
    public long ReservedDisk { get; set; }
    public long LeasedDisk { get; set; }
    public int ReservedGpus { get; set; }
    public int LeasedGpus { get; set; }

    public Posting CpuByPrice { get; set; }
    public int CpuBucket { get; set; }
    public Posting CpuByReputation { get; set; }
    public Posting CpuByPerformance { get; set; }

    public long FreeCpu => Math.Max(0, Provider.CpuMillicores - ReservedCpu - LeasedCpu);
    public long FreeMemory => Math.Max(0, Provider.MemoryBytes - ReservedMemory - LeasedMemory);
    public long FreeDisk => Math.Max(0, Provider.DiskBytes - ReservedDisk - LeasedDisk);

    /// <summary>A state seen through an agent's own view: GPUs not listed free are held by an outside hold.</summary>
    public static ProviderState ForView(MarketProvider provider, FreeCapacity free, ModelTable table)
    {
        var state = new ProviderState(provider, 0, table);
        for (int i = 0; i < provider.Gpus.Count; i++)
        {
            if (!free.GpuUuids.Contains(provider.Gpus[i].Uuid))
            {
                state.Holder[i] = Hold.Outside;
                state.Groups[state.GroupOf[i]].Free--;
            }
        }

        state.ReservedCpu = Math.Max(0, provider.CpuMillicores - (long)free.CpuMillicores);
        state.ReservedMemory = Math.Max(0, provider.MemoryBytes - free.MemoryBytes);
        state.ReservedDisk = Math.Max(0, provider.DiskBytes - free.DiskBytes);
        return state;
    }

    /// <summary>Writes the walk's view of this provider (<see cref="SlotInfo"/>); called after every change.</summary>
    public void Sync()
    {
        if (Dense is null)
        {
            return;
        }

        MarketProvider p = Provider;
        ref SlotInfo info = ref Dense.Slots[Slot];
        info.Eligible = p.Online && p.Bonded;
        info.HasAttestations = p.Attested.Count > 0;
        info.Region = Dense.RegionId(p.Region);
        info.Reputation = p.Reputation;
        info.Weight = Weight;
        info.Floor = p.Pricing.FloorPerHour;
        info.PerCoreHour = p.Pricing.PerCpuCoreHour;
        info.PerGibMemoryHour = p.Pricing.PerGibMemoryHour;
        info.PerGibDiskHour = p.Pricing.PerGibDiskHour;
        info.FreeCpu = FreeCpu;
        info.FreeMemory = FreeMemory;
        info.FreeDisk = FreeDisk;
    }

    /// <summary>Releases this state's dense ids (it left the book or was replaced).</summary>
    public void Retire()
    {
        foreach (GpuGroup group in Groups)
        {
            group.Unregister();
        }
    }

    /// <summary>Marks the hold's present GPUs and adds its host resources. The caller has checked they are free.</summary>
    public void Attach(Hold hold)
    {
        foreach (int[] node in hold.Gpus)
        {
            foreach (int index in node)
            {
                if (index < 0)
                {
                    continue;
                }

                Holder[index] = hold;
                Groups[GroupOf[index]].Free--;
                if (hold.IsLease)
                {
                    LeasedGpus++;
                }
                else
                {
                    ReservedGpus++;
                }
            }
        }

        if (hold.IsLease)
        {
            LeasedCpu += hold.Cpu;
            LeasedMemory += hold.Memory;
            LeasedDisk += hold.Disk;
        }
        else
        {
            ReservedCpu += hold.Cpu;
            ReservedMemory += hold.Memory;
            ReservedDisk += hold.Disk;
        }

        Holds.Add(hold);
        Sync();
    }

    /// <summary>Undoes <see cref="Attach"/>.</summary>
    public void Detach(Hold hold)
    {
        foreach (int[] node in hold.Gpus)
        {
            foreach (int index in node)
            {
                if (index < 0 || !ReferenceEquals(Holder[index], hold))
                {
                    continue;
                }

                Holder[index] = null;
                Groups[GroupOf[index]].Free++;
                if (hold.IsLease)
                {
                    LeasedGpus--;
                }
                else
                {
                    ReservedGpus--;
                }
            }
        }

        if (hold.IsLease)
        {
            LeasedCpu -= hold.Cpu;
            LeasedMemory -= hold.Memory;
            LeasedDisk -= hold.Disk;
        }
        else
        {
            ReservedCpu -= hold.Cpu;
            ReservedMemory -= hold.Memory;
            ReservedDisk -= hold.Disk;
        }

        Holds.Remove(hold);
        Sync();
    }

    /// <summary>When every hold will have ended, from reservations' expiry and leases' expected ends; null if any is unknown.</summary>
    public long? IdleAt()
    {
        long at = long.MinValue;
        foreach (Hold hold in Holds)
        {
            long? end = hold.IsLease ? hold.Lease!.ExpectedEndAt : hold.ExpiresAt;
            if (end is not { } e)
            {
                return null;
            }

            at = Math.Max(at, e);
        }

        return at;
    }
}

/// <summary>
/// Capacity promised to someone: a reservation (all nodes of one bid, until it expires, is released or leased)
/// or a lease (one node, until it ends).
/// </summary>
internal sealed class Hold
{
    /// <summary>Marks capacity an agent's own view says is taken, for bids quoted outside the book.</summary>
    public static readonly Hold Outside = new() { Id = "(held outside this view)", OrderId = "", Gpus = [] };

    public required string Id { get; init; }
    public required string OrderId { get; init; }
    public bool IsLease { get; init; }
    public ProviderState? Provider { get; set; }
    public Bid? Bid { get; init; }
    public LeaseHandle? Lease { get; init; }

    /// <summary>Per node, indices of its GPUs in the provider's list; -1 for a GPU that left the inventory.</summary>
    public required int[][] Gpus { get; set; }

    public long Cpu { get; init; }
    public long Memory { get; init; }
    public long Disk { get; init; }

    /// <summary>Reservations: when the bid lapses.</summary>
    public long ExpiresAt { get; init; }
}
