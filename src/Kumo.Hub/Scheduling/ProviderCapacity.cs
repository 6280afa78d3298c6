using System.Text.Json;
using Kumo.Hardware;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Serialization;

namespace Kumo.Hub.Scheduling;

/// <summary>A provider's hardware, prices, and what its open leases already hold.</summary>
public sealed record ProviderCapacity(
    string ProviderId,
    string Name,
    HardwareInventory Inventory,
    ProviderPricing Pricing,
    int UsedCpuMillicores,
    long UsedMemoryBytes,
    long UsedDiskBytes,
    IReadOnlySet<string> UsedGpuUuids)
{
    /// <summary>Stake the provider has bonded in the ledger.</summary>
    public long BondedStake { get; init; }

    /// <summary>Stake it needs to be offered work: the genesis minimum per device (each GPU; no GPU counts as one).</summary>
    public long RequiredStake { get; init; }

    public int TotalCpuMillicores => Inventory.Cpu.LogicalCores * 1000;

    /// <summary>This capacity with its stake and the stake it needs, read from the ledger.</summary>
    public ProviderCapacity WithStake(Ledger.LedgerService ledger) => this with
    {
        BondedStake = ledger.Read(s => s.Bonded(Crypto.AccountId.Parse(ProviderId))),
        RequiredStake = ledger.Genesis.MinBondPerDevice * Math.Max(1, Inventory.Gpus.Count),
    };

    public ResourceAmounts Free => new(
        Math.Max(0, TotalCpuMillicores - UsedCpuMillicores),
        Math.Max(0, Inventory.MemoryBytes - UsedMemoryBytes),
        Math.Max(0, Inventory.DiskBytes - UsedDiskBytes),
        Inventory.Gpus.Count(g => !UsedGpuUuids.Contains(g.Uuid)));

    /// <summary>The same provider with nothing in use: what it could run at best.</summary>
    public ProviderCapacity Empty() => this with { UsedCpuMillicores = 0, UsedMemoryBytes = 0, UsedDiskBytes = 0, UsedGpuUuids = new HashSet<string>() };

    /// <summary>This capacity after also holding <paramref name="allocation"/>.</summary>
    public ProviderCapacity With(Allocation allocation) => this with
    {
        UsedCpuMillicores = UsedCpuMillicores + allocation.CpuMillicores,
        UsedMemoryBytes = UsedMemoryBytes + allocation.MemoryBytes,
        UsedDiskBytes = UsedDiskBytes + allocation.DiskBytes,
        UsedGpuUuids = new HashSet<string>(UsedGpuUuids.Concat(allocation.GpuUuids), StringComparer.Ordinal),
    };

    public static ProviderCapacity From(ProviderRecord provider, IEnumerable<LeaseRecord> openLeases)
    {
        HardwareInventory inventory = JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options)!;
        ProviderPricing pricing = JsonSerializer.Deserialize<ProviderPricing>(provider.PricingJson, KumoJson.Options)!;
        var capacity = new ProviderCapacity(provider.Id, provider.Name, inventory, pricing, 0, 0, 0, new HashSet<string>(StringComparer.Ordinal));
        foreach (LeaseRecord lease in openLeases)
        {
            capacity = capacity.With(JsonSerializer.Deserialize<Allocation>(lease.AllocationJson, KumoJson.Options)!);
        }

        return capacity;
    }
}
