using Kumo.Cli.Devnet;
using Kumo.Client;
using Kumo.Hardware;
using Kumo.IntegrationTests.Support;
using Kumo.Protocol;
using Kumo.Testing;

namespace Kumo.IntegrationTests;

/// <summary>
/// A machine with a real (not simulated) GPU joining a real hub. No GPU here: nvidia-smi is a script and the CUDA
/// driver and cuBLAS are fake_cuda.c (their C ABI, computing on the CPU). Everything else is the product: the agent
/// process detects the GPU, opens the GPU backend through the real binding, and answers the hub's full-rate
/// challenge for a real device; an agent without a backend leaves the GPU out rather than be paused for it.
/// </summary>
public class GpuProofTests
{
    private const string Uuid = "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f"; // fake_cuda.c's device 0

    [Fact]
    public async Task An_agent_proves_its_real_gpu_through_the_cuda_backend_and_one_without_a_backend_does_not_offer_it()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-gpu-" + Guid.NewGuid().ToString("N")[..8]);
        string bin = Path.Combine(directory, "bin");
        Directory.CreateDirectory(bin);
        // 3 MiB of memory sizes the challenge to n = 256, timed at an unlisted GPU's rate (5 TFLOP/s) plus 500 ms.
        string smi = Path.Combine(bin, "nvidia-smi");
        await File.WriteAllTextAsync(smi, $"""
            #!/bin/sh
            case "$1" in
              --query-gpu=*) echo "0, Fake GPU 0, 3, {Uuid}, 550.54, 00000000:01:00.0" ;;
              *) echo "| NVIDIA-SMI 550.54    Driver Version: 550.54    CUDA Version: 12.4 |" ;;
            esac
            """.Replace("\r", "", StringComparison.Ordinal));
        File.SetUnixFileMode(smi, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        string path = bin + ":" + Environment.GetEnvironmentVariable("PATH");

        (KumoProcess hub, HubClient client) = await HubProcess.StartAsync(Path.Combine(directory, "hub"));
        await using (hub)
        using (client)
        {
            string url = client.BaseAddress.ToString();
            KumoProcess withCuda = KumoProcess.Start("with-cuda", ["provider", "start", "--hub", url, "--data", Path.Combine(directory, "with"), "--name", "with-cuda"],
                Path.Combine(directory, "with.log"),
                new Dictionary<string, string> { ["PATH"] = path, ["KUMO_CUDA_DRIVER"] = FakeCudaLibrary.Path, ["KUMO_CUBLAS"] = FakeCudaLibrary.Path });
            KumoProcess without = KumoProcess.Start("without-cuda", ["provider", "start", "--hub", url, "--data", Path.Combine(directory, "without"), "--name", "without-cuda"],
                Path.Combine(directory, "without.log"), new Dictionary<string, string> { ["PATH"] = path, ["KUMO_CUDA_DRIVER"] = "/nonexistent/libcuda.so.1" });
            await using (withCuda)
            await using (without)
            {
                IReadOnlyList<ProviderView> providers = await Eventually.Until(
                    () => client.ListProvidersAsync(),
                    list => list.Count == 2 && list.All(p => p.HardwareProof is not null),
                    "both agents to join and settle a hardware proof", seconds: 90);

                ProviderView gpu = providers.Single(p => p.Name == "with-cuda");
                GpuDevice device = Assert.Single(gpu.Inventory.Gpus);
                Assert.Equal(Uuid, device.Uuid);
                Assert.False(device.Simulated);
                Assert.True(gpu.HardwareProof == "passed", $"with-cuda: {gpu.HardwareProof}\nhub:\n{hub.Tail(30)}\nagent:\n{withCuda.Tail(30)}");
                Assert.True(gpu.MeasuredTier >= 1);
                Assert.Contains("hardware proofs of this machine's GPUs run on CUDA driver 12.4", withCuda.Tail(200), StringComparison.Ordinal);
                Assert.Contains("Fake GPU 0 n=256", hub.Tail(400), StringComparison.Ordinal);
                // The hub tells the agent its verdict, so the operator reads why the machine does (or does not) get work.
                await Eventually.Until(() => Task.FromResult(withCuda.Tail(300)),
                    log => log.Contains(" passed: " + Uuid + " n=256 in ", StringComparison.Ordinal) && log.Contains("the hub offers this machine work", StringComparison.Ordinal),
                    "the agent to log the hub's verdict", seconds: 15);

                ProviderView cpu = providers.Single(p => p.Name == "without-cuda");
                Assert.Empty(cpu.Inventory.Gpus);
                Assert.Equal("passed", cpu.HardwareProof); // its CPU, the device it does offer
                Assert.Contains($"GPU 0 (Fake GPU 0, {Uuid}) is not offered: its hardware proof cannot run here (no GPU backend: the CUDA driver library /nonexistent/libcuda.so.1 cannot be loaded)",
                    without.Tail(200), StringComparison.Ordinal);
            }
        }

        Directory.Delete(directory, recursive: true);
    }
}
