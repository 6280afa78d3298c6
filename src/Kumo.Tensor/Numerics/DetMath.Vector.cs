using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Kumo.Tensor.Numerics;

// The vector forms of Exp, Log and Tanh: line for line the scalar operation sequence of DetMath.cs, with the special
// cases (NaN, overflow, underflow, saturation) computed for every lane and selected afterwards instead of branched
// on. Same operations, same IEEE roundings, so the same bits as the scalar functions. The three widths are the same
// text with the vector type changed; keep them so (and change DetMath.cs and all three together).
public static partial class DetMath
{
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector128<float> ExpVector128(Vector128<float> x)
    {
        Vector128<float> n = Vector128.Round(x * Vector128.Create(Log2E));
        Vector128<float> r = Vector128.FusedMultiplyAdd(-n, Vector128.Create(Ln2Hi), x);
        r = Vector128.FusedMultiplyAdd(-n, Vector128.Create(Ln2Lo), r);
        Vector128<float> p = Vector128.Create(1f / 5040f);
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(1f / 720f));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(1f / 120f));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(1f / 24f));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(1f / 6f));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(0.5f));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128<float>.One);
        p = Vector128.FusedMultiplyAdd(p, r, Vector128<float>.One);
        Vector128<int> e = Vector128.ConvertToInt32(n);
        Vector128<int> half = Vector128.ShiftRightArithmetic(e, 1);
        Vector128<float> y = p * Pow2Vector128(half) * Pow2Vector128(e - half);
        y = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128.Create(ExpMax)), Vector128.Create(float.PositiveInfinity), y);
        y = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(ExpMin)), Vector128<float>.Zero, y);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), y, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector128<float> LogVector128(Vector128<float> x)
    {
        Vector128<int> bits = x.AsInt32();
        Vector128<int> e = (Vector128.ShiftRightArithmetic(bits, 23) & Vector128.Create(0xff)) - Vector128.Create(127);
        Vector128<float> m = ((bits & Vector128.Create(0x007fffff)) | Vector128.Create(0x3f800000)).AsSingle();
        Vector128<float> big = Vector128.GreaterThan(m, Vector128.Create(1.41421356f));
        m = Vector128.ConditionalSelect(big, m * Vector128.Create(0.5f), m);
        e = Vector128.ConditionalSelect(big.AsInt32(), e + Vector128<int>.One, e);
        Vector128<float> f = m - Vector128<float>.One;
        Vector128<float> s = f / (m + Vector128<float>.One);
        Vector128<float> z = s * s;
        Vector128<float> q = Vector128.Create(2f / 9f);
        q = Vector128.FusedMultiplyAdd(q, z, Vector128.Create(2f / 7f));
        q = Vector128.FusedMultiplyAdd(q, z, Vector128.Create(2f / 5f));
        q = Vector128.FusedMultiplyAdd(q, z, Vector128.Create(2f / 3f));
        Vector128<float> logM = Vector128.FusedMultiplyAdd(s * z, q, Vector128.Create(2f) * s);
        Vector128<float> en = Vector128.ConvertToSingle(e);
        Vector128<float> y = Vector128.FusedMultiplyAdd(en, Vector128.Create(Ln2Hi), Vector128.FusedMultiplyAdd(en, Vector128.Create(Ln2Lo), logM));
        y = Vector128.ConditionalSelect(Vector128.Equals(x, Vector128.Create(float.PositiveInfinity)), x, y);
        y = Vector128.ConditionalSelect(Vector128.LessThan(x, Vector128.Create(MinNormal)), Vector128.Create(float.NegativeInfinity), y);
        Vector128<float> nan = Vector128.LessThan(x, Vector128<float>.Zero) | ~Vector128.Equals(x, x);
        return Vector128.ConditionalSelect(nan, Vector128.Create(float.NaN), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector128<float> TanhVector128(Vector128<float> x)
    {
        Vector128<float> sign = Vector128.Create(-0f);
        Vector128<float> a = Vector128.Abs(x);
        Vector128<float> t = Vector128<float>.One - (Vector128.Create(2f) / (ExpVector128(Vector128.Create(2f) * a) + Vector128<float>.One));
        Vector128<float> y = Vector128.AndNot(t, sign) | (x & sign);
        y = Vector128.ConditionalSelect(Vector128.LessThan(a, Vector128.Create(TanhLinear)), x, y);
        y = Vector128.ConditionalSelect(Vector128.GreaterThan(a, Vector128.Create(TanhSaturated)), Vector128<float>.One | (x & sign), y);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), y, x);
    }

    private static Vector128<float> Pow2Vector128(Vector128<int> n) => Vector128.ShiftLeft(n + Vector128.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int MapVector128(Function function, ReadOnlySpan<float> x, Span<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        for (; i <= x.Length - Vector128<float>.Count; i += Vector128<float>.Count)
        {
            Vector128<float> v = Vector128.LoadUnsafe(ref px, (nuint)i);
            v = function switch
            {
                Function.Exp => ExpVector128(v),
                Function.Log => LogVector128(v),
                _ => TanhVector128(v),
            };
            v.StoreUnsafe(ref py, (nuint)i);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> ExpVector256(Vector256<float> x)
    {
        Vector256<float> n = Vector256.Round(x * Vector256.Create(Log2E));
        Vector256<float> r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Hi), x);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(Ln2Lo), r);
        Vector256<float> p = Vector256.Create(1f / 5040f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 720f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 120f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 24f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1f / 6f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(0.5f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256<float>.One);
        Vector256<int> e = Vector256.ConvertToInt32(n);
        Vector256<int> half = Vector256.ShiftRightArithmetic(e, 1);
        Vector256<float> y = p * Pow2Vector256(half) * Pow2Vector256(e - half);
        y = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256.Create(ExpMax)), Vector256.Create(float.PositiveInfinity), y);
        y = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(ExpMin)), Vector256<float>.Zero, y);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> LogVector256(Vector256<float> x)
    {
        Vector256<int> bits = x.AsInt32();
        Vector256<int> e = (Vector256.ShiftRightArithmetic(bits, 23) & Vector256.Create(0xff)) - Vector256.Create(127);
        Vector256<float> m = ((bits & Vector256.Create(0x007fffff)) | Vector256.Create(0x3f800000)).AsSingle();
        Vector256<float> big = Vector256.GreaterThan(m, Vector256.Create(1.41421356f));
        m = Vector256.ConditionalSelect(big, m * Vector256.Create(0.5f), m);
        e = Vector256.ConditionalSelect(big.AsInt32(), e + Vector256<int>.One, e);
        Vector256<float> f = m - Vector256<float>.One;
        Vector256<float> s = f / (m + Vector256<float>.One);
        Vector256<float> z = s * s;
        Vector256<float> q = Vector256.Create(2f / 9f);
        q = Vector256.FusedMultiplyAdd(q, z, Vector256.Create(2f / 7f));
        q = Vector256.FusedMultiplyAdd(q, z, Vector256.Create(2f / 5f));
        q = Vector256.FusedMultiplyAdd(q, z, Vector256.Create(2f / 3f));
        Vector256<float> logM = Vector256.FusedMultiplyAdd(s * z, q, Vector256.Create(2f) * s);
        Vector256<float> en = Vector256.ConvertToSingle(e);
        Vector256<float> y = Vector256.FusedMultiplyAdd(en, Vector256.Create(Ln2Hi), Vector256.FusedMultiplyAdd(en, Vector256.Create(Ln2Lo), logM));
        y = Vector256.ConditionalSelect(Vector256.Equals(x, Vector256.Create(float.PositiveInfinity)), x, y);
        y = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256.Create(MinNormal)), Vector256.Create(float.NegativeInfinity), y);
        Vector256<float> nan = Vector256.LessThan(x, Vector256<float>.Zero) | ~Vector256.Equals(x, x);
        return Vector256.ConditionalSelect(nan, Vector256.Create(float.NaN), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector256<float> TanhVector256(Vector256<float> x)
    {
        Vector256<float> sign = Vector256.Create(-0f);
        Vector256<float> a = Vector256.Abs(x);
        Vector256<float> t = Vector256<float>.One - (Vector256.Create(2f) / (ExpVector256(Vector256.Create(2f) * a) + Vector256<float>.One));
        Vector256<float> y = Vector256.AndNot(t, sign) | (x & sign);
        y = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(TanhLinear)), x, y);
        y = Vector256.ConditionalSelect(Vector256.GreaterThan(a, Vector256.Create(TanhSaturated)), Vector256<float>.One | (x & sign), y);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
    }

    private static Vector256<float> Pow2Vector256(Vector256<int> n) => Vector256.ShiftLeft(n + Vector256.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int MapVector256(Function function, ReadOnlySpan<float> x, Span<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        for (; i <= x.Length - Vector256<float>.Count; i += Vector256<float>.Count)
        {
            Vector256<float> v = Vector256.LoadUnsafe(ref px, (nuint)i);
            v = function switch
            {
                Function.Exp => ExpVector256(v),
                Function.Log => LogVector256(v),
                _ => TanhVector256(v),
            };
            v.StoreUnsafe(ref py, (nuint)i);
        }

        return i;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> ExpVector512(Vector512<float> x)
    {
        Vector512<float> n = Vector512.Round(x * Vector512.Create(Log2E));
        Vector512<float> r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(Ln2Lo), r);
        Vector512<float> p = Vector512.Create(1f / 5040f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(0.5f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        Vector512<int> e = Vector512.ConvertToInt32(n);
        Vector512<int> half = Vector512.ShiftRightArithmetic(e, 1);
        Vector512<float> y = p * Pow2Vector512(half) * Pow2Vector512(e - half);
        y = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512.Create(ExpMax)), Vector512.Create(float.PositiveInfinity), y);
        y = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(ExpMin)), Vector512<float>.Zero, y);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> LogVector512(Vector512<float> x)
    {
        Vector512<int> bits = x.AsInt32();
        Vector512<int> e = (Vector512.ShiftRightArithmetic(bits, 23) & Vector512.Create(0xff)) - Vector512.Create(127);
        Vector512<float> m = ((bits & Vector512.Create(0x007fffff)) | Vector512.Create(0x3f800000)).AsSingle();
        Vector512<float> big = Vector512.GreaterThan(m, Vector512.Create(1.41421356f));
        m = Vector512.ConditionalSelect(big, m * Vector512.Create(0.5f), m);
        e = Vector512.ConditionalSelect(big.AsInt32(), e + Vector512<int>.One, e);
        Vector512<float> f = m - Vector512<float>.One;
        Vector512<float> s = f / (m + Vector512<float>.One);
        Vector512<float> z = s * s;
        Vector512<float> q = Vector512.Create(2f / 9f);
        q = Vector512.FusedMultiplyAdd(q, z, Vector512.Create(2f / 7f));
        q = Vector512.FusedMultiplyAdd(q, z, Vector512.Create(2f / 5f));
        q = Vector512.FusedMultiplyAdd(q, z, Vector512.Create(2f / 3f));
        Vector512<float> logM = Vector512.FusedMultiplyAdd(s * z, q, Vector512.Create(2f) * s);
        Vector512<float> en = Vector512.ConvertToSingle(e);
        Vector512<float> y = Vector512.FusedMultiplyAdd(en, Vector512.Create(Ln2Hi), Vector512.FusedMultiplyAdd(en, Vector512.Create(Ln2Lo), logM));
        y = Vector512.ConditionalSelect(Vector512.Equals(x, Vector512.Create(float.PositiveInfinity)), x, y);
        y = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512.Create(MinNormal)), Vector512.Create(float.NegativeInfinity), y);
        Vector512<float> nan = Vector512.LessThan(x, Vector512<float>.Zero) | ~Vector512.Equals(x, x);
        return Vector512.ConditionalSelect(nan, Vector512.Create(float.NaN), y);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<float> TanhVector512(Vector512<float> x)
    {
        Vector512<float> sign = Vector512.Create(-0f);
        Vector512<float> a = Vector512.Abs(x);
        Vector512<float> t = Vector512<float>.One - (Vector512.Create(2f) / (ExpVector512(Vector512.Create(2f) * a) + Vector512<float>.One));
        Vector512<float> y = Vector512.AndNot(t, sign) | (x & sign);
        y = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(TanhLinear)), x, y);
        y = Vector512.ConditionalSelect(Vector512.GreaterThan(a, Vector512.Create(TanhSaturated)), Vector512<float>.One | (x & sign), y);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x);
    }

    private static Vector512<float> Pow2Vector512(Vector512<int> n) => Vector512.ShiftLeft(n + Vector512.Create(127), 23).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int MapVector512(Function function, ReadOnlySpan<float> x, Span<float> y)
    {
        ref float px = ref MemoryMarshal.GetReference(x);
        ref float py = ref MemoryMarshal.GetReference(y);
        int i = 0;
        for (; i <= x.Length - Vector512<float>.Count; i += Vector512<float>.Count)
        {
            Vector512<float> v = Vector512.LoadUnsafe(ref px, (nuint)i);
            v = function switch
            {
                Function.Exp => ExpVector512(v),
                Function.Log => LogVector512(v),
                _ => TanhVector512(v),
            };
            v.StoreUnsafe(ref py, (nuint)i);
        }

        return i;
    }
}
