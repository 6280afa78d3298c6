namespace Kumo.Tensor;

/// <summary>
/// A dense fp32 tensor: a shape and a contiguous row-major <see cref="Data"/> array, plus the gradient a
/// <see cref="Autograd.Tape"/> accumulates into it. Deliberately minimal — no views, strides or lazy evaluation —
/// because every result must be reproducible bit for bit, and the simplest layout makes the order of every
/// floating-point operation obvious from the code. Ops treat a tensor as <see cref="Rows"/> × <see cref="Columns"/>
/// (all leading dimensions flattened), which is all a transformer needs.
/// </summary>
/// <remarks>
/// Lives in the <c>Kumo.Tensor</c> namespace itself (not <c>Kumo.Tensor.Autograd</c>) so that code inside
/// <c>Kumo.Tensor.*</c> can name it without the namespace <c>Kumo.Tensor</c> shadowing the type.
/// </remarks>
public sealed class Tensor
{
    public Tensor(int[] shape, float[]? data = null, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(shape);
        if (shape.Length == 0 || shape.Any(d => d <= 0))
        {
            throw new ArgumentException($"a shape needs at least one dimension, all positive: [{string.Join(", ", shape)}]", nameof(shape));
        }

        long length = 1;
        foreach (int d in shape)
        {
            length *= d;
        }

        if (length > Array.MaxLength)
        {
            throw new ArgumentException($"tensor of {length} elements is too large", nameof(shape));
        }

        data ??= new float[length];
        if (data.Length != length)
        {
            throw new ArgumentException($"shape [{string.Join(", ", shape)}] needs {length} elements, data has {data.Length}", nameof(data));
        }

        Shape = [.. shape];
        Data = data;
        RequiresGrad = requiresGrad;
    }

    public int[] Shape { get; }

    public float[] Data { get; }

    /// <summary>The accumulated gradient (same length as <see cref="Data"/>), or null before any backward pass reached it.</summary>
    public float[]? Grad { get; private set; }

    /// <summary>Whether backward passes compute a gradient for this tensor (parameters, and anything computed from them).</summary>
    public bool RequiresGrad { get; }

    public int Length => Data.Length;

    /// <summary>The last dimension.</summary>
    public int Columns => Shape[^1];

    /// <summary>The product of all dimensions but the last.</summary>
    public int Rows => Data.Length / Shape[^1];

    /// <summary>A scalar (shape [1]).</summary>
    public float Item => Data.Length == 1 ? Data[0] : throw new InvalidOperationException($"not a scalar: shape [{string.Join(", ", Shape)}]");

    /// <summary>The gradient buffer, allocated (zeroed) on first use.</summary>
    public float[] EnsureGrad() => Grad ??= new float[Data.Length];

    /// <summary>Forgets the gradient (the next backward pass starts from zero).</summary>
    public void ZeroGrad()
    {
        if (Grad is not null)
        {
            Array.Clear(Grad);
        }
    }

    public override string ToString() => $"Tensor[{string.Join(", ", Shape)}]";
}
