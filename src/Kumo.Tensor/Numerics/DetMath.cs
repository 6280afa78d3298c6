using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Numerics;

/// <summary>
/// exp, log and tanh of our own, built only from IEEE-exact operations (add, multiply, fused multiply-add, division,
/// rounding to integer, exponent bit manipulation), so every CPU and every vector width gives the same bits —
/// unlike <see cref="MathF"/>, whose results are the platform library's. Errors are within a few ulp of the true
/// value over the ranges below (tested against double precision).
/// <para>
/// The span forms (<see cref="Exp(ReadOnlySpan{float}, Span{float}, SimdWidth)"/> and the others) run the same
/// operation sequence in Vector128/256/512 lanes, so they give the scalar function's bits at every width.
/// </para>
/// </summary>
public static partial class DetMath
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693145751953125f;        // high bits of ln 2: n·Ln2Hi is exact for |n| < 2^9
    private const float Ln2Lo = 1.42860682030941723212e-6f; // ln 2 − Ln2Hi
    private const float MinNormal = 1.17549435e-38f;
    private const float TanhLinear = 0.0004f;
    private const float TanhSaturated = 9f;
    private const float TwoPi = 6.28318530717958648f;

    /// <summary>Above this exp overflows to +∞.</summary>
    public const float ExpMax = 88.72283f;

    /// <summary>Below this exp is flushed to 0 (no subnormal results).</summary>
    public const float ExpMin = -87.33654f;

    /// <summary>e^x: ∞ above <see cref="ExpMax"/>, 0 below <see cref="ExpMin"/>, NaN for NaN.</summary>
    public static float Exp(float x)
    {
        if (float.IsNaN(x))
        {
            return x;
        }

        if (x > ExpMax)
        {
            return float.PositiveInfinity;
        }

        if (x < ExpMin)
        {
            return 0f;
        }

        // x = n·ln2 + r with |r| ≤ ln2/2 (Cody–Waite: ln 2 in two parts, so r is accurate).
        float n = MathF.Round(x * Log2E, MidpointRounding.ToEven);
        float r = MathF.FusedMultiplyAdd(-n, Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(-n, Ln2Lo, r);

        // e^r by its Taylor polynomial to degree 7 (truncation error < 2^-29 for |r| ≤ 0.347).
        float p = 1f / 5040f;
        p = MathF.FusedMultiplyAdd(p, r, 1f / 720f);
        p = MathF.FusedMultiplyAdd(p, r, 1f / 120f);
        p = MathF.FusedMultiplyAdd(p, r, 1f / 24f);
        p = MathF.FusedMultiplyAdd(p, r, 1f / 6f);
        p = MathF.FusedMultiplyAdd(p, r, 0.5f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);

        // · 2^n, in two steps so n = 128 (x just below ExpMax) does not overflow the exponent field.
        int e = (int)n;
        int half = e >> 1;
        return p * Pow2(half) * Pow2(e - half);
    }

    /// <summary>Natural logarithm: −∞ at 0, NaN below 0 or for NaN, ∞ at ∞. Subnormal inputs are treated as 0.</summary>
    public static float Log(float x)
    {
        if (float.IsNaN(x) || x < 0)
        {
            return float.NaN;
        }

        if (x < MinNormal)
        {
            return float.NegativeInfinity;
        }

        if (float.IsPositiveInfinity(x))
        {
            return x;
        }

        // x = 2^e · m with m in [√½, √2), then log x = e·ln2 + log m.
        int bits = BitConverter.SingleToInt32Bits(x);
        int e = ((bits >> 23) & 0xff) - 127;
        float m = BitConverter.Int32BitsToSingle((bits & 0x007fffff) | 0x3f800000); // [1, 2)
        if (m > 1.41421356f)
        {
            m *= 0.5f;
            e++;
        }

        // log m = 2·atanh(s), s = (m − 1)/(m + 1), |s| ≤ 0.1716: 2s + 2s³/3 + 2s⁵/5 + 2s⁷/7 + 2s⁹/9.
        float f = m - 1f;
        float s = f / (m + 1f);
        float z = s * s;
        float q = 2f / 9f;
        q = MathF.FusedMultiplyAdd(q, z, 2f / 7f);
        q = MathF.FusedMultiplyAdd(q, z, 2f / 5f);
        q = MathF.FusedMultiplyAdd(q, z, 2f / 3f);
        float logM = MathF.FusedMultiplyAdd(s * z, q, 2f * s);
        float en = e;
        return MathF.FusedMultiplyAdd(en, Ln2Hi, MathF.FusedMultiplyAdd(en, Ln2Lo, logM));
    }

    /// <summary>Hyperbolic tangent: ±1 beyond |x| = 9, x itself near 0, NaN for NaN.</summary>
    public static float Tanh(float x)
    {
        if (float.IsNaN(x))
        {
            return x;
        }

        float a = MathF.Abs(x);
        if (a > TanhSaturated)
        {
            return MathF.CopySign(1f, x);
        }

        if (a < TanhLinear)
        {
            return x; // tanh x = x − x³/3 …: the cubic term is below half an ulp here
        }

        // tanh a = 1 − 2/(e^{2a} + 1)
        float t = 1f - (2f / (Exp(2f * a) + 1f));
        return MathF.CopySign(t, x);
    }

    /// <summary>
    /// sin and cos of 2π·<paramref name="turns"/> (the angle in turns, so the reduction to a quadrant is exact:
    /// t − q/4 has no rounding for |t| &lt; 2^22). Taylor polynomials on |x| ≤ π/4, error below 1e-7. Used for the
    /// Box–Muller normals of <see cref="Randomness.Philox"/>, where MathF.Sin would differ between platforms.
    /// </summary>
    public static (float Sin, float Cos) SinCosTurns(float turns)
    {
        float q = MathF.Round(4f * turns, MidpointRounding.ToEven);
        float x = MathF.FusedMultiplyAdd(q, -0.25f, turns) * TwoPi;
        float z = x * x;
        float ps = MathF.FusedMultiplyAdd(z, 1f / 362880f, -1f / 5040f);
        ps = MathF.FusedMultiplyAdd(ps, z, 1f / 120f);
        ps = MathF.FusedMultiplyAdd(ps, z, -1f / 6f);
        float sin = MathF.FusedMultiplyAdd(x * z, ps, x);
        float pc = MathF.FusedMultiplyAdd(z, 1f / 40320f, -1f / 720f);
        pc = MathF.FusedMultiplyAdd(pc, z, 1f / 24f);
        pc = MathF.FusedMultiplyAdd(pc, z, -0.5f);
        float cos = MathF.FusedMultiplyAdd(pc, z, 1f);
        return ((int)q & 3) switch
        {
            0 => (sin, cos),
            1 => (cos, -sin),
            2 => (-sin, -cos),
            _ => (-cos, sin),
        };
    }

    /// <summary>y[i] = Exp(x[i]) at the given width (bits identical to the scalar form). x and y may be the same span.</summary>
    public static void Exp(ReadOnlySpan<float> x, Span<float> y, SimdWidth width = SimdWidth.Auto) => Map(Function.Exp, x, y, width);

    /// <summary>y[i] = Log(x[i]) at the given width (bits identical to the scalar form). x and y may be the same span.</summary>
    public static void Log(ReadOnlySpan<float> x, Span<float> y, SimdWidth width = SimdWidth.Auto) => Map(Function.Log, x, y, width);

    /// <summary>y[i] = Tanh(x[i]) at the given width (bits identical to the scalar form). x and y may be the same span.</summary>
    public static void Tanh(ReadOnlySpan<float> x, Span<float> y, SimdWidth width = SimdWidth.Auto) => Map(Function.Tanh, x, y, width);

    private enum Function
    {
        Exp,
        Log,
        Tanh,
    }

    private static void Map(Function function, ReadOnlySpan<float> x, Span<float> y, SimdWidth width)
    {
        if (y.Length < x.Length)
        {
            throw new ArgumentException($"output ({y.Length}) shorter than input ({x.Length})", nameof(y));
        }

        int i = SimdWidths.Resolve(width) switch
        {
            SimdWidth.W512 => MapVector512(function, x, y),
            SimdWidth.W256 => MapVector256(function, x, y),
            SimdWidth.W128 => MapVector128(function, x, y),
            _ => 0,
        };
        for (; i < x.Length; i++)
        {
            y[i] = function switch
            {
                Function.Exp => Exp(x[i]),
                Function.Log => Log(x[i]),
                _ => Tanh(x[i]),
            };
        }
    }

    private static float Pow2(int n) => BitConverter.Int32BitsToSingle((n + 127) << 23);
}
