using Kumo.Tensor.Ops;
using static Kumo.Tensor.Tests.Ops.GradientCheck;

namespace Kumo.Tensor.Tests.Ops;

public class GradientTests
{
    private readonly Random _random = new(42);

    [Fact]
    public void MatMul_gradients_match_finite_differences()
    {
        Tensor x = Random(_random, [3, 4]), w = Random(_random, [4, 5]);
        Check(t => TensorOps.MatMul(t, x, w), [x, w]);
    }

    [Fact]
    public void Add_with_a_broadcast_bias_row_matches_finite_differences()
    {
        Tensor x = Random(_random, [2, 3, 4]), b = Random(_random, [4]), same = Random(_random, [2, 3, 4]);
        Check(t => TensorOps.Add(t, TensorOps.Add(t, x, b), same), [x, b, same]);
    }

    [Fact]
    public void Linear_and_mul_gradients_match_finite_differences()
    {
        Tensor x = Random(_random, [3, 4]), w = Random(_random, [4, 2]), b = Random(_random, [2]), m = Random(_random, [3, 2]);
        Check(t => TensorOps.Mul(t, TensorOps.Linear(t, x, w, b), m), [x, w, b, m]);
    }

    [Fact]
    public void Relu_and_gelu_gradients_match_finite_differences()
    {
        Tensor x = Random(_random, [4, 5], 3f);
        for (int i = 0; i < x.Length; i++)
        {
            if (MathF.Abs(x.Data[i]) < 0.05f)
            {
                x.Data[i] = 0.5f; // keep away from ReLU's kink
            }
        }

        Check(t => TensorOps.Relu(t, x), [x]);
        x.ZeroGrad();
        Check(t => TensorOps.Gelu(t, x), [x]);
    }

    [Fact]
    public void Softmax_gradients_match_finite_differences()
    {
        Tensor x = Random(_random, [3, 6], 2f);
        Check(t => TensorOps.Softmax(t, x), [x]);
    }

    [Fact]
    public void Layer_norm_gradients_match_finite_differences()
    {
        Tensor x = Random(_random, [3, 8], 2f), gamma = Random(_random, [8]), beta = Random(_random, [8]);
        Check(t => TensorOps.LayerNorm(t, x, gamma, beta), [x, gamma, beta]);
    }

    [Fact]
    public void Cross_entropy_gradients_match_finite_differences()
    {
        Tensor logits = Random(_random, [5, 7], 3f);
        Check(t => TensorOps.CrossEntropy(t, logits, [0, 6, 3, 3, 1]), [logits]);
    }

    [Fact]
    public void Embedding_gradients_with_repeated_ids_match_finite_differences()
    {
        Tensor table = Random(_random, [5, 3]);
        Check(t => TensorOps.Embedding(t, table, [4, 1, 4, 0, 4]), [table]);
    }

    [Fact]
    public void Causal_attention_gradients_match_finite_differences()
    {
        Tensor qkv = Random(_random, [2 * 5, 3 * 6]);
        Check(t => TensorOps.CausalSelfAttention(t, qkv, 2, 5, 2), [qkv]);
    }

    [Fact]
    public void Causal_attention_does_not_look_ahead()
    {
        Tensor qkv = Random(_random, [4, 3 * 4], 1f, requiresGrad: false);
        float[] before = TensorOps.CausalSelfAttention(new(), qkv, 1, 4, 2).Data;
        for (int c = 0; c < 12; c++)
        {
            qkv.Data[(3 * 12) + c] += 5f; // change only the last position
        }

        float[] after = TensorOps.CausalSelfAttention(new(), qkv, 1, 4, 2).Data;
        Assert.Equal(before.AsSpan(0, 3 * 4).ToArray(), after.AsSpan(0, 3 * 4).ToArray());
        Assert.NotEqual(before.AsSpan(3 * 4).ToArray(), after.AsSpan(3 * 4).ToArray());
    }

    [Fact]
    public void First_attention_position_returns_its_own_value()
    {
        Tensor qkv = Random(_random, [3, 3 * 2], 1f, requiresGrad: false);
        Tensor y = TensorOps.CausalSelfAttention(new(), qkv, 1, 3, 1);
        Assert.Equal(qkv.Data.AsSpan(4, 2).ToArray(), y.Data.AsSpan(0, 2).ToArray());
    }
}
