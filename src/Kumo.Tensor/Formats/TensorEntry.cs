using System.Buffers.Binary;
using System.Collections.ObjectModel;
using System.Runtime.InteropServices;

namespace Kumo.Tensor.Formats;

/// <summary>
/// One named tensor of a safetensors file: its element type, its shape (row-major) and its little-endian bytes.
/// The constructor checks that the bytes are exactly shape × element size, so an entry that exists is consistent —
/// whether it came from a file or from code about to write one.
/// </summary>
public sealed class TensorEntry
{
    public TensorEntry(string name, SafeTensorsDType dtype, IEnumerable<long> shape, ReadOnlyMemory<byte> data)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(shape);
        long[] dims = [.. shape];
        if (!TensorShapes.TryByteLength(dims, dtype, out long bytes, out string? problem))
        {
            throw new ArgumentException($"tensor '{name}': {problem}", nameof(shape));
        }

        if (bytes != data.Length)
        {
            throw new ArgumentException(
                $"tensor '{name}': shape {TensorShapes.Format(dims)} of {SafeTensorsDTypes.Name(dtype)} needs {bytes} bytes but {data.Length} were given",
                nameof(data));
        }

        Name = name;
        DType = dtype;
        Shape = new ReadOnlyCollection<long>(dims);
        Data = data;
    }

    /// <summary>The tensor's name, unique within its file.</summary>
    public string Name { get; }

    public SafeTensorsDType DType { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar.</summary>
    public IReadOnlyList<long> Shape { get; }

    /// <summary>Product of the dimensions (1 for a scalar, 0 when any dimension is 0).</summary>
    public long ElementCount => Data.Length / SafeTensorsDTypes.SizeOf(DType);

    /// <summary>The raw little-endian bytes, row-major; a slice of the file's buffer when read, never copied.</summary>
    public ReadOnlyMemory<byte> Data { get; }

    /// <summary>An F32 entry holding <paramref name="values"/>, encoded little-endian whatever the host's order.</summary>
    public static TensorEntry FromFloat32(string name, IEnumerable<long> shape, ReadOnlySpan<float> values)
    {
        byte[] bytes = new byte[checked(values.Length * sizeof(float))];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return new TensorEntry(name, SafeTensorsDType.F32, shape, bytes);
    }

    /// <summary>The values of an F32 tensor; any other dtype is refused rather than silently converted.</summary>
    public float[] ToFloat32Array()
    {
        if (DType != SafeTensorsDType.F32)
        {
            throw new InvalidOperationException($"tensor '{Name}' is {SafeTensorsDTypes.Name(DType)}, not F32");
        }

        var values = new float[Data.Length / sizeof(float)];
        ReadOnlySpan<byte> bytes = Data.Span;
        if (BitConverter.IsLittleEndian)
        {
            bytes.CopyTo(MemoryMarshal.AsBytes(values.AsSpan()));
        }
        else
        {
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(i * sizeof(float))..]);
            }
        }

        return values;
    }

    public override string ToString() => $"{Name}: {SafeTensorsDTypes.Name(DType)} {TensorShapes.Format(Shape)}";
}
