namespace Kumo.Tensor.Compute;

/// <summary>
/// Matrix multiply, row-major: C (m × n) = A (m × k) · B (k × n), optionally accumulating into C.
/// <para>
/// The determinism contract for every element: <c>c[i,j] = fma(a[i,k-1], b[k-1,j], … fma(a[i,1], b[1,j],
/// fma(a[i,0], b[0,j], c0)))</c> — one fused multiply-add per k, in ascending k, starting from 0 (or from the old
/// C when accumulating). Vectorizing over j and splitting rows or columns across threads keep that chain; splitting
/// k never happens. So every width and thread count gives the same bits.
/// </para>
/// </summary>
public static class Gemm
{
    /// <summary>C = A·B (or C += A·B with <paramref name="accumulate"/>).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        ComputeOptions? options = null, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, k, n);
        _ = options;
        Reference(a, b, c, m, k, n, accumulate);
    }

    /// <summary>The contract itself, one element at a time (the slow reference every fast kernel must equal bit for bit).</summary>
    internal static void Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float acc = accumulate ? c[(i * n) + j] : 0f;
                for (int p = 0; p < k; p++)
                {
                    acc = MathF.FusedMultiplyAdd(a[(i * k) + p], b[(p * n) + j], acc);
                }

                c[(i * n) + j] = acc;
            }
        }
    }

    private static void Check(int aLength, int bLength, int cLength, int m, int k, int n)
    {
        if (m < 0 || k < 0 || n < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(m), $"matrix dimensions must not be negative (m={m}, k={k}, n={n})");
        }

        if (aLength < (long)m * k || bLength < (long)k * n || cLength < (long)m * n)
        {
            throw new ArgumentException($"buffers too small for {m}×{k} · {k}×{n}: A {aLength}, B {bLength}, C {cLength} elements");
        }
    }
}
