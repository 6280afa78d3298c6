using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Kumo.Testing;

/// <summary>
/// fake_cuda.c (a CPU stand-in with the C ABI of libcuda and libcublas, see its header), built once per test process
/// with the system's C compiler. It tests the GPU backend's binding on machines without a GPU; it is no GPU.
/// </summary>
internal static class FakeCudaLibrary
{
    private static readonly Lazy<string> Built = new(Build);

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void FailNext([MarshalAs(UnmanagedType.LPUTF8Str)] string entry, int code);

    /// <summary>The built library: pass it as both the driver and cuBLAS.</summary>
    public static string Path => Built.Value;

    /// <summary>The next call of <paramref name="entry"/> returns <paramref name="code"/>.</summary>
    public static void Fail(string entry, int code)
    {
        IntPtr library = NativeLibrary.Load(Path);
        Marshal.GetDelegateForFunctionPointer<FailNext>(NativeLibrary.GetExport(library, "fake_cuda_fail"))(entry, code);
    }

    private static string Build()
    {
        string source = System.IO.Path.Combine(AppContext.BaseDirectory, "FakeCuda", "fake_cuda.c");
        string directory = System.IO.Path.Combine(AppContext.BaseDirectory, $"fakecuda-{Environment.ProcessId}");
        Directory.CreateDirectory(directory);
        string output = System.IO.Path.Combine(directory, "libfakecuda.so");
        var start = new ProcessStartInfo("cc", ["-shared", "-fPIC", "-O2", "-o", output, source]) { RedirectStandardError = true };
        Process compiler;
        try
        {
            compiler = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"a C compiler (cc) is needed to build the fake CUDA library: {e.Message} (apt-get install gcc)", e);
        }

        string errors = compiler.StandardError.ReadToEnd();
        compiler.WaitForExit();
        return compiler.ExitCode == 0 ? output : throw new InvalidOperationException($"cc failed on {source}: {errors}");
    }
}
