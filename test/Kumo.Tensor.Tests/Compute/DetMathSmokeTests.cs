using Kumo.Tensor.Numerics;

namespace Kumo.Tensor.Tests.Compute;

public class DetMathSmokeTests
{
    [Fact]
    public void Exp_log_and_tanh_are_close_to_double_precision_over_their_ranges()
    {
        double worstExp = 0, worstLog = 0, worstTanh = 0;
        for (float x = -87f; x < 88.7f; x += 0.0137f)
        {
            worstExp = Math.Max(worstExp, Math.Abs((DetMath.Exp(x) - Math.Exp(x)) / Math.Exp(x)));
            worstTanh = Math.Max(worstTanh, Math.Abs(DetMath.Tanh(x / 10) - Math.Tanh(x / 10)));
        }

        for (float x = 1e-30f; x < 1e30f; x *= 1.0137f)
        {
            worstLog = Math.Max(worstLog, Math.Abs(DetMath.Log(x) - Math.Log(x)) / Math.Max(1, Math.Abs(Math.Log(x))));
        }

        Assert.True(worstExp < 5e-7, $"exp relative error {worstExp}");
        Assert.True(worstLog < 5e-7, $"log error {worstLog}");
        Assert.True(worstTanh < 5e-7, $"tanh error {worstTanh}");
        Assert.Equal(1f, DetMath.Exp(0));
        Assert.Equal(0f, DetMath.Log(1));
        Assert.Equal(float.PositiveInfinity, DetMath.Exp(89));
        Assert.Equal(float.NegativeInfinity, DetMath.Log(0));
        Assert.True(float.IsNaN(DetMath.Log(-1)));
    }
}
