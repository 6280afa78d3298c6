namespace Kumo.Hardware;

/// <summary>What a provider machine offers: detected by the agent, declared at registration.</summary>
/// <param name="Cpu">The processor.</param>
/// <param name="MemoryBytes">Physical memory.</param>
/// <param name="DiskBytes">Free disk under the agent's data directory.</param>
/// <param name="Gpus">Accelerators, real or simulated.</param>
/// <param name="Os">Operating system description, e.g. "Debian GNU/Linux 12".</param>
/// <param name="Architecture">Machine architecture, e.g. "x64".</param>
public sealed record HardwareInventory(
    CpuInfo Cpu,
    long MemoryBytes,
    long DiskBytes,
    IReadOnlyList<GpuDevice> Gpus,
    string Os,
    string Architecture)
{
    /// <summary>True when any listed GPU is simulated (devnet only); such a machine is never shown as real hardware.</summary>
    public bool HasSimulatedGpus => Gpus.Any(g => g.Simulated);
}

/// <param name="Model">Model name as the OS reports it.</param>
/// <param name="LogicalCores">Logical processors (hardware threads) available to the agent.</param>
/// <param name="PhysicalCores">Physical cores, when known.</param>
public sealed record CpuInfo(string Model, int LogicalCores, int? PhysicalCores);

/// <summary>One accelerator. <see cref="Simulated"/> devices exist only on devnets, to show GPU matching on machines without one.</summary>
/// <param name="Index">Index as the driver numbers it (nvidia-smi's index, /dev/nvidiaN).</param>
/// <param name="Vendor">"nvidia", "amd", ... lower case.</param>
/// <param name="Model">Marketing name, e.g. "NVIDIA H100 80GB HBM3".</param>
/// <param name="VramBytes">Total device memory.</param>
/// <param name="Uuid">Driver-reported UUID (GPU-xxxxxxxx-...); unique per physical device.</param>
/// <param name="DriverVersion">Driver version, when known.</param>
/// <param name="CudaVersion">Highest CUDA version the driver supports, when known.</param>
/// <param name="PciBusId">PCI bus id, when known.</param>
/// <param name="Simulated">True for devnet-declared devices that do not exist.</param>
public sealed record GpuDevice(
    int Index,
    string Vendor,
    string Model,
    long VramBytes,
    string Uuid,
    string? DriverVersion,
    string? CudaVersion,
    string? PciBusId,
    bool Simulated)
{
    /// <summary>"sxm" or "pcie" as the model name says (NVIDIA names them: "A100-SXM4-40GB", "H100 PCIe"); null when it does not.</summary>
    public string? Interface =>
        Model.Contains("SXM", StringComparison.OrdinalIgnoreCase) ? "sxm"
        : Model.Contains("PCIE", StringComparison.OrdinalIgnoreCase) ? "pcie"
        : null;
}
