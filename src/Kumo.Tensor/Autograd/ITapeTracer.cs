namespace Kumo.Tensor.Autograd;

/// <summary>
/// Sees the ops of a <see cref="Tape"/> in program order: each recorded op right after its forward result is
/// computed, then each backward step right after it ran (newest first). A dispute over a training step narrows the
/// disagreement to one of these ops, so the trace has to follow the exact order in which the tape executes them.
/// </summary>
public interface ITapeTracer
{
    /// <summary>Op <paramref name="index"/> (0-based, recording order) produced <paramref name="output"/>;
    /// <paramref name="origin"/> is the name of the code that recorded it (informative only: never hashed).</summary>
    void OnForward(int index, Tensor output, string origin);

    /// <summary>The backward step of op <paramref name="index"/> has just run.</summary>
    void OnBackward(int index);
}
