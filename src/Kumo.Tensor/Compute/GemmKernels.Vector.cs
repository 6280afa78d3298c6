using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Kumo.Tensor.Compute;

// The register-blocked GEMM micro-kernels, one per vector width. Each computes a tile of C from a packed sliver of A
// (kc steps of MR values, [p·MR + r]) and of B (kc steps of NR values, [p·NR + col]), keeping the tile in registers
// for the whole k-block. Element (r, col) of the tile sees exactly fma(a[p,r], b[p,col], acc) for p ascending from the
// value loaded from C (or +0), which is the contract of Gemm — the vector lanes only run many such chains side by side.
// The three vector kernels are the same text with the vector type and lane count changed; keep them so.
internal static unsafe partial class GemmKernels
{
    /// <summary>6×8 tile with Vector128: two vectors per row, 12 accumulators held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel128(int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        Vector128<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector128.Load(c);
            c01 = Vector128.Load(c + 4);
            c10 = Vector128.Load(c + (1 * ldc));
            c11 = Vector128.Load(c + (1 * ldc) + 4);
            c20 = Vector128.Load(c + (2 * ldc));
            c21 = Vector128.Load(c + (2 * ldc) + 4);
            c30 = Vector128.Load(c + (3 * ldc));
            c31 = Vector128.Load(c + (3 * ldc) + 4);
            c40 = Vector128.Load(c + (4 * ldc));
            c41 = Vector128.Load(c + (4 * ldc) + 4);
            c50 = Vector128.Load(c + (5 * ldc));
            c51 = Vector128.Load(c + (5 * ldc) + 4);
        }
        else
        {
            c00 = Vector128<float>.Zero;
            c01 = Vector128<float>.Zero;
            c10 = Vector128<float>.Zero;
            c11 = Vector128<float>.Zero;
            c20 = Vector128<float>.Zero;
            c21 = Vector128<float>.Zero;
            c30 = Vector128<float>.Zero;
            c31 = Vector128<float>.Zero;
            c40 = Vector128<float>.Zero;
            c41 = Vector128<float>.Zero;
            c50 = Vector128<float>.Zero;
            c51 = Vector128<float>.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.Load(b);
            Vector128<float> b1 = Vector128.Load(b + 4);
            Vector128<float> ai = Vector128.Create(a[0]);
            c00 = Vector128.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector128.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector128.Create(a[1]);
            c10 = Vector128.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector128.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector128.Create(a[2]);
            c20 = Vector128.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector128.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector128.Create(a[3]);
            c30 = Vector128.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector128.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector128.Create(a[4]);
            c40 = Vector128.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector128.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector128.Create(a[5]);
            c50 = Vector128.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector128.FusedMultiplyAdd(ai, b1, c51);
            a += 6;
            b += 8;
        }

        c00.Store(c);
        c01.Store(c + 4);
        c10.Store(c + (1 * ldc));
        c11.Store(c + (1 * ldc) + 4);
        c20.Store(c + (2 * ldc));
        c21.Store(c + (2 * ldc) + 4);
        c30.Store(c + (3 * ldc));
        c31.Store(c + (3 * ldc) + 4);
        c40.Store(c + (4 * ldc));
        c41.Store(c + (4 * ldc) + 4);
        c50.Store(c + (5 * ldc));
        c51.Store(c + (5 * ldc) + 4);
    }

    /// <summary>6×16 tile with Vector256: two vectors per row, 12 accumulators held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel256(int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector256.Load(c);
            c01 = Vector256.Load(c + 8);
            c10 = Vector256.Load(c + (1 * ldc));
            c11 = Vector256.Load(c + (1 * ldc) + 8);
            c20 = Vector256.Load(c + (2 * ldc));
            c21 = Vector256.Load(c + (2 * ldc) + 8);
            c30 = Vector256.Load(c + (3 * ldc));
            c31 = Vector256.Load(c + (3 * ldc) + 8);
            c40 = Vector256.Load(c + (4 * ldc));
            c41 = Vector256.Load(c + (4 * ldc) + 8);
            c50 = Vector256.Load(c + (5 * ldc));
            c51 = Vector256.Load(c + (5 * ldc) + 8);
        }
        else
        {
            c00 = Vector256<float>.Zero;
            c01 = Vector256<float>.Zero;
            c10 = Vector256<float>.Zero;
            c11 = Vector256<float>.Zero;
            c20 = Vector256<float>.Zero;
            c21 = Vector256<float>.Zero;
            c30 = Vector256<float>.Zero;
            c31 = Vector256<float>.Zero;
            c40 = Vector256<float>.Zero;
            c41 = Vector256<float>.Zero;
            c50 = Vector256<float>.Zero;
            c51 = Vector256<float>.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.Load(b);
            Vector256<float> b1 = Vector256.Load(b + 8);
            Vector256<float> ai = Vector256.Create(a[0]);
            c00 = Vector256.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector256.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Vector256.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector256.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Vector256.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector256.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Vector256.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector256.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Vector256.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector256.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Vector256.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector256.FusedMultiplyAdd(ai, b1, c51);
            a += 6;
            b += 16;
        }

        c00.Store(c);
        c01.Store(c + 8);
        c10.Store(c + (1 * ldc));
        c11.Store(c + (1 * ldc) + 8);
        c20.Store(c + (2 * ldc));
        c21.Store(c + (2 * ldc) + 8);
        c30.Store(c + (3 * ldc));
        c31.Store(c + (3 * ldc) + 8);
        c40.Store(c + (4 * ldc));
        c41.Store(c + (4 * ldc) + 8);
        c50.Store(c + (5 * ldc));
        c51.Store(c + (5 * ldc) + 8);
    }

    /// <summary>6×32 tile with Vector512: two vectors per row, 12 accumulators held in registers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Kernel512(int kc, float* a, float* b, float* c, nint ldc, bool load)
    {
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (load)
        {
            c00 = Vector512.Load(c);
            c01 = Vector512.Load(c + 16);
            c10 = Vector512.Load(c + (1 * ldc));
            c11 = Vector512.Load(c + (1 * ldc) + 16);
            c20 = Vector512.Load(c + (2 * ldc));
            c21 = Vector512.Load(c + (2 * ldc) + 16);
            c30 = Vector512.Load(c + (3 * ldc));
            c31 = Vector512.Load(c + (3 * ldc) + 16);
            c40 = Vector512.Load(c + (4 * ldc));
            c41 = Vector512.Load(c + (4 * ldc) + 16);
            c50 = Vector512.Load(c + (5 * ldc));
            c51 = Vector512.Load(c + (5 * ldc) + 16);
        }
        else
        {
            c00 = Vector512<float>.Zero;
            c01 = Vector512<float>.Zero;
            c10 = Vector512<float>.Zero;
            c11 = Vector512<float>.Zero;
            c20 = Vector512<float>.Zero;
            c21 = Vector512<float>.Zero;
            c30 = Vector512<float>.Zero;
            c31 = Vector512<float>.Zero;
            c40 = Vector512<float>.Zero;
            c41 = Vector512<float>.Zero;
            c50 = Vector512<float>.Zero;
            c51 = Vector512<float>.Zero;
        }

        for (int p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.Load(b);
            Vector512<float> b1 = Vector512.Load(b + 16);
            Vector512<float> ai = Vector512.Create(a[0]);
            c00 = Vector512.FusedMultiplyAdd(ai, b0, c00);
            c01 = Vector512.FusedMultiplyAdd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Vector512.FusedMultiplyAdd(ai, b0, c10);
            c11 = Vector512.FusedMultiplyAdd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Vector512.FusedMultiplyAdd(ai, b0, c20);
            c21 = Vector512.FusedMultiplyAdd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Vector512.FusedMultiplyAdd(ai, b0, c30);
            c31 = Vector512.FusedMultiplyAdd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Vector512.FusedMultiplyAdd(ai, b0, c40);
            c41 = Vector512.FusedMultiplyAdd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Vector512.FusedMultiplyAdd(ai, b0, c50);
            c51 = Vector512.FusedMultiplyAdd(ai, b1, c51);
            a += 6;
            b += 32;
        }

        c00.Store(c);
        c01.Store(c + 16);
        c10.Store(c + (1 * ldc));
        c11.Store(c + (1 * ldc) + 16);
        c20.Store(c + (2 * ldc));
        c21.Store(c + (2 * ldc) + 16);
        c30.Store(c + (3 * ldc));
        c31.Store(c + (3 * ldc) + 16);
        c40.Store(c + (4 * ldc));
        c41.Store(c + (4 * ldc) + 16);
        c50.Store(c + (5 * ldc));
        c51.Store(c + (5 * ldc) + 16);
    }
}
