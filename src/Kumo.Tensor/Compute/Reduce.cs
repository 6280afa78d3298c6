using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Kumo.Tensor.Compute;

/// <summary>
/// Sum, dot product, sum of squares and maximum over a span with one FIXED reduction tree, so the result is the same
/// bits at every SIMD width (a float sum depends on the order of its additions; a width-dependent order would make the
/// result depend on the CPU).
/// <para>
/// The tree: 16 logical lanes. Element i goes to lane i mod 16; each lane accumulates its elements in ascending i,
/// starting from +0 (plain add for Sum, one fma per element for Dot and SumOfSquares). Then the lanes are combined
/// pairwise: lane l += lane l+8 (l &lt; 8), then l += l+4 (l &lt; 4), then l += l+2, then lane 0 + lane 1. The scalar code
/// runs exactly that on 16 floats; W128, W256 and W512 hold the 16 lanes in 4, 2 and 1 registers. The last
/// (length mod 16) elements go to their lanes one by one, the same way at every width. Reductions never run across
/// threads.
/// </para>
/// </summary>
public static class Reduce
{
    /// <summary>The number of logical lanes of the tree; part of the contract (changing it changes results).</summary>
    public const int Lanes = 16;

    /// <summary>Σ x[i] in the fixed tree.</summary>
    public static float Sum(ReadOnlySpan<float> x, SimdWidth width = SimdWidth.Auto) => Run(Op.Sum, x, x, width);

