using Kumo.Hardware;
using Kumo.Provider.Verification;
using Kumo.Tensor.Compute.Cuda;
using Kumo.Verification.Hardware;

namespace Kumo.Provider.Tests.Verification;

/// <summary>Which engine proves which device, and what an agent does with a real GPU it cannot prove.</summary>
public class ProofDevicesTests
{
    private static readonly bool HasCuda = CudaGemm.TryOpen(out CudaGemm? probe, out _) && probe is not null && Dispose(probe);

    private static bool Dispose(CudaGemm gemm)
    {
        gemm.Dispose();
        return true;
    }

    private static HardwareInventory Inventory(params GpuDevice[] gpus) =>
        new(new CpuInfo("Test CPU", 2, 2), 8L << 30, 100L << 30, gpus, "test OS", "x64");

    private static GpuDevice Gpu(int index, string model, bool simulated, string? uuid = null) =>
        new(index, "nvidia", model, 16L << 30, uuid ?? $"GPU-{Guid.NewGuid()}", "550.54", "12.4", null, simulated);

    [Fact]
    public void A_machine_with_no_real_gpu_never_opens_the_gpu_backend()
    {
        ProofDevices devices = ProofDevices.For(Inventory(Gpu(0, "H100", simulated: true)));
        Assert.Same(ProofDevices.CpuOnly, devices);
        Assert.Null(devices.GpuBackend);
    }

    [Fact]
    public void A_real_gpu_the_backend_cannot_see_is_left_out_of_the_offer_with_the_reason()
    {
        // A UUID no driver has: unprovable with or without CUDA on the machine running the test.
        GpuDevice ghost = Gpu(0, "NVIDIA T4", simulated: false, uuid: "GPU-00000000-0000-0000-0000-00000000dead");
        GpuDevice simulated = Gpu(1, "H100", simulated: true);
        using ProofDevices devices = ProofDevices.For(Inventory(ghost, simulated));

        HardwareInventory offered = devices.Provable(Inventory(ghost, simulated), out IReadOnlyList<string> dropped);

        Assert.Equal([simulated], offered.Gpus);
        string warning = Assert.Single(dropped);
        Assert.Contains("GPU 0 (NVIDIA T4, GPU-00000000-0000-0000-0000-00000000dead) is not offered", warning);
        Assert.Contains(HasCuda ? "does not see" : "no GPU backend", warning);
        Assert.Null(devices.MultiplierFor(Inventory(ghost), ghost.Uuid, out string reason));
        Assert.False(string.IsNullOrEmpty(reason));
        Assert.Null(devices.MultiplierFor(Inventory(ghost), "GPU-not-declared", out reason));
        Assert.Contains("declared no device", reason);
    }

    [Fact]
    public async Task The_rehearsal_passes_the_cpu_and_simulated_gpus_and_names_a_real_gpu_it_cannot_compute()
    {
        HardwareInventory cpuOnly = Inventory();
        LocalProofResult cpu = Assert.Single(await LocalProof.RunAsync(cpuOnly, ProofDevices.For(cpuOnly)));
        Assert.True(cpu.Outcome.Passed, cpu.Outcome.Reason);
        Assert.Equal(DeviceClaim.CpuDeviceId, cpu.Claim.DeviceId);
        Assert.True(cpu.Outcome.Tier >= 1);
        Assert.True(cpu.Outcome.ElapsedMs <= cpu.DeadlineMs);

        GpuDevice ghost = Gpu(0, "NVIDIA T4", simulated: false, uuid: "GPU-00000000-0000-0000-0000-00000000beef");
        HardwareInventory mixed = Inventory(Gpu(0, "H100", simulated: true), ghost with { Index = 1 });
        using ProofDevices devices = ProofDevices.For(mixed);
        IReadOnlyList<LocalProofResult> results = await LocalProof.RunAsync(mixed, devices);

        Assert.Equal(2, results.Count);
        Assert.True(results[0].Outcome.Passed, results[0].Outcome.Reason);
        Assert.True(results[0].Outcome.Simulated);
        Assert.False(results[1].Outcome.Passed);
        Assert.Equal(LocalProof.NotComputed, results[1].Outcome.Code);
        Assert.Equal("none", results[1].Engine);
        Assert.True(results[1].Outcome.N > 256, "a real T4 is challenged at its claimed speed, not as a devnet device");
    }

    [Fact]
    public async Task A_real_gpu_the_driver_lists_is_offered_and_proven_on_that_gpu_as_a_real_device()
    {
        // fake_cuda.c stands in for the driver and cuBLAS (the binding is real; the GPU is the CPU): device 0 is
        // GPU-00010203-…; 3 MiB of claimed memory sizes the challenge to n = 256, checked at a real GPU's rate.
        Assert.True(CudaGemm.TryOpen(Kumo.Testing.FakeCudaLibrary.Path, Kumo.Testing.FakeCudaLibrary.Path, out CudaGemm? cuda, out string reason), reason);
        using ProofDevices devices = ProofDevices.Using(cuda);
        GpuDevice gpu = Gpu(0, "Fake GPU 0", simulated: false, uuid: "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f") with { VramBytes = 3L << 20 };
        HardwareInventory inventory = Inventory(gpu);

        Assert.Same(inventory, devices.Provable(inventory, out IReadOnlyList<string> dropped));
        Assert.Empty(dropped);
        Assert.NotNull(devices.GpuBackend);

        // Timing is not the point here (the fake multiplies on a shared CPU): a generous allowance for the round trip.
        var policy = HardwareProofPolicy.Default with { NetworkAllowance = TimeSpan.FromSeconds(30) };
        LocalProofResult result = Assert.Single(await LocalProof.RunAsync(inventory, devices, policy));
        Assert.True(result.Outcome.Passed, result.Outcome.Reason);
        Assert.Equal("cuda", result.Engine);
        Assert.Equal(256, result.Outcome.N);
        Assert.False(result.Outcome.Simulated);
        Assert.True(result.Outcome.Tier >= 1);
    }
}
