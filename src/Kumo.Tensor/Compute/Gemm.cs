namespace Kumo.Tensor.Compute;

/// <summary>
/// Matrix multiply, row-major: C (m × n) = A (m × k) · B (k × n), optionally accumulating into C.
/// <para>
/// The determinism contract for every element: <c>c[i,j] = fma(a[i,k-1], b[k-1,j], … fma(a[i,1], b[1,j],
/// fma(a[i,0], b[0,j], c0)))</c> — one fused multiply-add per k, in ascending k, starting from 0 (or from the old
/// C when accumulating). Vectorizing over j and splitting rows or columns across threads keep that chain; splitting
/// k never happens. So every width and thread count gives the same bits.
/// </para>
/// <para>
/// How it is fast anyway (GemmKernels): B is packed into column slivers, A into row slivers, and register-blocked
/// micro-kernels (6 rows × 2 vectors) run the chains of a whole tile side by side; k is cut into blocks for the caches,
/// but the blocks are processed in ascending order and the tile is stored to C and reloaded between them, an exact
/// round trip, so the chain is unbroken. C must not overlap A or B.
/// </para>
/// </summary>
public static class Gemm
{
    /// <summary>C = A·B (or C += A·B with <paramref name="accumulate"/>).</summary>
    public static void Multiply(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        ComputeOptions? options = null, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, k, n);
        GemmKernels.Run(a, b, c, m, k, n, transA: false, transB: false, options, accumulate);
    }

    /// <summary>
    /// C (m × n) = Aᵀ·B where A is stored row-major as k × m and B as k × n — the weight gradient Xᵀ·dY of a linear
    /// layer, without materializing the transpose. Contract: <c>c[i,j]</c> is one fma chain over p ascending of
    /// <c>a[p,i]·b[p,j]</c>, starting from 0 (or the old C with <paramref name="accumulate"/>); bit-identical to
    /// transposing A and calling <see cref="Multiply"/>.
    /// </summary>
    public static void MultiplyTransposedA(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        ComputeOptions? options = null, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, k, n);
        GemmKernels.Run(a, b, c, m, k, n, transA: true, transB: false, options, accumulate);
    }

    /// <summary>
    /// C (m × n) = A·Bᵀ where A is stored row-major as m × k and B as n × k — the input gradient dY·Wᵀ of a linear
    /// layer. Contract: <c>c[i,j]</c> is one fma chain over p ascending of <c>a[i,p]·b[j,p]</c>, starting from 0 (or
    /// the old C with <paramref name="accumulate"/>); bit-identical to transposing B and calling <see cref="Multiply"/>.
    /// </summary>
    public static void MultiplyTransposedB(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        ComputeOptions? options = null, bool accumulate = false)
    {
        Check(a.Length, b.Length, c.Length, m, k, n);
        GemmKernels.Run(a, b, c, m, k, n, transA: false, transB: true, options, accumulate);
    }

    /// <summary>The contract itself, one element at a time (the slow reference every fast kernel must equal bit for bit).</summary>
    internal static void Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate) =>
        Reference(a, b, c, m, k, n, accumulate, transA: false, transB: false);

    /// <summary>The contract for all three layouts: <c>a(i,p)</c> and <c>b(p,j)</c> read through the transposition flags.</summary>
    internal static void Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n, bool accumulate,
        bool transA, bool transB)
    {
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float acc = accumulate ? c[(i * n) + j] : 0f;
                for (int p = 0; p < k; p++)
                {
                    float x = transA ? a[(p * m) + i] : a[(i * k) + p];
                    float y = transB ? b[(j * k) + p] : b[(p * n) + j];
                    acc = MathF.FusedMultiplyAdd(x, y, acc);
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
