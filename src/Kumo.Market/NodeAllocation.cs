namespace Kumo.Market;

/// <summary>What one node of a lease holds on its provider: host resources and GPUs of ONE model.</summary>
/// <param name="GpuModel">The allocated model as the driver names it (what is priced and shown, never the order's pattern); null without GPUs.</param>
public sealed record NodeAllocation(int CpuMillicores, long MemoryBytes, long DiskBytes, IReadOnlyList<string> GpuUuids, string? GpuModel)
{
    /// <summary>Same resources, same GPUs in the same order, same model.</summary>
    public bool SameAs(NodeAllocation other) =>
        CpuMillicores == other.CpuMillicores && MemoryBytes == other.MemoryBytes && DiskBytes == other.DiskBytes
        && string.Equals(GpuModel, other.GpuModel, StringComparison.Ordinal)
        && GpuUuids.SequenceEqual(other.GpuUuids, StringComparer.Ordinal);
}
