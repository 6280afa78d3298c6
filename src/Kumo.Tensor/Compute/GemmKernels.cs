using System.Buffers;
using System.Runtime.CompilerServices;

namespace Kumo.Tensor.Compute;

/// <summary>
/// The blocked GEMM driver (Goto's scheme, simplified): B is packed once into k-blocks of NR-column slivers, each
/// task packs its rows of A into MR-row slivers per k-block, and a micro-kernel runs every MR×NR tile of C for one
/// k-block at a time. k-blocks are visited in ascending order and each tile is stored to C and reloaded between them —
/// an exact round trip for fp32 — so each c[i,j] still sees one unbroken fma chain over k ascending. Tasks own
/// disjoint rows (or column slivers) of C; nothing is ever split over k.
/// </summary>
internal static unsafe partial class GemmKernels
{
    /// <summary>Depth of a k-block: the packed A block (Mc × Kc) stays in L2, one B sliver (Kc × NR) in L1.</summary>
    internal const int Kc = 256;

    /// <summary>Rows of A packed at once (a multiple of every MR).</summary>
    internal const int Mc = 96;

    /// <summary>Below this many flops, one thread does it all (thread hand-off costs more than it saves).</summary>
    private const long ParallelFlops = 1L << 22;

    private readonly struct Shape(delegate*<int, float*, float*, float*, nint, bool, void> kernel, int mr, int nr)
    {
        public readonly delegate*<int, float*, float*, float*, nint, bool, void> Kernel = kernel;
        public readonly int Mr = mr;
        public readonly int Nr = nr;
    }

    private static Shape ShapeFor(SimdWidth width) => SimdWidths.Resolve(width) switch
    {
        SimdWidth.W128 => new Shape(&Kernel128, 6, 8),
        SimdWidth.W256 => new Shape(&Kernel256, 6, 16),
        SimdWidth.W512 => new Shape(&Kernel512, 6, 32),
        _ => new Shape(&KernelScalar, ScalarMr, ScalarNr),
    };

    private const int ScalarMr = 4;
    private const int ScalarNr = 4;

