using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Tests.Compute;

public class GemmTests
{
    [Fact]
    public void A_small_product_is_exact()
    {
        float[] a = [1, 2, 3, 4, 5, 6];    // 2 × 3
        float[] b = [7, 8, 9, 10, 11, 12]; // 3 × 2
        float[] c = new float[4];

        Gemm.Multiply(a, b, c, 2, 3, 2);

        Assert.Equal([58f, 64f, 139f, 154f], c);
    }
}
