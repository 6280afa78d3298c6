using Kumo.Tensor.Compute;
using Kumo.Tensor.Numerics;

namespace Kumo.Tensor.Tests.Numerics;

public class DetMathVectorTests
{
    private static readonly SimdWidth[] Widths = [SimdWidth.Scalar, SimdWidth.W128, SimdWidth.W256, SimdWidth.W512, SimdWidth.Auto];

    /// <summary>Ordinary values across each range, the edges of the special cases, and the special values themselves.</summary>
    private static float[] Inputs()
    {
        var list = new List<float>
        {
            0f, -0f, 1f, -1f, float.NaN, -float.NaN, float.PositiveInfinity, float.NegativeInfinity, float.Epsilon, -float.Epsilon,
            float.MaxValue, float.MinValue, 1.17549435e-38f, 1.1754942e-38f, DetMath.ExpMax, DetMath.ExpMin,
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(DetMath.ExpMax) + 1),
            BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(DetMath.ExpMin) + 1),
            9f, 9.000001f, -9f, 0.0004f, 0.00039999f, -0.0004f, 1.41421356f, 0.70710678f, 88f, -87f,
        };
        var random = new Random(5);
        for (int i = 0; i < 20_000; i++)
        {
            list.Add((float)((random.NextDouble() - 0.5) * 200));
            list.Add(BitConverter.Int32BitsToSingle(random.Next())); // every positive float pattern, NaN included
            list.Add((float)((random.NextDouble() - 0.5) * 20));
        }

        return [.. list];
    }

    [Fact]
    public void Span_forms_equal_the_scalar_functions_bit_for_bit_at_every_width()
    {
        float[] x = Inputs();
        float[] y = new float[x.Length];
        foreach ((string name, Func<float, float> scalar, Action<float[], float[], SimdWidth> span) in new (string, Func<float, float>, Action<float[], float[], SimdWidth>)[]
        {
            ("exp", DetMath.Exp, (a, b, w) => DetMath.Exp(a, b, w)),
            ("log", DetMath.Log, (a, b, w) => DetMath.Log(a, b, w)),
            ("tanh", DetMath.Tanh, (a, b, w) => DetMath.Tanh(a, b, w)),
        })
        {
            foreach (SimdWidth width in Widths)
            {
                span(x, y, width);
                for (int i = 0; i < x.Length; i++)
                {
                    int want = BitConverter.SingleToInt32Bits(scalar(x[i])), got = BitConverter.SingleToInt32Bits(y[i]);
                    Assert.True(want == got, $"{name}({x[i]:R}) at {width}: scalar {want:x8}, span {got:x8}");
                }
            }
        }
    }

    [Fact]
    public void Span_forms_work_in_place()
    {
        float[] x = [0.5f, -3f, 2f, 7f, 0.1f, 1f, 2f, 3f, 4f];
        float[] expected = [.. x.Select(DetMath.Exp)];
        DetMath.Exp(x, x, SimdWidth.W128);
        Assert.Equal(expected, x);
    }

    [Fact]
    public void SinCosTurns_is_close_to_double_precision()
    {
        double worst = 0;
        for (int i = 0; i <= 100_000; i++)
        {
            float t = i / 100_000f;
            (float sin, float cos) = DetMath.SinCosTurns(t);
            worst = Math.Max(worst, Math.Abs(sin - Math.Sin(2 * Math.PI * t)));
            worst = Math.Max(worst, Math.Abs(cos - Math.Cos(2 * Math.PI * t)));
        }

        Assert.True(worst < 2e-7, $"sin/cos error {worst}");
        Assert.Equal((0f, 1f), DetMath.SinCosTurns(0));
    }
}
