namespace Kumo.Market;

/// <summary>What one node of an order needs. A node's GPUs are always of one model (a node never mixes models).</summary>
/// <param name="Gpus">GPUs per node; 0 = a CPU-only node (the GPU filters below are then ignored).</param>
/// <param name="Models">Model patterns (<see cref="Hardware.GpuModelPattern"/>), any of which will do; empty = any model.</param>
/// <param name="MinVramBytes">Least device memory per GPU.</param>
/// <param name="Vendor">"nvidia", "amd", ...; null = any.</param>
/// <param name="Interface">"sxm" or "pcie"; null = any.</param>
/// <param name="CpuMillicores">CPU per node, 1000 per core.</param>
/// <param name="MemoryBytes">Memory per node.</param>
/// <param name="DiskBytes">Disk per node.</param>
public sealed record NodeRequirement(
    int Gpus,
    IReadOnlyList<string> Models,
    long MinVramBytes,
    string? Vendor,
    string? Interface,
    int CpuMillicores,
    long MemoryBytes,
    long DiskBytes)
{
    /// <summary>A CPU-only node.</summary>
    public static NodeRequirement CpuOnly(int cpuMillicores, long memoryBytes, long diskBytes) =>
        new(0, [], 0, null, null, cpuMillicores, memoryBytes, diskBytes);

    /// <summary>A node of <paramref name="gpus"/> GPUs of any of <paramref name="models"/>, with host resources to go with them.</summary>
    public static NodeRequirement WithGpus(int gpus, IReadOnlyList<string> models, int cpuMillicores, long memoryBytes, long diskBytes) =>
        new(gpus, models, 0, null, null, cpuMillicores, memoryBytes, diskBytes);

    /// <summary>"nvidia H100 or A100 with ≥ 80 GiB (sxm)": what a GPU must be, for explanations.</summary>
    public string DescribeGpu()
    {
        string vendor = Vendor is null ? "" : Vendor + " ";
        string models = Models.Count == 0 ? "any model" : string.Join(" or ", Models);
        string vram = MinVramBytes > 0 ? $" with ≥ {MinVramBytes / (double)(1L << 30):0.#} GiB" : "";
        string iface = Interface is null ? "" : $" ({Interface})";
        return vendor + models + vram + iface;
    }
}
