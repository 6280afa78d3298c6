using Kumo.Hardware;
using Kumo.Protocol;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Compute.Cuda;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Verification;

/// <summary>
/// Which engine computes each device's hardware proof (docs/VERIFICATION.md, "Hardware proof"): the CPU and simulated
/// devnet GPUs use the CPU tensor engine; a real GPU uses cuBLAS on that very GPU, found by its UUID. A real GPU with no
/// backend cannot answer its challenge in time, so it cannot be offered: <see cref="Provable"/> leaves it out and says why.
/// </summary>
public sealed class ProofDevices : IDisposable
{
    private static readonly SquareMultiply CpuEngine = (a, b, c, n) => Gemm.Multiply(a, b, c, n, n, n);

    private readonly CudaGemm? _cuda;

    private ProofDevices(CudaGemm? cuda, string cudaReason)
    {
        _cuda = cuda;
        CudaReason = cudaReason;
    }

    /// <summary>The CPU engine only (no real GPU to prove).</summary>
    public static ProofDevices CpuOnly { get; } = new(null, "");

    /// <summary>The GPU backend in use ("CUDA driver 12.4, cuBLAS (…)"), or null.</summary>
    public string? GpuBackend => _cuda?.Description;

    /// <summary>Why there is no GPU backend, when <see cref="GpuBackend"/> is null and a real GPU needed one.</summary>
    public string CudaReason { get; }

    /// <summary>Opens the GPU backend when <paramref name="inventory"/> has a real GPU (a machine with none never loads a CUDA library).</summary>
    public static ProofDevices For(HardwareInventory inventory)
    {
        if (!inventory.Gpus.Any(g => !g.Simulated))
        {
            return CpuOnly;
        }

        return CudaGemm.TryOpen(out CudaGemm? cuda, out string reason) ? new ProofDevices(cuda, "") : new ProofDevices(null, reason);
    }

    /// <summary>Proves real GPUs on <paramref name="cuda"/> (which it then owns and disposes).</summary>
    public static ProofDevices Using(CudaGemm cuda) => new(cuda, "");

    /// <summary>True when this device's challenge can be computed here; otherwise <paramref name="reason"/> says why not.</summary>
    public bool CanProve(GpuDevice gpu, out string reason)
    {
        if (gpu.Simulated || _cuda?.Find(gpu.Uuid) is not null)
        {
            reason = "";
            return true;
        }

        reason = _cuda is null
            ? $"no GPU backend: {CudaReason}"
            : $"the CUDA driver does not see {gpu.Uuid} (it sees {string.Join(", ", _cuda.Devices.Select(d => d.Uuid))}; check CUDA_VISIBLE_DEVICES)";
        return false;
    }

    /// <summary>
    /// <paramref name="inventory"/> without the real GPUs this machine cannot prove, each named in <paramref name="dropped"/>
    /// with the reason: offered, such a GPU would fail its first challenge and the hub would pause the whole machine.
    /// </summary>
    public HardwareInventory Provable(HardwareInventory inventory, out IReadOnlyList<string> dropped)
    {
        var reasons = new List<string>();
        var kept = new List<GpuDevice>();
        foreach (GpuDevice gpu in inventory.Gpus)
        {
            if (CanProve(gpu, out string reason))
            {
                kept.Add(gpu);
            }
            else
            {
                reasons.Add($"GPU {gpu.Index} ({gpu.Model}, {gpu.Uuid}) is not offered: its hardware proof cannot run here ({reason})");
            }
        }

        dropped = reasons;
        return reasons.Count == 0 ? inventory : inventory with { Gpus = kept };
    }

    /// <summary>The multiply for a challenged device of <paramref name="inventory"/>, or null (with a reason) when it has none here.</summary>
    public SquareMultiply? MultiplierFor(HardwareInventory inventory, string deviceId, out string reason)
    {
        reason = "";
        if (deviceId == DeviceClaim.CpuDeviceId)
        {
            return CpuEngine;
        }

        GpuDevice? gpu = inventory.Gpus.FirstOrDefault(g => string.Equals(g.Uuid, deviceId, StringComparison.OrdinalIgnoreCase));
        if (gpu is null)
        {
            reason = $"this machine declared no device {deviceId}";
            return null;
        }

        if (gpu.Simulated)
        {
            return CpuEngine;
        }

        if (_cuda?.Find(gpu.Uuid) is { } device)
        {
            CudaGemm cuda = _cuda;
            return (a, b, c, n) => cuda.Multiply(device, a, b, c, n);
        }

        CanProve(gpu, out reason);
        return null;
    }

    /// <summary>
    /// Computes every device of a challenge the way the hub times them, all from the same instant: GPUs each on their
    /// own device at once, CPU-engine devices one after another beside them. <paramref name="committed"/> is called as
    /// each commitment is ready (from any thread); <paramref name="failed"/> for a device this machine cannot compute.
    /// </summary>
    public async Task ComputeAllAsync(HardwareInventory inventory, string challengeId, IReadOnlyList<DeviceChallenge> devices,
        Action<DeviceChallenge, HardwareProver> committed, Action<DeviceChallenge, string> failed)
    {
        var onCpu = new List<(DeviceChallenge Device, SquareMultiply Multiply)>();
        var onGpu = new List<(DeviceChallenge Device, SquareMultiply Multiply)>();
        foreach (DeviceChallenge device in devices)
        {
            SquareMultiply? multiply = MultiplierFor(inventory, device.DeviceId, out string reason);
            if (multiply is null)
            {
                failed(device, reason);
            }
            else if (ReferenceEquals(multiply, CpuEngine))
            {
                onCpu.Add((device, multiply));
            }
            else
            {
                onGpu.Add((device, multiply));
            }
        }

        void Run(DeviceChallenge device, SquareMultiply multiply)
        {
            try
            {
                committed(device, HardwareProver.Compute(challengeId, device, multiply));
            }
            catch (Exception e) when (e is ArgumentException or OutOfMemoryException or CudaException)
            {
                failed(device, e.Message);
            }
        }

        var work = onGpu.Select(g => Task.Run(() => Run(g.Device, g.Multiply))).ToList();
        work.Add(Task.Run(() =>
        {
            foreach ((DeviceChallenge device, SquareMultiply multiply) in onCpu)
            {
                Run(device, multiply);
            }
        }));
        await Task.WhenAll(work);
    }

    /// <summary>
    /// Runs a 64 × 64 challenge on every engine of <paramref name="inventory"/> once: the CPU engine's code is compiled
    /// and each GPU's context, cuBLAS handle and kernels are loaded before the first (timed) challenge. A GPU that fails
    /// here is logged; its real challenge will fail the same way and say so to the hub.
    /// </summary>
    public void WarmUp(HardwareInventory inventory, ILogger? logger = null)
    {
        var warm = new DeviceChallenge(DeviceClaim.CpuDeviceId, WireEncoding.Seed(1), 64, 0);
        HardwareProver.Compute("warm-up", warm, CpuEngine).Open(new HardwareReveal("warm-up", warm.DeviceId, WireEncoding.Seed(2), 1, [0]));
        foreach (GpuDevice gpu in inventory.Gpus.Where(g => !g.Simulated))
        {
            if (MultiplierFor(inventory, gpu.Uuid, out _) is { } multiply)
            {
                try
                {
                    HardwareProver.Compute("warm-up", warm with { DeviceId = gpu.Uuid }, multiply);
                }
                catch (CudaException e)
                {
                    logger?.LogWarning("GPU {Uuid} failed its warm-up multiply: {Error}", gpu.Uuid, e.Message);
                }
            }
        }
    }

    public void Dispose() => _cuda?.Dispose();
}
