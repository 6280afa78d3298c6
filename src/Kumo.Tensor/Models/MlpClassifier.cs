using Kumo.Tensor.Autograd;
using Kumo.Tensor.Ops;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Models;

/// <summary>
/// inputs → hidden (ReLU or GELU) → classes. Weights are stored input-major ("fc1.weight" is inputs × hidden) so
/// the forward pass is a plain x·W; Glorot-uniform bounds √(6 / (fan_in + fan_out)), zero biases.
/// Parameters: fc1.weight, fc1.bias, fc2.weight, fc2.bias.
/// </summary>
public sealed class MlpClassifier : Model
{
    private readonly Tensor _w1, _b1, _w2, _b2;
    private readonly bool _gelu;

    internal MlpClassifier(ModelSpec spec)
        : base(spec)
    {
        if (spec.Inputs <= 0 || spec.Hidden <= 0 || spec.Classes <= 1)
        {
            throw new ArgumentException($"an MLP needs positive sizes and at least 2 classes: {spec}", nameof(spec));
        }

        _gelu = spec.Activation switch
        {
            "relu" => false,
            "gelu" => true,
            _ => throw new ArgumentException($"unknown activation '{spec.Activation}' (relu or gelu)", nameof(spec)),
        };
        _w1 = Declare("fc1.weight", [spec.Inputs, spec.Hidden], Glorot(spec.Inputs, spec.Hidden));
        _b1 = Declare("fc1.bias", [spec.Hidden], Zeros);
        _w2 = Declare("fc2.weight", [spec.Hidden, spec.Classes], Glorot(spec.Hidden, spec.Classes));
        _b2 = Declare("fc2.bias", [spec.Classes], Zeros);
    }

    /// <summary>Logits (samples × classes) for a batch of inputs (samples × inputs).</summary>
    public Tensor Forward(Tape tape, Tensor inputs)
    {
        Tensor h = TensorOps.Linear(tape, inputs, _w1, _b1);
        h = _gelu ? TensorOps.Gelu(tape, h) : TensorOps.Relu(tape, h);
        return TensorOps.Linear(tape, h, _w2, _b2);
    }

    private static float Glorot(int fanIn, int fanOut) => MathF.Sqrt(6f / (fanIn + fanOut));
}
