using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Kumo.Tensor.Compute;

namespace Kumo.Tensor.Autograd;

/// <summary>
/// Reverse-mode automatic differentiation by a tape: each op, as it computes its forward result, appends a closure
/// that knows how to push its output's gradient back to its inputs; <see cref="Backward(Tensor)"/> runs those
/// closures newest first. The order of every gradient accumulation is therefore the reverse program order — fixed,
/// independent of threads — which is what makes gradients (and so trained weights) reproducible bit for bit.
/// A tape made with <c>recording: false</c> runs ops forward only (inference).
/// </summary>
public sealed class Tape
{
    private readonly List<Action> _backward = [];
    private List<(string Name, int[] Values)>? _intLeaves;

    public Tape(ComputeOptions? compute = null, bool recording = true)
    {
        Compute = compute ?? ComputeOptions.Default;
        Recording = recording;
    }

    /// <summary>Threads and SIMD width for the kernels the ops call. Never changes a result.</summary>
    public ComputeOptions Compute { get; }

    /// <summary>Whether ops record their backward steps.</summary>
    public bool Recording { get; }

    /// <summary>How many backward steps are recorded.</summary>
    public int Count => _backward.Count;

    /// <summary>
    /// Observes each recorded op's forward output and each backward step as it runs, for the operator trace a dispute
    /// bisects over. Null (the default) costs nothing; a tracer only reads, so results are unchanged.
    /// </summary>
    public ITapeTracer? Tracer { get; init; }

    /// <summary>
    /// Records a backward step when recording and when the op's output needs a gradient; <paramref name="call"/> says
    /// what the op computed from (seen only by a <see cref="Tracer"/>).
    /// </summary>
    public void Record(Tensor output, Action backward, OpCall call)
    {
        if (Recording && output.RequiresGrad)
        {
            _backward.Add(backward);
            Tracer?.OnForward(_backward.Count - 1, output, call);
        }
    }

    /// <summary>
    /// Names a tensor the step reads that is neither a parameter nor an op's output — a batch's inputs — so that a trace
    /// can say where an op's input came from. Free when not traced.
    /// </summary>
    public void Leaf(string name, Tensor value) => Tracer?.OnLeaf(name, value);

    /// <summary>Names an integer array the step reads (token ids, targets, positions). Free when not traced.</summary>
    public void Leaf(string name, int[] values)
    {
        if (Tracer is not null)
        {
            (_intLeaves ??= []).Add((name, values));
        }
    }

    /// <summary>The name of the integer <see cref="Leaf(string, int[])"/> whose memory <paramref name="values"/> is, or null.</summary>
    public string? LeafOf(ReadOnlySpan<int> values)
    {
        if (_intLeaves is null)
        {
            return null;
        }

        foreach ((string name, int[] leaf) in _intLeaves)
        {
            if (leaf.Length == values.Length && Unsafe.AreSame(ref MemoryMarshal.GetArrayDataReference(leaf), ref MemoryMarshal.GetReference(values)))
            {
                return name;
            }
        }

        return null;
    }

    /// <summary>Back-propagates from a scalar (d loss / d loss = 1).</summary>
    public void Backward(Tensor loss)
    {
        if (loss.Length != 1)
        {
            throw new ArgumentException($"backward from a non-scalar {loss} needs an explicit output gradient", nameof(loss));
        }

        Backward(loss, [1f]);
    }

    /// <summary>Back-propagates from any output, seeding its gradient with <paramref name="outputGradient"/>.</summary>
    public void Backward(Tensor output, ReadOnlySpan<float> outputGradient)
    {
        if (outputGradient.Length != output.Length)
        {
            throw new ArgumentException($"output gradient has {outputGradient.Length} elements, {output} needs {output.Length}", nameof(outputGradient));
        }

        float[] grad = output.EnsureGrad();
        for (int i = 0; i < grad.Length; i++)
        {
            grad[i] += outputGradient[i];
        }

        for (int i = _backward.Count - 1; i >= 0; i--)
        {
            _backward[i]();
            Tracer?.OnBackward(i);
        }

        _backward.Clear();
    }
}