    /// <summary>The scalar tile: the same chains, one element at a time, with MathF.FusedMultiplyAdd.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void KernelScalar(int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        for (int r = 0; r < ScalarMr; r++)
        {
            for (int col = 0; col < ScalarNr; col++)
            {
                float acc = load ? c[(r * ldc) + col] : 0f;
                float* pa = a + r, pb = b + col;
                for (int p = 0; p < kc; p++)
                {
                    acc = MathF.FusedMultiplyAdd(*pa, *pb, acc);
                    pa += ScalarMr;
                    pb += ScalarNr;
                }

                c[(r * ldc) + col] = acc;
            }
        }
    }

    /// <summary>
    /// C (m × n, row-major) = op(A)·op(B) [+ C]. op(A) is A (m × k) or, with <paramref name="transA"/>, Aᵀ of an A
    /// stored k × m; op(B) is B (k × n) or, with <paramref name="transB"/>, Bᵀ of a B stored n × k.
    /// </summary>
    internal static void Run(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c, int m, int k, int n,
        bool transA, bool transB, ComputeOptions? options, bool accumulate)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (k == 0)
        {
            if (!accumulate)
            {
                c[..(m * n)].Clear();
            }

            return;
        }

        options ??= ComputeOptions.Default;
        Shape shape = ShapeFor(options.Width);
        int nr = shape.Nr, mr = shape.Mr;
        int bSlivers = (n + nr - 1) / nr, aSlivers = (m + mr - 1) / mr;
        int nPad = bSlivers * nr;

        long flops = 2L * m * n * k;
        int threads = flops < ParallelFlops ? 1 : Math.Clamp(options.Threads, 1, 1024);
        int rowTasks = Math.Min(threads, aSlivers);
        int colTasks = Math.Max(1, Math.Min(threads / rowTasks, bSlivers));
        int tasks = rowTasks * colTasks;

        float[] bPack = ArrayPool<float>.Shared.Rent(k * nPad);
        try
        {
            fixed (float* pa = a, pb = b, pc = c, pPack = bPack)
            {
                var job = new Job(pa, pb, pc, pPack, m, k, n, nPad, transA, transB, accumulate, shape, aSlivers, bSlivers, rowTasks, colTasks);
                if (tasks == 1)
                {
                    job.PackB(0, bSlivers);
                    job.Compute(0);
                }
                else
                {
                    var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
                    Parallel.For(0, tasks, parallel, t => job.PackB(t * bSlivers / tasks, (t + 1) * bSlivers / tasks));
                    Parallel.For(0, tasks, parallel, job.Compute);
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(bPack);
        }
    }

    /// <summary>One multiplication's pointers and geometry, shared by its tasks (pointers stay valid: the caller pins them for the whole run).</summary>
    private sealed class Job(float* a, float* b, float* c, float* bPack, int m, int k, int n, int nPad, bool transA, bool transB,
        bool accumulate, Shape shape, int aSlivers, int bSlivers, int rowTasks, int colTasks)
    {
        /// <summary>Packs B slivers [from, to) for every k-block: block at bPack + pc·nPad, sliver s at + s·kc·NR, [p·NR + col].</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void PackB(int from, int to)
        {
            int nr = shape.Nr;
            for (int pc = 0; pc < k; pc += Kc)
            {
                int kc = Math.Min(Kc, k - pc);
                for (int s = from; s < to; s++)
                {
                    float* dst = bPack + ((long)pc * nPad) + ((long)s * kc * nr);
                    int col0 = s * nr, cols = Math.Min(nr, n - col0);
                    for (int p = 0; p < kc; p++)
                    {
                        float* row = dst + (p * nr);
                        if (transB)
                        {
                            for (int col = 0; col < cols; col++)
                            {
                                row[col] = b[((long)(col0 + col) * k) + pc + p];
                            }
                        }
                        else
                        {
                            new ReadOnlySpan<float>(b + ((long)(pc + p) * n) + col0, cols).CopyTo(new Span<float>(row, cols));
                        }

                        new Span<float>(row + cols, nr - cols).Clear();
                    }
                }
            }
        }

        /// <summary>Task t: rows slivers and column slivers of its own, every k-block in ascending order.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Compute(int t)
        {
            int mr = shape.Mr, nr = shape.Nr;
            int rt = t / colTasks, ct = t % colTasks;
            int rowFrom = rt * aSlivers / rowTasks, rowTo = (rt + 1) * aSlivers / rowTasks;
            int colFrom = ct * bSlivers / colTasks, colTo = (ct + 1) * bSlivers / colTasks;
            int mcSlivers = Mc / mr;
            float[] aPack = ArrayPool<float>.Shared.Rent(Mc * Kc);
            float* tile = stackalloc float[mr * nr];
            try
            {
                fixed (float* pack = aPack)
                {
                    for (int pc = 0; pc < k; pc += Kc)
                    {
                        int kc = Math.Min(Kc, k - pc);
                        bool load = pc > 0 || accumulate;
                        for (int ic = rowFrom; ic < rowTo; ic += mcSlivers)
                        {
                            int icEnd = Math.Min(rowTo, ic + mcSlivers);
                            PackA(pack, ic, icEnd, pc, kc);
                            for (int js = colFrom; js < colTo; js++)
                            {
                                float* bs = bPack + ((long)pc * nPad) + ((long)js * kc * nr);
                                int col0 = js * nr, cols = Math.Min(nr, n - col0);
                                for (int @is = ic; @is < icEnd; @is++)
                                {
                                    float* ais = pack + ((long)(@is - ic) * kc * mr);
                                    int row0 = @is * mr, rows = Math.Min(mr, m - row0);
                                    float* ct0 = c + ((long)row0 * n) + col0;
                                    if (rows == mr && cols == nr)
                                    {
                                        shape.Kernel(kc, ais, bs, ct0, n, load);
                                    }
                                    else
                                    {
                                        EdgeTile(ais, bs, ct0, tile, kc, rows, cols, load);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(aPack);
            }
        }

        /// <summary>A partial tile at the bottom or right edge runs the full kernel on a scratch tile; only real elements go back to C.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void EdgeTile(float* ais, float* bs, float* ct0, float* tile, int kc, int rows, int cols, bool load)
        {
            int nr = shape.Nr;
            if (load)
            {
                for (int r = 0; r < rows; r++)
                {
                    new ReadOnlySpan<float>(ct0 + ((long)r * n), cols).CopyTo(new Span<float>(tile + (r * nr), cols));
                }
            }

            shape.Kernel(kc, ais, bs, tile, nr, load);
            for (int r = 0; r < rows; r++)
            {
                new ReadOnlySpan<float>(tile + (r * nr), cols).CopyTo(new Span<float>(ct0 + ((long)r * n), cols));
            }
        }

        /// <summary>Packs A row slivers [from, to) for k-block [pc, pc + kc): sliver s at (s − from)·kc·MR, [p·MR + r]; rows past m are 0.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void PackA(float* pack, int from, int to, int pc, int kc)
        {
            int mr = shape.Mr;
            for (int s = from; s < to; s++)
            {
                float* dst = pack + ((long)(s - from) * kc * mr);
                int row0 = s * mr, rows = Math.Min(mr, m - row0);
                for (int r = 0; r < mr; r++)
                {
                    if (r >= rows)
                    {
                        for (int p = 0; p < kc; p++)
                        {
                            dst[(p * mr) + r] = 0f;
                        }
                    }
                    else if (transA)
                    {
                        float* src = a + ((long)pc * m) + row0 + r;
                        for (int p = 0; p < kc; p++)
                        {
                            dst[(p * mr) + r] = src[(long)p * m];
                        }
                    }
                    else
                    {
                        float* src = a + ((long)(row0 + r) * k) + pc;
                        for (int p = 0; p < kc; p++)
                        {
                            dst[(p * mr) + r] = src[p];
                        }
                    }
                }
            }
        }
    }
}
