using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Hub.Scheduling;

/// <summary>
/// First fit: candidates in the order given (registration order), the first with enough free CPU, memory,
/// disk and matching GPUs, and an asking price within the job's maximum, gets the job. Every exclusion is
/// counted under the first constraint that failed, so the explanation adds up to the candidate count.
/// </summary>
public sealed class FirstFitMatcher : ILeaseMatcher
{
    public Match Find(JobSpec spec, IReadOnlyList<ProviderCapacity> candidates)
    {
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (ProviderCapacity candidate in candidates)
        {
            string? reason = TryPlace(spec, candidate, out Placement? placement);
            if (placement is not null)
            {
                return new Match(placement, ToList(counts), candidates.Count);
            }

            counts[reason!] = counts.GetValueOrDefault(reason!) + 1;
        }

        return new Match(null, ToList(counts), candidates.Count);
    }

    /// <summary>Null and a placement when the job fits; otherwise the reason it does not.</summary>
    internal static string? TryPlace(JobSpec spec, ProviderCapacity candidate, out Placement? placement)
    {
        placement = null;
        if (candidate.BondedStake < candidate.RequiredStake)
        {
            return "have too little bonded stake";
        }

        ResourceRequest want = spec.Resources;
        ResourceAmounts free = candidate.Free;
        List<GpuDevice> gpus = [];
        if (want.Gpu is { } gpu)
        {
            IEnumerable<GpuDevice> suitable = candidate.Inventory.Gpus
                .Where(d => gpu.Vendor is null || string.Equals(d.Vendor, gpu.Vendor, StringComparison.OrdinalIgnoreCase))
                .Where(d => GpuModelPattern.MatchesAny(gpu.Models, d.Model))
                .Where(d => d.VramBytes >= gpu.MinVramBytes);
            List<GpuDevice> all = [.. suitable];
            if (all.Count < gpu.Count)
            {
                return all.Count == 0 ? $"lack a GPU matching {Describe(gpu)}" : $"have fewer than {gpu.Count} GPUs matching {Describe(gpu)}";
            }

            // Enough matching devices, but of several models: too small even when idle, not busy.
            if (all.CountBy(d => d.Model, StringComparer.Ordinal).Max(c => c.Value) < gpu.Count)
            {
                return $"have fewer than {gpu.Count} GPUs of one model matching {Describe(gpu)}";
            }

            // Devices of one model only: a lease never mixes models, so its price and performance are one thing.
            List<GpuDevice>? chosen = all
                .Where(d => !candidate.UsedGpuUuids.Contains(d.Uuid))
                .GroupBy(d => d.Model, StringComparer.Ordinal)
                .Select(g => g.OrderBy(d => d.Index).Take(gpu.Count).ToList())
                .FirstOrDefault(g => g.Count == gpu.Count);
            if (chosen is null)
            {
                return "have their matching GPUs busy";
            }

            gpus = chosen;
        }

        if (free.CpuMillicores < want.CpuMillicores)
        {
            return candidate.TotalCpuMillicores < want.CpuMillicores ? "have too few CPU cores" : "have their CPU busy";
        }

        if (free.MemoryBytes < want.MemoryBytes)
        {
            return candidate.Inventory.MemoryBytes < want.MemoryBytes ? "have too little memory" : "have their memory busy";
        }

        if (free.DiskBytes < want.DiskBytes)
        {
            return candidate.Inventory.DiskBytes < want.DiskBytes ? "have too little disk" : "have their disk busy";
        }

        long price = candidate.Pricing.PriceFor(gpus.Count, want.CpuMillicores, want.MemoryBytes);
        if (price > spec.MaxPricePerHourMicros)
        {
            return "ask more than the maximum price";
        }

        var allocation = new Allocation(want.CpuMillicores, want.MemoryBytes, want.DiskBytes, [.. gpus.Select(g => g.Uuid)], gpus.FirstOrDefault()?.Model);
        placement = new Placement(candidate, allocation, price, gpus.Any(g => g.Simulated));
        return null;
    }

    private static string Describe(GpuRequest gpu)
    {
        string model = gpu.Models.Count == 0 ? "any model" : string.Join(" or ", gpu.Models);
        string vram = gpu.MinVramBytes > 0 ? $" with ≥ {gpu.MinVramBytes >> 30} GiB" : "";
        string vendor = gpu.Vendor is null ? "" : $"{gpu.Vendor} ";
        return $"{vendor}{model}{vram}";
    }

    private static List<Exclusion> ToList(Dictionary<string, int> counts) =>
        [.. counts.Select(kv => new Exclusion(kv.Key, kv.Value))];
}
