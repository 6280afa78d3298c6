using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;

namespace Kumo.Tensor.Compute.Cuda;

/// <summary>A CUDA device as the driver reports it; <see cref="Uuid"/> is written as nvidia-smi writes it ("GPU-…").</summary>
public sealed record CudaDevice(int Ordinal, string Uuid, string Name, long MemoryBytes);

/// <summary>A CUDA driver or cuBLAS call that failed, with the library's own name for the error.</summary>
public sealed class CudaException(string message) : Exception(message);

/// <summary>
/// The GPU backend behind <see cref="Gemm"/> for square fp32 products, through the NVIDIA driver API and cuBLAS's SGEMM,
/// both loaded at run time (<see cref="TryOpen(out CudaGemm?, out string)"/>). One call uploads A and B, multiplies, waits and downloads C; calls on
/// one device run one at a time, calls on different devices run in parallel. SGEMM sums in fp32 in its own order: for
/// operands whose every partial sum is an integer below 2^24 (the hardware proof's matrices) the result is exact and so
/// equal, bit for bit, to the CPU engine's.
/// </summary>
public sealed unsafe class CudaGemm : IDisposable
{
    private const int CublasOpN = 0;

    private readonly Driver _driver;
    private readonly Cublas _cublas;
    private readonly PerDevice[] _devices;
    private bool _disposed;

    private CudaGemm(Driver driver, Cublas cublas, PerDevice[] devices, string description)
    {
        _driver = driver;
        _cublas = cublas;
        _devices = devices;
        Description = description;
    }

    /// <summary>The devices the driver sees, in its order (set CUDA_VISIBLE_DEVICES to hide some).</summary>
    public IReadOnlyList<CudaDevice> Devices => [.. _devices.Select(d => d.Device)];

    /// <summary>"CUDA driver 12.4, cuBLAS 12.4.5 (libcublas.so.12)", for logs and <c>kumo provider prove</c>.</summary>
    public string Description { get; }

    /// <summary>
    /// Opens the backend: loads the driver and cuBLAS, initialises the driver and lists its devices. False, with a reason a
    /// person can act on, when any of that is missing (no NVIDIA driver, no cuBLAS, no device).
    /// </summary>
    public static bool TryOpen([NotNullWhen(true)] out CudaGemm? gemm, out string reason) => TryOpen(null, null, out gemm, out reason);

    /// <summary>
    /// <see cref="TryOpen(out CudaGemm?, out string)"/> with the driver and cuBLAS libraries at these paths (null: as
    /// usual, including the <c>KUMO_CUDA_DRIVER</c> and <c>KUMO_CUBLAS</c> variables).
    /// </summary>
    public static bool TryOpen(string? driverPath, string? cublasPath, [NotNullWhen(true)] out CudaGemm? gemm, out string reason)
    {
        gemm = null;
        if (!OperatingSystem.IsLinux())
        {
            reason = "the GPU backend runs on Linux only";
            return false;
        }

        if (!CudaLibraries.TryLoadDriver(driverPath, out IntPtr driverHandle, out reason))
        {
            return false;
        }

        Driver driver;
        try
        {
            driver = new Driver(driverHandle);
        }
        catch (EntryPointNotFoundException e)
        {
            reason = $"the NVIDIA driver is too old for the GPU backend ({e.Message})";
            return false;
        }

        int status = driver.Init(0);
        if (status != 0)
        {
            reason = $"the NVIDIA driver did not start (cuInit: {driver.ErrorName(status)})";
            return false;
        }

        int count = 0;
        status = driver.DeviceGetCount(&count);
        if (status != 0 || count == 0)
        {
            reason = status != 0 ? $"cuDeviceGetCount: {driver.ErrorName(status)}" : "the NVIDIA driver sees no device";
            return false;
        }

        if (!CudaLibraries.TryLoadCublas(cublasPath, out IntPtr cublasHandle, out string cublasFrom, out reason))
        {
            return false;
        }

        Cublas cublas;
        try
        {
            cublas = new Cublas(cublasHandle);
        }
        catch (EntryPointNotFoundException e)
        {
            reason = $"{cublasFrom} lacks an entry point the GPU backend needs ({e.Message})";
            return false;
        }

        var devices = new PerDevice[count];
        try
        {
            for (int ordinal = 0; ordinal < count; ordinal++)
            {
                devices[ordinal] = new PerDevice(driver.Describe(ordinal));
            }
        }
        catch (CudaException e)
        {
            reason = e.Message;
            return false;
        }

        int driverVersion = 0;
        driver.DriverGetVersion(&driverVersion);
        gemm = new CudaGemm(driver, cublas, devices, $"CUDA driver {driverVersion / 1000}.{driverVersion % 1000 / 10}, cuBLAS ({cublasFrom})");
        reason = "";
        return true;
    }

