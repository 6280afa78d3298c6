using Kumo.Tensor.Compute;
using Kumo.Tensor.Compute.Cuda;

namespace Kumo.Tensor.Tests.Compute;

/// <summary>
/// The GPU backend. On a machine without an NVIDIA driver and cuBLAS (CI) it must say why it is absent; on one with
/// them it must give the CPU engine's bits for integer operands (what the hardware proof relies on).
/// </summary>
public class CudaGemmTests
{
    [Fact]
    public void A_uuid_is_written_as_nvidia_smi_writes_it()
    {
        byte[] uuid = Convert.FromHexString("5d8b1e2f0a3c4b5d8e9f00112233aabb");
        Assert.Equal("GPU-5d8b1e2f-0a3c-4b5d-8e9f-00112233aabb", CudaGemm.FormatUuid(uuid));
    }

    [Fact]
    public void Where_there_is_no_backend_it_says_why_and_where_there_is_one_it_matches_the_cpu_engine_bit_for_bit()
    {
        if (!CudaGemm.TryOpen(out CudaGemm? gemm, out string reason))
        {
            Assert.False(string.IsNullOrWhiteSpace(reason));
            Assert.Matches("driver|cuBLAS|device|Linux", reason);
            return;
        }

        using (gemm)
        {
            Assert.NotEmpty(gemm.Devices);
            Assert.All(gemm.Devices, d => Assert.StartsWith("GPU-", d.Uuid, StringComparison.Ordinal));
            foreach (int n in new[] { 64, 257, 1024 })
            {
                var random = new Random(n);
                float[] a = [.. Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-8, 8))];
                float[] b = [.. Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-8, 8))];
                float[] cpu = new float[n * n];
                float[] gpu = new float[n * n];
                Gemm.Multiply(a, b, cpu, n, n, n);
                gemm.Multiply(gemm.Devices[0], a, b, gpu, n);
                Assert.Equal(cpu, gpu);
            }

            Assert.Equal(gemm.Devices[0], gemm.Find(gemm.Devices[0].Uuid.ToUpperInvariant()));
        }
    }
}

/// <summary>
/// The binding against fake_cuda.c, which has the C ABI of libcuda and libcublas and computes on the CPU: argument
/// order, the row-major trick, device listing and the error paths. What it cannot show is a real GPU's speed.
/// </summary>
public class CudaBindingTests
{
    private static CudaGemm Open()
    {
        Assert.True(CudaGemm.TryOpen(Kumo.Testing.FakeCudaLibrary.Path, Kumo.Testing.FakeCudaLibrary.Path, out CudaGemm? gemm, out string reason), reason);
        return gemm;
    }

    [Fact]
    public void It_lists_the_drivers_devices_with_their_uuids_names_and_memory()
    {
        using CudaGemm gemm = Open();
        Assert.Equal(
            [
                new CudaDevice(0, "GPU-00010203-0405-0607-0809-0a0b0c0d0e0f", "Fake GPU 0", 1L << 30),
                new CudaDevice(1, "GPU-10111213-1415-1617-1819-1a1b1c1d1e1f", "Fake GPU 1", 2L << 30),
            ],
            gemm.Devices);
        Assert.Contains("CUDA driver 12.4", gemm.Description);
        Assert.Equal(gemm.Devices[1], gemm.Find("GPU-10111213-1415-1617-1819-1A1B1C1D1E1F"));
        Assert.Null(gemm.Find("GPU-ffffffff-ffff-ffff-ffff-ffffffffffff"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(131)]
    public void A_row_major_product_comes_back_as_the_cpu_engine_computes_it(int n)
    {
        using CudaGemm gemm = Open();
        var random = new Random(n);
        float[] a = [.. Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-8, 8))];
        float[] b = [.. Enumerable.Range(0, n * n).Select(_ => (float)random.Next(-8, 8))];
        float[] expected = new float[n * n];
        Gemm.Multiply(a, b, expected, n, n, n);
        foreach (CudaDevice device in gemm.Devices)
        {
            float[] c = Enumerable.Repeat(float.NaN, n * n).ToArray();
            gemm.Multiply(device, a, b, c, n);
            Assert.Equal(expected, c);
        }
    }

    [Fact]
    public void Driver_and_cublas_failures_are_named()
    {
        using CudaGemm gemm = Open();
        float[] m = new float[16];

        Kumo.Testing.FakeCudaLibrary.Fail("cuMemAlloc_v2", 2);
        CudaException oom = Assert.Throws<CudaException>(() => gemm.Multiply(gemm.Devices[0], m, m, m, 4));
        Assert.Equal("cuMemAlloc of 64 bytes (A) on Fake GPU 0: CUDA_ERROR_OUT_OF_MEMORY", oom.Message);

        Kumo.Testing.FakeCudaLibrary.Fail("cublasSgemm_v2", 13);
        Assert.Equal("cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED",
            Assert.Throws<CudaException>(() => gemm.Multiply(gemm.Devices[0], m, m, m, 4)).Message);

        Assert.Throws<ArgumentException>(() => gemm.Multiply(gemm.Devices[0], m, m, m, 5));
        gemm.Multiply(gemm.Devices[0], m, m, m, 4); // the faults were one-off: it still works

        Kumo.Testing.FakeCudaLibrary.Fail("cuInit", 100);
        Assert.False(CudaGemm.TryOpen(Kumo.Testing.FakeCudaLibrary.Path, Kumo.Testing.FakeCudaLibrary.Path, out _, out string reason));
        Assert.Equal("the NVIDIA driver did not start (cuInit: CUDA_ERROR_NO_DEVICE)", reason);

        Assert.False(CudaGemm.TryOpen("/nonexistent/libcuda.so.1", null, out _, out reason));
        Assert.Equal("the CUDA driver library /nonexistent/libcuda.so.1 cannot be loaded", reason);
        Assert.False(CudaGemm.TryOpen(Kumo.Testing.FakeCudaLibrary.Path, "/nonexistent/libcublas.so.12", out _, out reason));
        Assert.Equal("cuBLAS library /nonexistent/libcublas.so.12 cannot be loaded", reason);
    }
}
