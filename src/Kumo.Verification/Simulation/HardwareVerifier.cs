using System.Diagnostics;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Simulation;

/// <summary>What a provider says its machine is: a hardware class and the fp32 matrix-multiply throughput it implies.</summary>
public sealed record HardwareClaim(string HardwareClass, double Gflops);

/// <summary>The provider's side of a hardware check: multiply two n × n matrices, row-major.</summary>
public interface IGemmProver
{
    float[] Multiply(float[] a, float[] b, int n);
}

/// <summary>A hardware check's result: whether it passed, the measured throughput, and whether the product was right.</summary>
public sealed record HardwareCheck(bool Passed, double MeasuredGflops, bool Correct);

/// <summary>
/// Checks a hardware claim. The seam where the real hardware proof (Freivalds-checked GEMM challenges with timing
/// bounds) plugs in.
/// </summary>
public interface IHardwareVerifier
{
    HardwareCheck Verify(IGemmProver prover, HardwareClaim claim, ulong challengeSeed);
}

/// <summary>
/// Claimed-versus-measured throughput: random n × n matrices from the challenge seed, the provider's product timed
/// (best of <paramref name="tries"/>), a few entries recomputed exactly (one fma chain in ascending order, which is
/// <see cref="Gemm"/>'s contract) to show the product is real, and a pass when the measured rate is at least
/// <paramref name="tolerance"/> of the claim — loose enough for a busy honest machine, far too tight for a CPU
/// claiming to be a GPU.
/// </summary>
public sealed class TimedGemmHardwareVerifier(int size = 128, double tolerance = 0.2, int tries = 3) : IHardwareVerifier
{
    public HardwareCheck Verify(IGemmProver prover, HardwareClaim claim, ulong challengeSeed)
    {
        ArgumentNullException.ThrowIfNull(prover);
        ArgumentNullException.ThrowIfNull(claim);
        int n = size;
        var random = new Philox(challengeSeed, 0, 7);
        float[] a = new float[n * n], b = new float[n * n];
        random.FillUniform(a);
        random.FillUniform(b);
        double best = double.MaxValue;
        bool correct = true;
        for (int t = 0; t < tries && correct; t++)
        {
            long started = Stopwatch.GetTimestamp();
            float[] c = prover.Multiply(a, b, n);
            best = Math.Min(best, Stopwatch.GetElapsedTime(started).TotalSeconds);
            correct = c.Length == n * n && SpotCheck(a, b, c, n, random);
        }

        double gflops = 2.0 * n * n * n / Math.Max(best, 1e-9) / 1e9;
        return new HardwareCheck(correct && gflops >= tolerance * claim.Gflops, gflops, correct);
    }

    private static bool SpotCheck(float[] a, float[] b, float[] c, int n, Philox random)
    {
        for (int s = 0; s < 8; s++)
        {
            int i = random.NextInt(n), j = random.NextInt(n);
            float sum = 0;
            for (int p = 0; p < n; p++)
            {
                sum = MathF.FusedMultiplyAdd(a[(i * n) + p], b[(p * n) + j], sum);
            }

            if (BitConverter.SingleToInt32Bits(sum) != BitConverter.SingleToInt32Bits(c[(i * n) + j]))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>A prover that really multiplies, with <see cref="Gemm"/> on one thread.</summary>
public sealed class CpuGemmProver : IGemmProver
{
    private static readonly ComputeOptions OneThread = new() { Threads = 1 };

    public float[] Multiply(float[] a, float[] b, int n)
    {
        float[] c = new float[n * n];
        Gemm.Multiply(a, b, c, n, n, n, OneThread);
        return c;
    }
}
