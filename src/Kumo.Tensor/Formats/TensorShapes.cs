using System.Globalization;

namespace Kumo.Tensor.Formats;

/// <summary>Shape arithmetic with overflow checks: a hostile shape must produce an error, never a wrapped size.</summary>
internal static class TensorShapes
{
    /// <summary>Element count × element size, or false with the reason when a dimension is negative or it overflows.</summary>
    public static bool TryByteLength(IReadOnlyList<long> shape, SafeTensorsDType dtype, out long bytes, out string? problem)
    {
        foreach (long d in shape)
        {
            if (d < 0)
            {
                bytes = 0;
                problem = $"shape {Format(shape)} has negative dimension {d.ToString(CultureInfo.InvariantCulture)}";
                return false;
            }
        }

        long count = 1;
        bool overflow = false;
        if (!shape.Contains(0))
        {
            // A zero dimension makes the tensor empty however large the others are; otherwise multiply, checked.
            foreach (long d in shape)
            {
                if (count > long.MaxValue / d)
                {
                    overflow = true;
                    break;
                }

                count *= d;
            }
        }
        else
        {
            count = 0;
        }

        int size = SafeTensorsDTypes.SizeOf(dtype);
        if (overflow || count > long.MaxValue / size)
        {
            bytes = 0;
            problem = $"shape {Format(shape)} of {SafeTensorsDTypes.Name(dtype)} needs more than 2^63 bytes";
            return false;
        }

        bytes = count * size;
        problem = null;
        return true;
    }

    public static string Format(IReadOnlyList<long> shape) =>
        "[" + string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture))) + "]";
}