    /// <summary>Σ x[i]·y[i], one fma per element into its lane, in the fixed tree. The spans must have the same length.</summary>
    public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width = SimdWidth.Auto)
    {
        if (x.Length != y.Length)
        {
            throw new ArgumentException($"lengths differ: {x.Length} and {y.Length}", nameof(y));
        }

        return Run(Op.Dot, x, y, width);
    }

    /// <summary>Σ x[i]², one fma per element into its lane, in the fixed tree (equals Dot(x, x)).</summary>
    public static float SumOfSquares(ReadOnlySpan<float> x, SimdWidth width = SimdWidth.Auto) => Run(Op.Dot, x, x, width);

    /// <summary>
    /// The largest element, −∞ for an empty span, NaN (the canonical <see cref="float.NaN"/>) if any element is NaN;
    /// +0 counts as larger than −0. Without NaN the maximum does not depend on order at all, so it is width-independent
    /// by nature; NaN is detected separately rather than trusting how each instruction set propagates it.
    /// </summary>
    public static float Max(ReadOnlySpan<float> x, SimdWidth width = SimdWidth.Auto)
    {
        float max = float.NegativeInfinity;
        bool nan = false;
        int i = 0;
        switch (SimdWidths.Resolve(width))
        {
            case SimdWidth.W512 when x.Length >= 16:
                {
                    Vector512<float> m = Vector512.Create(float.NegativeInfinity), bad = Vector512<float>.Zero;
                    for (; i <= x.Length - 16; i += 16)
                    {
                        Vector512<float> v = Vector512.Create(x.Slice(i, 16));
                        bad |= ~Vector512.Equals(v, v);
                        m = Vector512.Max(m, v);
                    }

                    nan = bad != Vector512<float>.Zero;
                    Vector256<float> h = Vector256.Max(m.GetLower(), m.GetUpper());
                    max = MaxOf(Vector128.Max(h.GetLower(), h.GetUpper()));
                    break;
                }

            case SimdWidth.W256 when x.Length >= 8:
                {
                    Vector256<float> m = Vector256.Create(float.NegativeInfinity), bad = Vector256<float>.Zero;
                    for (; i <= x.Length - 8; i += 8)
                    {
                        Vector256<float> v = Vector256.Create(x.Slice(i, 8));
                        bad |= ~Vector256.Equals(v, v);
                        m = Vector256.Max(m, v);
                    }

                    nan = bad != Vector256<float>.Zero;
                    max = MaxOf(Vector128.Max(m.GetLower(), m.GetUpper()));
                    break;
                }

            case SimdWidth.W128 when x.Length >= 4:
                {
                    Vector128<float> m = Vector128.Create(float.NegativeInfinity), bad = Vector128<float>.Zero;
                    for (; i <= x.Length - 4; i += 4)
                    {
                        Vector128<float> v = Vector128.Create(x.Slice(i, 4));
                        bad |= ~Vector128.Equals(v, v);
                        m = Vector128.Max(m, v);
                    }

                    nan = bad != Vector128<float>.Zero;
                    max = MaxOf(m);
                    break;
                }

            default:
                break;
        }

        for (; i < x.Length; i++)
        {
            nan |= float.IsNaN(x[i]);
            max = Max(max, x[i]);
        }

        return nan ? float.NaN : max;
    }

    private static float MaxOf(Vector128<float> v) => Max(Max(v[0], v[1]), Max(v[2], v[3]));

    /// <summary>Maximum of two non-NaN floats with −0 &lt; +0 (NaN is handled by the caller).</summary>
    private static float Max(float a, float b) => a > b ? a : b > a ? b : float.IsNegative(a) ? b : a;

    private enum Op
    {
        Sum,
        Dot,
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Run(Op op, ReadOnlySpan<float> x, ReadOnlySpan<float> y, SimdWidth width)
    {
        Span<float> lanes = stackalloc float[Lanes];
        lanes.Clear();
        int full = x.Length - (x.Length % Lanes);
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        switch (SimdWidths.Resolve(width))
        {
            case SimdWidth.W512:
                {
                    Vector512<float> l0 = Vector512<float>.Zero;
                    for (int i = 0; i < full; i += Lanes)
                    {
                        Vector512<float> a = Vector512.LoadUnsafe(ref px, (nuint)i);
                        l0 = op == Op.Sum ? l0 + a : Vector512.FusedMultiplyAdd(a, Vector512.LoadUnsafe(ref py, (nuint)i), l0);
                    }

                    l0.CopyTo(lanes);
                    break;
                }

            case SimdWidth.W256:
                {
                    Vector256<float> l0 = Vector256<float>.Zero, l1 = Vector256<float>.Zero;
                    for (int i = 0; i < full; i += Lanes)
                    {
                        Vector256<float> a0 = Vector256.LoadUnsafe(ref px, (nuint)i), a1 = Vector256.LoadUnsafe(ref px, (nuint)i + 8);
                        if (op == Op.Sum)
                        {
                            l0 += a0;
                            l1 += a1;
                        }
                        else
                        {
                            l0 = Vector256.FusedMultiplyAdd(a0, Vector256.LoadUnsafe(ref py, (nuint)i), l0);
                            l1 = Vector256.FusedMultiplyAdd(a1, Vector256.LoadUnsafe(ref py, (nuint)i + 8), l1);
                        }
                    }

                    l0.CopyTo(lanes);
                    l1.CopyTo(lanes[8..]);
                    break;
                }

            case SimdWidth.W128:
                {
                    Vector128<float> l0 = Vector128<float>.Zero, l1 = l0, l2 = l0, l3 = l0;
                    for (int i = 0; i < full; i += Lanes)
                    {
                        Vector128<float> a0 = Vector128.LoadUnsafe(ref px, (nuint)i), a1 = Vector128.LoadUnsafe(ref px, (nuint)i + 4);
                        Vector128<float> a2 = Vector128.LoadUnsafe(ref px, (nuint)i + 8), a3 = Vector128.LoadUnsafe(ref px, (nuint)i + 12);
                        if (op == Op.Sum)
                        {
                            l0 += a0;
                            l1 += a1;
                            l2 += a2;
                            l3 += a3;
                        }
                        else
                        {
                            l0 = Vector128.FusedMultiplyAdd(a0, Vector128.LoadUnsafe(ref py, (nuint)i), l0);
                            l1 = Vector128.FusedMultiplyAdd(a1, Vector128.LoadUnsafe(ref py, (nuint)i + 4), l1);
                            l2 = Vector128.FusedMultiplyAdd(a2, Vector128.LoadUnsafe(ref py, (nuint)i + 8), l2);
                            l3 = Vector128.FusedMultiplyAdd(a3, Vector128.LoadUnsafe(ref py, (nuint)i + 12), l3);
                        }
                    }

                    l0.CopyTo(lanes);
                    l1.CopyTo(lanes[4..]);
                    l2.CopyTo(lanes[8..]);
                    l3.CopyTo(lanes[12..]);
                    break;
                }

            default:
                for (int i = 0; i < full; i += Lanes)
                {
                    Accumulate(op, lanes, x.Slice(i, Lanes), y.Slice(i, Lanes));
                }

                break;
        }

        // The tail: element full + l still goes to lane l.
        Accumulate(op, lanes, x[full..], y[full..]);

        for (int half = Lanes / 2; half >= 1; half /= 2)
        {
            for (int l = 0; l < half; l++)
            {
                lanes[l] += lanes[l + half];
            }
        }

        return lanes[0];
    }

    private static void Accumulate(Op op, Span<float> lanes, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        for (int l = 0; l < x.Length; l++)
        {
            lanes[l] = op == Op.Sum ? lanes[l] + x[l] : MathF.FusedMultiplyAdd(x[l], y[l], lanes[l]);
        }
    }
}
