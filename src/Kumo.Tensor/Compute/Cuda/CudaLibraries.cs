using System.Runtime.InteropServices;

namespace Kumo.Tensor.Compute.Cuda;

/// <summary>
/// Finds the NVIDIA libraries the GPU backend calls: the driver (<c>libcuda.so.1</c>, installed with every NVIDIA
/// driver) and cuBLAS (<c>libcublas.so.N</c>, from a CUDA toolkit, a distribution package or a Python wheel such as
/// <c>nvidia-cublas-cu12</c>). Nothing is linked at build time, so a machine without them builds and runs; it just has
/// no GPU backend.
/// </summary>
internal static class CudaLibraries
{
    /// <summary>Set to the path of a libcublas.so to use that one.</summary>
    public const string CublasVariable = "KUMO_CUBLAS";

    /// <summary>Set to the path of a libcuda.so to use that one instead of the system's.</summary>
    public const string DriverVariable = "KUMO_CUDA_DRIVER";

    private static readonly string[] DriverNames = ["libcuda.so.1", "libcuda.so"];

    private static readonly string[] CublasVersions = ["13", "12", "11"];

    /// <summary>Loads the driver: <paramref name="path"/> if given, else <see cref="DriverVariable"/> if set, else libcuda.so.1 from the linker's path.</summary>
    public static bool TryLoadDriver(string? path, out IntPtr handle, out string reason)
    {
        path ??= Environment.GetEnvironmentVariable(DriverVariable);
        if (!string.IsNullOrWhiteSpace(path))
        {
            reason = NativeLibrary.TryLoad(path, out handle) ? "" : $"the CUDA driver library {path} cannot be loaded";
            return reason.Length == 0;
        }

        foreach (string name in DriverNames)
        {
            if (NativeLibrary.TryLoad(name, out handle))
            {
                reason = "";
                return true;
            }
        }

        handle = IntPtr.Zero;
        reason = "the NVIDIA driver library (libcuda.so.1) is not installed";
        return false;
    }

    /// <summary>
    /// Loads cuBLAS: <paramref name="forced"/> if given, else <see cref="CublasVariable"/> if set, else the dynamic linker's search path, else the usual install
    /// directories. cuBLAS needs cuBLASLt from its own directory, which is loaded first so the linker finds it by name.
    /// </summary>
    public static bool TryLoadCublas(string? forced, out IntPtr handle, out string loadedFrom, out string reason)
    {
        forced ??= Environment.GetEnvironmentVariable(CublasVariable);
        if (!string.IsNullOrWhiteSpace(forced))
        {
            if (TryLoadFile(forced, out handle))
            {
                loadedFrom = forced;
                reason = "";
                return true;
            }

            loadedFrom = "";
            reason = $"cuBLAS library {forced} cannot be loaded";
            return false;
        }

        foreach (string version in CublasVersions)
        {
            if (NativeLibrary.TryLoad($"libcublas.so.{version}", out handle))
            {
                loadedFrom = $"libcublas.so.{version}";
                reason = "";
                return true;
            }
        }

        foreach (string directory in SearchDirectories())
        {
            foreach (string version in CublasVersions)
            {
                string path = Path.Combine(directory, $"libcublas.so.{version}");
                if (File.Exists(path) && TryLoadFile(path, out handle))
                {
                    loadedFrom = path;
                    reason = "";
                    return true;
                }
            }
        }

        handle = IntPtr.Zero;
        loadedFrom = "";
        reason = $"cuBLAS (libcublas.so.12 or .13) is not on the library path nor in /usr/local/cuda or a Python 'nvidia' package; install it or set {CublasVariable}";
        return false;
    }

    private static bool TryLoadFile(string path, out IntPtr handle)
    {
        string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            foreach (string lt in Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "libcublasLt.so.*") : [])
            {
                if (NativeLibrary.TryLoad(lt, out _))
                {
                    break;
                }
            }
        }

        return NativeLibrary.TryLoad(path, out handle);
    }

    /// <summary>Where CUDA toolkits, conda and pip put cuBLAS.</summary>
    private static IEnumerable<string> SearchDirectories()
    {
        yield return "/usr/local/cuda/lib64";
        yield return "/usr/local/cuda/targets/x86_64-linux/lib";
        yield return "/usr/local/cuda/targets/sbsa-linux/lib";
        yield return "/opt/conda/lib";
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string[] roots = ["/usr/lib", "/usr/local/lib", "/opt/conda/lib", Path.Combine(home, ".local", "lib")];
        foreach (string root in roots)
        {
            if (!Directory.Exists(root))
            {
                continue;
            }

            foreach (string python in SafeDirectories(root, "python3*"))
            {
                foreach (string packages in new[] { "site-packages", "dist-packages" })
                {
                    string lib = Path.Combine(python, packages, "nvidia", "cublas", "lib");
                    if (Directory.Exists(lib))
                    {
                        yield return lib;
                    }
                }
            }
        }
    }

    private static IEnumerable<string> SafeDirectories(string root, string pattern)
    {
        try
        {
            return Directory.GetDirectories(root, pattern);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
