namespace Kumo.Tensor.Autograd;

/// <summary>
/// Sees the ops of a <see cref="Tape"/> in program order: each recorded op right after its forward result is
/// computed, then each backward step right after it ran (newest first). A dispute over a training step narrows the
/// disagreement to one of these ops, so the trace has to follow the exact order in which the tape executes them.
/// </summary>
public interface ITapeTracer
{
    /// <summary>Op <paramref name="index"/> (0-based, recording order) produced <paramref name="output"/> from
    /// <paramref name="call"/>'s inputs.</summary>
    void OnForward(int index, Tensor output, OpCall call);

    /// <summary>The step named <paramref name="value"/> as one of its batch's inputs (<see cref="Tape.Leaf(string, Tensor)"/>).</summary>
    void OnLeaf(string name, Tensor value);

    /// <summary>The backward step of op <paramref name="index"/> has just run.</summary>
    void OnBackward(int index);
}
