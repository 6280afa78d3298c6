using Kumo.Tensor.Models;
using Kumo.Tensor.Optim;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Tests.Optim;

public class OptimizerTests
{
    [Fact]
    public void AdamW_first_step_moves_each_weight_by_the_learning_rate_against_its_gradient_sign()
    {
        var w = new Tensor([2, 2], [1f, -1f, 0.5f, 0f], requiresGrad: true);
        var b = new Tensor([2], [1f, 1f], requiresGrad: true);
        w.EnsureGrad()[0] = 2f; w.Grad![1] = -3f; w.Grad[2] = 0.001f;
        b.EnsureGrad()[0] = 5f;
        var adam = new AdamW(0.1f, weightDecay: 0.5f);

        adam.Step([new Parameter("w", w), new Parameter("b", b)]);

        // decoupled decay (matrices only): p·(1 − 0.05), then −lr·m̂/(√v̂ + ε) = −0.1·sign(g) on the first step
        Assert.Equal((1f * 0.95f) - 0.1f, w.Data[0], 5);
        Assert.Equal((-1f * 0.95f) + 0.1f, w.Data[1], 5);
        Assert.Equal((0.5f * 0.95f) - 0.1f, w.Data[2], 4);
        Assert.Equal(0f, w.Data[3]);
        Assert.Equal(0.9f, b.Data[0], 5);
        Assert.Equal(1f, b.Data[1]);
        Assert.Equal(["adamw.beta1_power", "adamw.beta2_power", "adamw.m.b", "adamw.m.w", "adamw.v.b", "adamw.v.w"], adam.State().Select(s => s.Name));
    }

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void A_state_view_holds_the_state_without_copying_it(string kind)
    {
        var w = new Tensor([2, 2], [1f, -1f, 0.5f, 0f], requiresGrad: true);
        w.EnsureGrad()[0] = 2f;
        IOptimizer optimizer = kind == "adamw" ? new AdamW(0.1f, weightDecay: 0.5f) : new Sgd(0.1f, momentum: 0.9f, weightDecay: 0f);
        optimizer.Step([new Parameter("w", w)]);

        IReadOnlyList<NamedTensor> copy = optimizer.State(), view = optimizer.StateView();

        Assert.Equal(copy.Select(t => t.Name), view.Select(t => t.Name));
        Assert.Equal(WeightCommitment.Root(copy), WeightCommitment.Root(view));

        // The view's buffers are the optimizer's own: the next step shows through them, and not through the copy.
        optimizer.Step([new Parameter("w", w)]);
        Dictionary<string, NamedTensor> after = optimizer.State().ToDictionary(t => t.Name);
        foreach (NamedTensor moment in view.Where(t => t.Data.Length > 1))
        {
            Assert.Equal(after[moment.Name].Data, moment.Data);
            Assert.NotEqual(after[moment.Name].Data, copy.Single(t => t.Name == moment.Name).Data);
        }
    }

    [Fact]
    public void AdamW_bias_correction_keeps_running_products()
    {
        var w = new Tensor([1], [0f], requiresGrad: true);
        var adam = new AdamW(0.01f, weightDecay: 0f);
        for (int i = 0; i < 3; i++)
        {
            w.EnsureGrad()[0] = 1f;
            adam.Step([new Parameter("w", w)]);
        }

        Assert.Equal(0.9f * 0.9f * 0.9f, adam.State()[0].Data[0]);
        Assert.Equal(-0.03f, w.Data[0], 5); // a constant gradient moves by lr per step
    }

    [Fact]
    public void Sgd_with_momentum_accumulates_velocity()
    {
        var w = new Tensor([1], [1f], requiresGrad: true);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        w.EnsureGrad()[0] = 1f;
        sgd.Step([new Parameter("w", w)]);
        sgd.Step([new Parameter("w", w)]);

        Assert.Equal(1f - 0.1f - 0.19f, w.Data[0], 6);
        Assert.Equal(1.9f, sgd.State()[0].Data[0], 6);
    }
}