    /// <summary>The device with this UUID ("GPU-…", as nvidia-smi and the inventory write it), or null.</summary>
    public CudaDevice? Find(string uuid) =>
        _devices.Select(d => d.Device).FirstOrDefault(d => string.Equals(d.Uuid, uuid, StringComparison.OrdinalIgnoreCase));

    /// <summary>C = A·B for n × n row-major fp32 matrices, on <paramref name="device"/>. Blocks until C is back in host memory.</summary>
    public void Multiply(CudaDevice device, float[] a, float[] b, float[] c, int n)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        long count = (long)n * n;
        if (n < 1 || a.LongLength < count || b.LongLength < count || c.LongLength < count)
        {
            throw new ArgumentException($"A, B and C must hold {n} × {n} values", nameof(n));
        }

        PerDevice state = _devices[device.Ordinal];
        nuint bytes = (nuint)(count * sizeof(float));
        lock (state)
        {
            Check(_driver.CtxSetCurrent(state.Context(_driver)), "cuCtxSetCurrent");
            IntPtr handle = state.Handle(_cublas);
            ulong da = 0, db = 0, dc = 0;
            try
            {
                Check(_driver.MemAlloc(&da, bytes), $"cuMemAlloc of {bytes} bytes (A) on {device.Name}");
                Check(_driver.MemAlloc(&db, bytes), $"cuMemAlloc of {bytes} bytes (B) on {device.Name}");
                Check(_driver.MemAlloc(&dc, bytes), $"cuMemAlloc of {bytes} bytes (C) on {device.Name}");
                fixed (float* pa = a, pb = b)
                {
                    Check(_driver.MemcpyHtoD(da, pa, bytes), "cuMemcpyHtoD (A)");
                    Check(_driver.MemcpyHtoD(db, pb, bytes), "cuMemcpyHtoD (B)");
                }

                // cuBLAS is column-major: a row-major X is its Xᵀ. Cᵀ = Bᵀ·Aᵀ, so passing B then A yields row-major C.
                float alpha = 1, beta = 0;
                CheckBlas(_cublas.Sgemm(handle, CublasOpN, CublasOpN, n, n, n, &alpha, (nint)db, n, (nint)da, n, &beta, (nint)dc, n), "cublasSgemm");
                Check(_driver.CtxSynchronize(), "cuCtxSynchronize after SGEMM");
                fixed (float* pc = c)
                {
                    Check(_driver.MemcpyDtoH(pc, dc, bytes), "cuMemcpyDtoH (C)");
                }
            }
            finally
            {
                foreach (ulong pointer in new[] { da, db, dc })
                {
                    if (pointer != 0)
                    {
                        _driver.MemFree(pointer);
                    }
                }
            }
        }
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (PerDevice state in _devices)
        {
            lock (state)
            {
                state.Release(_driver, _cublas);
            }
        }
    }

    private void Check(int status, string what)
    {
        if (status != 0)
        {
            throw new CudaException($"{what}: {_driver.ErrorName(status)}");
        }
    }

    private static void CheckBlas(int status, string what)
    {
        if (status != 0)
        {
            throw new CudaException($"{what}: {Cublas.StatusName(status)}");
        }
    }

    /// <summary>A device's primary context and cuBLAS handle, made on first use.</summary>
    private sealed class PerDevice(CudaDevice device)
    {
        private IntPtr _context;
        private IntPtr _handle;

        public CudaDevice Device { get; } = device;

        public IntPtr Context(Driver driver)
        {
            if (_context == IntPtr.Zero)
            {
                IntPtr context;
                int status = driver.PrimaryCtxRetain(&context, Device.Ordinal);
                if (status != 0)
                {
                    throw new CudaException($"cuDevicePrimaryCtxRetain({Device.Name}): {driver.ErrorName(status)}");
                }

                _context = context;
            }

            return _context;
        }

        public IntPtr Handle(Cublas cublas)
        {
            if (_handle == IntPtr.Zero)
            {
                IntPtr handle;
                CheckBlas(cublas.Create(&handle), $"cublasCreate on {Device.Name}");
                _handle = handle;
            }

            return _handle;
        }

        public void Release(Driver driver, Cublas cublas)
        {
            if (_handle != IntPtr.Zero)
            {
                driver.CtxSetCurrent(_context);
                cublas.Destroy(_handle);
                _handle = IntPtr.Zero;
            }

            if (_context != IntPtr.Zero)
            {
                driver.PrimaryCtxRelease(Device.Ordinal);
                _context = IntPtr.Zero;
            }
        }
    }

    /// <summary>The driver API entry points used (CUDA 11 and later export all of them).</summary>
    private sealed class Driver(IntPtr library)
    {
        public readonly delegate* unmanaged<uint, int> Init = (delegate* unmanaged<uint, int>)Export(library, "cuInit");
        public readonly delegate* unmanaged<int*, int> DriverGetVersion = (delegate* unmanaged<int*, int>)Export(library, "cuDriverGetVersion");
        public readonly delegate* unmanaged<int*, int> DeviceGetCount = (delegate* unmanaged<int*, int>)Export(library, "cuDeviceGetCount");
        public readonly delegate* unmanaged<int*, int, int> DeviceGet = (delegate* unmanaged<int*, int, int>)Export(library, "cuDeviceGet");
        public readonly delegate* unmanaged<byte*, int, int, int> DeviceGetName = (delegate* unmanaged<byte*, int, int, int>)Export(library, "cuDeviceGetName");
        public readonly delegate* unmanaged<byte*, int, int> DeviceGetUuid = (delegate* unmanaged<byte*, int, int>)Export(library, "cuDeviceGetUuid_v2", "cuDeviceGetUuid");
        public readonly delegate* unmanaged<nuint*, int, int> DeviceTotalMem = (delegate* unmanaged<nuint*, int, int>)Export(library, "cuDeviceTotalMem_v2");
        public readonly delegate* unmanaged<IntPtr*, int, int> PrimaryCtxRetain = (delegate* unmanaged<IntPtr*, int, int>)Export(library, "cuDevicePrimaryCtxRetain");
        public readonly delegate* unmanaged<int, int> PrimaryCtxRelease = (delegate* unmanaged<int, int>)Export(library, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease");
        public readonly delegate* unmanaged<IntPtr, int> CtxSetCurrent = (delegate* unmanaged<IntPtr, int>)Export(library, "cuCtxSetCurrent");
        public readonly delegate* unmanaged<int> CtxSynchronize = (delegate* unmanaged<int>)Export(library, "cuCtxSynchronize");
        public readonly delegate* unmanaged<ulong*, nuint, int> MemAlloc = (delegate* unmanaged<ulong*, nuint, int>)Export(library, "cuMemAlloc_v2");
        public readonly delegate* unmanaged<ulong, int> MemFree = (delegate* unmanaged<ulong, int>)Export(library, "cuMemFree_v2");
        public readonly delegate* unmanaged<ulong, void*, nuint, int> MemcpyHtoD = (delegate* unmanaged<ulong, void*, nuint, int>)Export(library, "cuMemcpyHtoD_v2");
        public readonly delegate* unmanaged<void*, ulong, nuint, int> MemcpyDtoH = (delegate* unmanaged<void*, ulong, nuint, int>)Export(library, "cuMemcpyDtoH_v2");
        private readonly delegate* unmanaged<int, byte**, int> _getErrorName = (delegate* unmanaged<int, byte**, int>)Export(library, "cuGetErrorName");

        public string ErrorName(int status)
        {
            byte* name = null;
            return _getErrorName(status, &name) == 0 && name is not null ? Marshal.PtrToStringUTF8((IntPtr)name) ?? $"CUresult {status}" : $"CUresult {status}";
        }

        public CudaDevice Describe(int ordinal)
        {
            int device;
            Check(DeviceGet(&device, ordinal), "cuDeviceGet", ordinal);
            byte* name = stackalloc byte[256];
            Check(DeviceGetName(name, 256, device), "cuDeviceGetName", ordinal);
            byte* uuid = stackalloc byte[16];
            Check(DeviceGetUuid(uuid, device), "cuDeviceGetUuid", ordinal);
            nuint memory;
            Check(DeviceTotalMem(&memory, device), "cuDeviceTotalMem", ordinal);
            return new CudaDevice(ordinal, FormatUuid(new ReadOnlySpan<byte>(uuid, 16)), Marshal.PtrToStringUTF8((IntPtr)name) ?? "", (long)memory);
        }

        private void Check(int status, string what, int ordinal)
        {
            if (status != 0)
            {
                throw new CudaException($"{what}(device {ordinal}): {ErrorName(status)}");
            }
        }
    }

    /// <summary>The cuBLAS v2 entry points used.</summary>
    private sealed class Cublas(IntPtr library)
    {
        public readonly delegate* unmanaged<IntPtr*, int> Create = (delegate* unmanaged<IntPtr*, int>)Export(library, "cublasCreate_v2");
        public readonly delegate* unmanaged<IntPtr, int> Destroy = (delegate* unmanaged<IntPtr, int>)Export(library, "cublasDestroy_v2");
        public readonly delegate* unmanaged<IntPtr, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int> Sgemm =
            (delegate* unmanaged<IntPtr, int, int, int, int, int, float*, nint, int, nint, int, float*, nint, int, int>)Export(library, "cublasSgemm_v2");

        public static string StatusName(int status) => status switch
        {
            1 => "CUBLAS_STATUS_NOT_INITIALIZED",
            3 => "CUBLAS_STATUS_ALLOC_FAILED",
            7 => "CUBLAS_STATUS_INVALID_VALUE",
            8 => "CUBLAS_STATUS_ARCH_MISMATCH",
            11 => "CUBLAS_STATUS_MAPPING_ERROR",
            13 => "CUBLAS_STATUS_EXECUTION_FAILED",
            14 => "CUBLAS_STATUS_INTERNAL_ERROR",
            15 => "CUBLAS_STATUS_NOT_SUPPORTED",
            16 => "CUBLAS_STATUS_LICENSE_ERROR",
            _ => $"cublasStatus {status}",
        };
    }

    /// <summary>nvidia-smi's form of a device UUID: "GPU-" and the 16 bytes as 8-4-4-4-12 lowercase hex.</summary>
    internal static string FormatUuid(ReadOnlySpan<byte> uuid)
    {
        string hex = Convert.ToHexStringLower(uuid);
        var text = new StringBuilder("GPU-", 40);
        text.Append(hex, 0, 8).Append('-').Append(hex, 8, 4).Append('-').Append(hex, 12, 4).Append('-').Append(hex, 16, 4).Append('-').Append(hex, 20, 12);
        return text.ToString();
    }

    private static IntPtr Export(IntPtr library, params string[] names)
    {
        foreach (string name in names)
        {
            if (NativeLibrary.TryGetExport(library, name, out IntPtr address))
            {
                return address;
            }
        }

        throw new EntryPointNotFoundException(string.Join(" / ", names));
    }
}
