using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Tensor.Compute;

namespace Kumo.Cli.Bench;

/// <summary>
/// GFLOP/s of our deterministic GEMM at n = 256, 1024, 2048 against OpenBLAS sgemm (numpy, scripts/sgemm_anchor.py)
/// with the same thread count, measured in the same run; and whether the n = 256 product has the same SHA-256 under
/// every SIMD width and thread count (and equals the reference definition) — the property the speed must not cost.
/// </summary>
public static class TensorBenchmark
{
    public sealed record Size(double KumoGflops, double OpenblasGflops, double Ratio);

    public sealed record Result(string Scenario, Size N256, Size N1024, Size N2048, int Threads, string Width, bool Deterministic, string AnchorBlas);

    private static readonly int[] Sizes = [256, 1024, 2048];

    public static Result Run(int threads, SimdWidth width, Action<string>? status)
    {
        SimdWidth resolved = SimdWidths.Resolve(width);
        var options = new ComputeOptions { Threads = threads, Width = resolved };

        status?.Invoke($"anchor: OpenBLAS sgemm through numpy, {threads} thread(s)");
        (Dictionary<string, double> anchor, string blas) = RunAnchor(threads);

        var sizes = new Dictionary<int, Size>();
        foreach (int n in Sizes)
        {
            status?.Invoke($"kumo gemm n={n}, {threads} thread(s), {resolved}");
            double ours = Math.Round(Measure(n, options), 2);
            double theirs = anchor.GetValueOrDefault($"n{n}");
            sizes[n] = new Size(ours, theirs, theirs > 0 ? Math.Round(ours / theirs, 3) : 0);
        }

        status?.Invoke("determinism: n=256 under every width × threads 1, 2, 3 and the reference");
        return new Result("tensor", sizes[256], sizes[1024], sizes[2048], threads, resolved.ToString(), SameEverywhere(256), blas);
    }

    /// <summary>Best of a few timed runs after a warm-up (the best is the least disturbed by others on a shared machine).</summary>
    private static double Measure(int n, ComputeOptions options)
    {
        (float[] a, float[] b) = Inputs(n);
        float[] c = new float[n * n];
        Gemm.Multiply(a, b, c, n, n, n, options);
        int reps = n <= 256 ? 30 : n <= 1024 ? 5 : 3;
        double best = double.MaxValue;
        for (int r = 0; r < reps; r++)
        {
            long start = Stopwatch.GetTimestamp();
            Gemm.Multiply(a, b, c, n, n, n, options);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalSeconds);
        }

        return 2.0 * n * n * n / best / 1e9;
    }

    private static bool SameEverywhere(int n)
    {
        (float[] a, float[] b) = Inputs(n);
        float[] c = new float[n * n];
        Contract(a, b, c, n);
        string want = Hash(c);
        foreach (SimdWidth width in new[] { SimdWidth.Scalar, SimdWidth.W128, SimdWidth.W256, SimdWidth.W512 })
        {
            foreach (int threads in new[] { 1, 2, 3 })
            {
                c.AsSpan().Fill(float.NaN);
                Gemm.Multiply(a, b, c, n, n, n, new ComputeOptions { Threads = threads, Width = width });
                if (Hash(c) != want)
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>The contract of <see cref="Gemm"/> written out: one fma chain per element, k ascending from 0.</summary>
    private static void Contract(float[] a, float[] b, float[] c, int n)
    {
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float acc = 0f;
                for (int p = 0; p < n; p++)
                {
                    acc = MathF.FusedMultiplyAdd(a[(i * n) + p], b[(p * n) + j], acc);
                }

                c[(i * n) + j] = acc;
            }
        }
    }

    private static (float[] A, float[] B) Inputs(int n)
    {
        var random = new Random(n);
        float[] a = new float[n * n], b = new float[n * n];
        for (int i = 0; i < a.Length; i++)
        {
            a[i] = (float)(random.NextDouble() - 0.5);
            b[i] = (float)(random.NextDouble() - 0.5);
        }

        return (a, b);
    }

    private static string Hash(float[] values) => Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values.AsSpan())));

    /// <summary>Runs scripts/sgemm_anchor.py with OpenBLAS limited to <paramref name="threads"/> threads.</summary>
    private static (Dictionary<string, double> Gflops, string Blas) RunAnchor(int threads)
    {
        string script = FindScript() ?? throw new CliException("scripts/sgemm_anchor.py not found: run from the checkout (./kumo bench tensor)");
        string python = FindPythonWithNumpy() ?? throw new CliException("no python3 with numpy: install it (sudo apt-get install -y python3-numpy libopenblas0-pthread), or run through ./kumo, which does");
        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(script);
        foreach (int n in Sizes)
        {
            start.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        string t = threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["OPENBLAS_NUM_THREADS"] = t;
        start.Environment["OMP_NUM_THREADS"] = t;
        using Process process = Process.Start(start) ?? throw new CliException($"could not start {python}");
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new CliException($"the sgemm anchor failed (exit {process.ExitCode}): {error.Result.Trim()}");
        }

        var gflops = new Dictionary<string, double>();
        string blas = "unknown";
        using JsonDocument json = JsonDocument.Parse(output.Trim().Split('\n')[^1]);
        foreach (JsonProperty property in json.RootElement.EnumerateObject())
        {
            if (property.Value.ValueKind == JsonValueKind.Number)
            {
                gflops[property.Name] = property.Value.GetDouble();
            }
            else if (property.Name == "blas")
            {
                blas = property.Value.GetString() ?? blas;
            }
        }

        return (gflops, blas);
    }

    /// <summary>The script in KUMO_REPO_ROOT (set by ./kumo), else in the nearest ancestor of the working directory or of this binary.</summary>
    private static string? FindScript()
    {
        const string relative = "scripts/sgemm_anchor.py";
        if (Environment.GetEnvironmentVariable("KUMO_REPO_ROOT") is { Length: > 0 } root && File.Exists(Path.Combine(root, relative)))
        {
            return Path.Combine(root, relative);
        }

        foreach (string from in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (DirectoryInfo? d = new(from); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, relative)))
                {
                    return Path.Combine(d.FullName, relative);
                }
            }
        }

        return null;
    }

    /// <summary>python3 on the PATH when it has numpy; else the system's (a pyenv or venv python3 may lack it).</summary>
    private static string? FindPythonWithNumpy()
    {
        foreach (string candidate in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                var check = new ProcessStartInfo(candidate) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
                check.ArgumentList.Add("-c");
                check.ArgumentList.Add("import numpy");
                using Process? process = Process.Start(check);
                if (process is null)
                {
                    continue;
                }

                process.StandardError.ReadToEnd();
                process.WaitForExit();
                if (process.ExitCode == 0)
                {
                    return candidate;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed under that name.
            }
        }

        return null;
    }
}
