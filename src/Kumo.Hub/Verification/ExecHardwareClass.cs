using Kumo.Hardware;
using Kumo.Protocol;

namespace Kumo.Hub.Verification;

/// <summary>
/// The hardware class of an <c>exec</c> run, for adaptive replication: results are compared (and trust counted) only
/// within a class, because a program may legitimately compute different bits on different hardware. The class is what
/// the run was given: the machine architecture and, when the job had GPUs, their count and exact model (simulated
/// devnet GPUs are a class of their own), e.g. <c>x64/cpu</c> or <c>x64/2x NVIDIA H100 80GB HBM3</c>.
/// </summary>
public static class ExecHardwareClass
{
    /// <summary>The class of a run on <paramref name="inventory"/> with <paramref name="allocation"/>.</summary>
    public static string Of(HardwareInventory inventory, Allocation allocation)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(allocation);
        if (allocation.GpuUuids.Count == 0)
        {
            return $"{inventory.Architecture}/cpu";
        }

        List<GpuDevice> gpus = [.. inventory.Gpus.Where(g => allocation.GpuUuids.Contains(g.Uuid))];
        string model = gpus.Count > 0 ? gpus[0].Model : allocation.GpuModel ?? "unknown";
        bool simulated = gpus.Any(g => g.Simulated);
        return $"{inventory.Architecture}/{allocation.GpuUuids.Count}x {model}{(simulated ? " (simulated)" : "")}";
    }

    /// <summary>
    /// An allocation like <paramref name="like"/> (same CPU, memory, disk, GPU count and model) on a machine with
    /// <paramref name="inventory"/> beside what <paramref name="held"/> (its open leases) already takes, in the class
    /// <paramref name="hardwareClass"/>; null when it does not fit or the machine is of another class.
    /// </summary>
    public static Allocation? Fit(HardwareInventory inventory, IReadOnlyList<Allocation> held, Allocation like, string hardwareClass)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(like);
        if (held.Sum(a => (long)a.CpuMillicores) + like.CpuMillicores > inventory.Cpu.LogicalCores * 1000L
            || held.Sum(a => a.MemoryBytes) + like.MemoryBytes > inventory.MemoryBytes
            || held.Sum(a => a.DiskBytes) + like.DiskBytes > inventory.DiskBytes)
        {
            return null;
        }

        var used = held.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        List<string> free = [];
        if (like.GpuUuids.Count > 0)
        {
            // Same model as the class names: a machine may mix models, and only devices of one model make one class.
            foreach (IGrouping<string, GpuDevice> model in inventory.Gpus.Where(g => !used.Contains(g.Uuid)).GroupBy(g => g.Model, StringComparer.Ordinal))
            {
                List<GpuDevice> devices = [.. model.Take(like.GpuUuids.Count)];
                if (devices.Count == like.GpuUuids.Count)
                {
                    var candidate = new Allocation(like.CpuMillicores, like.MemoryBytes, like.DiskBytes, [.. devices.Select(d => d.Uuid)], model.Key);
                    if (Of(inventory, candidate) == hardwareClass)
                    {
                        return candidate;
                    }
                }
            }

            return null;
        }

        var allocation = new Allocation(like.CpuMillicores, like.MemoryBytes, like.DiskBytes, free, null);
        return Of(inventory, allocation) == hardwareClass ? allocation : null;
    }
}
