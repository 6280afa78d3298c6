using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Kumo.Content;
using Kumo.Tensor.Formats;

namespace Kumo.Tensor.Quantization;

/// <summary>A quantized model's canonical safetensors bytes and, per quantized tensor, how much it lost.</summary>
public sealed record QuantizedModel(byte[] File, IReadOnlyList<QuantizationReport> Reports);

/// <summary>
/// Turns an fp32 safetensors model into an int8 one that serving providers can fetch at a quarter of the size, and
/// back into fp32 for the engine to run. What gets quantized: every F32 tensor of rank 2 (the [out, in] weight
/// matrices, where the bytes are); everything else — biases, norms, 1-D tensors, other dtypes — is copied unchanged,
/// since those are small and precision-sensitive. Layout in the file (see docs/FORMATS.md):
/// <list type="bullet">
/// <item>weight <c>w</c> [out, in] becomes <c>w.q</c> (I8, [out, in]) and <c>w.scale</c>: F32 [out] for
/// int8-per-channel, F16 [out, ceil(in / 32)] for q8_0;</item>
/// <item>metadata <c>kumo.quantization</c> = "int8-per-channel" | "q8_0", and <c>kumo.parent_cid</c> = the fp32
/// model's CID when given, so a quantized file points at what it was made from.</item>
/// </list>
/// The output goes through the canonical writer and the kernels are exact, so quantizing the same model twice gives
/// the same bytes — and the same CID — on any provider.
/// </summary>
public static class Quantizer
{
    /// <summary>Metadata key naming the scheme; present exactly in quantized files.</summary>
    public const string SchemeKey = "kumo.quantization";

    /// <summary>Metadata key holding the CID of the fp32 model a quantized file was made from.</summary>
    public const string ParentCidKey = "kumo.parent_cid";

    /// <summary>Suffix of a quantized weight's int8 values.</summary>
    public const string ValuesSuffix = ".q";

    /// <summary>Suffix of a quantized weight's scales.</summary>
    public const string ScaleSuffix = ".scale";

    /// <summary>
    /// Quantizes every rank-2 F32 tensor of <paramref name="model"/> with <paramref name="scheme"/>. Refused
    /// (<see cref="ArgumentException"/>): a model that is already quantized, a weight holding NaN or ±∞, a tensor
    /// that stays unquantized but whose name ends in ".q" or ".scale" (it would be misread on the way back), and for
    /// q8_0 a block too large for an fp16 scale.
    /// </summary>
    public static QuantizedModel Quantize(SafeTensorsFile model, QuantizationScheme scheme, Cid? parent = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        string schemeName = QuantizationSchemes.Name(scheme);
        if (model.Metadata.TryGetValue(SchemeKey, out string? already))
        {
            throw new ArgumentException($"model is already quantized ({SchemeKey} = '{already}')", nameof(model));
        }

        var output = new List<TensorEntry>();
        var reports = new List<QuantizationReport>();
        foreach (TensorEntry t in model.Tensors.Values)
        {
            if (!IsQuantizable(t))
            {
                if (t.Name.EndsWith(ValuesSuffix, StringComparison.Ordinal) || t.Name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
                {
                    throw new ArgumentException(
                        $"tensor '{t.Name}' would be read back as part of a quantized weight; names ending in {ValuesSuffix} or {ScaleSuffix} are reserved in quantized files",
                        nameof(model));
                }

                output.Add(t);
                continue;
            }

            (int rows, int columns) = Matrix(t, ArgumentError);
            float[] weights = t.ToFloat32Array();
            var q = new sbyte[weights.Length];
            var restored = new float[weights.Length];
            TensorEntry scaleEntry;
            if (scheme == QuantizationScheme.Int8PerChannel)
            {
                var scales = new float[rows];
                Int8Kernels.QuantizePerChannel(weights, rows, columns, q, scales, t.Name);
                Int8Kernels.DequantizePerChannel(q, scales, rows, columns, restored);
                scaleEntry = TensorEntry.FromFloat32(t.Name + ScaleSuffix, [rows], scales);
            }
            else
            {
                int blocks = Int8Kernels.BlocksPerRow(columns);
                var scales = new Half[(long)rows * blocks];
                Int8Kernels.QuantizeBlocks(weights, rows, columns, q, scales, t.Name);
                Int8Kernels.DequantizeBlocks(q, scales, rows, columns, restored);
                scaleEntry = new TensorEntry(t.Name + ScaleSuffix, SafeTensorsDType.F16, [rows, blocks], HalfBytes(scales));
            }

            output.Add(new TensorEntry(t.Name + ValuesSuffix, SafeTensorsDType.I8, [rows, columns], MemoryMarshal.AsBytes(q.AsSpan()).ToArray()));
            output.Add(scaleEntry);
            reports.Add(QuantizationReport.Compare(t.Name, scheme, weights, restored));
        }

        var metadata = new Dictionary<string, string>(model.Metadata, StringComparer.Ordinal) { [SchemeKey] = schemeName };
        if (parent is not null)
        {
            metadata[ParentCidKey] = parent.ToString();
        }

        // No collisions are possible: kept names never end in .q or .scale, and distinct weights get distinct suffixed names.
        return new QuantizedModel(new SafeTensorsFile(output, metadata).ToBytes(), reports);
    }

    /// <summary>
    /// The fp32 model a quantized file stands for: each <c>w.q</c> + <c>w.scale</c> pair becomes F32 <c>w</c>,
    /// everything else is kept, and the metadata loses only <see cref="SchemeKey"/>. A file that breaks the layout
    /// (missing or misshapen scales, an orphan scale, a level of −128, a negative or non-finite scale, an unknown
    /// scheme) is a <see cref="SafeTensorsFormatException"/>, like any other malformed file.
    /// </summary>
    public static SafeTensorsFile Dequantize(SafeTensorsFile quantized)
    {
        ArgumentNullException.ThrowIfNull(quantized);
        if (!quantized.Metadata.TryGetValue(SchemeKey, out string? schemeName))
        {
            throw new SafeTensorsFormatException($"not a quantized model: metadata has no {SchemeKey}");
        }

        if (!QuantizationSchemes.TryParse(schemeName, out QuantizationScheme scheme))
        {
            throw new SafeTensorsFormatException($"unknown quantization scheme '{schemeName}' (expected int8-per-channel or q8_0)");
        }

        var output = new List<TensorEntry>();
        var usedScales = new HashSet<string>(StringComparer.Ordinal);
        foreach (TensorEntry t in quantized.Tensors.Values)
        {
            if (t.Name.EndsWith(ScaleSuffix, StringComparison.Ordinal))
            {
                continue;
            }

            if (!t.Name.EndsWith(ValuesSuffix, StringComparison.Ordinal))
            {
                output.Add(t);
                continue;
            }

            string name = t.Name[..^ValuesSuffix.Length];
            if (t.DType != SafeTensorsDType.I8 || t.Shape.Count != 2)
            {
                throw Bad($"tensor '{t.Name}' is {Describe(t)}; quantized values must be I8 of rank 2");
            }

            (int rows, int columns) = Matrix(t, Bad);
            if (!quantized.Tensors.TryGetValue(name + ScaleSuffix, out TensorEntry? scaleEntry))
            {
                throw Bad($"tensor '{t.Name}' has no '{name}{ScaleSuffix}'");
            }

            usedScales.Add(scaleEntry.Name);
            ReadOnlySpan<sbyte> q = MemoryMarshal.Cast<byte, sbyte>(t.Data.Span);
            int low = q.IndexOf((sbyte)-128);
            if (low >= 0)
            {
                throw Bad($"tensor '{t.Name}' element [{low / columns}, {low % columns}] is -128; levels are -127..127");
            }

            var weights = new float[q.Length];
            if (scheme == QuantizationScheme.Int8PerChannel)
            {
                ExpectShape(scaleEntry, SafeTensorsDType.F32, [rows]);
                float[] scales = scaleEntry.ToFloat32Array();
                CheckScales(scaleEntry.Name, scales);
                Int8Kernels.DequantizePerChannel(q, scales, rows, columns, weights);
            }
            else
            {
                int blocks = Int8Kernels.BlocksPerRow(columns);
                ExpectShape(scaleEntry, SafeTensorsDType.F16, [rows, blocks]);
                Half[] scales = ReadHalves(scaleEntry.Data.Span);
                CheckScales(scaleEntry.Name, scales.Select(s => (float)s));
                Int8Kernels.DequantizeBlocks(q, scales, rows, columns, weights);
            }

            output.Add(TensorEntry.FromFloat32(name, [rows, columns], weights));
        }

        string? orphan = quantized.Tensors.Keys.FirstOrDefault(n => n.EndsWith(ScaleSuffix, StringComparison.Ordinal) && !usedScales.Contains(n));
        if (orphan is not null)
        {
            throw Bad($"tensor '{orphan}' scales no '{orphan[..^ScaleSuffix.Length]}{ValuesSuffix}'");
        }

        var metadata = quantized.Metadata.Where(kv => kv.Key != SchemeKey).ToDictionary(StringComparer.Ordinal);
        try
        {
            return new SafeTensorsFile(output, metadata);
        }
        catch (ArgumentException ex)
        {
            throw Bad($"dequantized names collide: {ex.Message}");
        }
    }

    /// <summary>Whether <see cref="Quantize"/> would quantize <paramref name="tensor"/>: F32 and rank 2.</summary>
    public static bool IsQuantizable(TensorEntry tensor) => tensor.DType == SafeTensorsDType.F32 && tensor.Shape.Count == 2;

    private static (int Rows, int Columns) Matrix(TensorEntry t, Func<string, Exception> fail)
    {
        if (t.Shape[0] > int.MaxValue || t.Shape[1] > int.MaxValue)
        {
            throw fail($"tensor '{t.Name}' of shape [{t.Shape[0]}, {t.Shape[1]}] has a dimension beyond 2^31 - 1");
        }

        return ((int)t.Shape[0], (int)t.Shape[1]);
    }

    private static void ExpectShape(TensorEntry scale, SafeTensorsDType dtype, long[] shape)
    {
        if (scale.DType != dtype || !scale.Shape.SequenceEqual(shape))
        {
            throw Bad($"tensor '{scale.Name}' is {Describe(scale)}; expected {SafeTensorsDTypes.Name(dtype)} {TensorShapes.Format(shape)}");
        }
    }

    private static void CheckScales(string name, IEnumerable<float> scales)
    {
        int i = 0;
        foreach (float s in scales)
        {
            if (!float.IsFinite(s) || s < 0 || float.IsInfinity(s * Int8Kernels.MaxLevel))
            {
                throw Bad($"tensor '{name}' element {i} is {s}; scales must be finite, non-negative and small enough that 127 × scale is finite");
            }

            i++;
        }
    }

    private static byte[] HalfBytes(Half[] values)
    {
        byte[] bytes = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), values[i]);
        }

        return bytes;
    }

    private static Half[] ReadHalves(ReadOnlySpan<byte> bytes)
    {
        var values = new Half[bytes.Length / 2];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = BinaryPrimitives.ReadHalfLittleEndian(bytes[(i * 2)..]);
        }

        return values;
    }

    private static string Describe(TensorEntry t) => $"{SafeTensorsDTypes.Name(t.DType)} {TensorShapes.Format(t.Shape)}";

    private static ArgumentException ArgumentError(string message) => new(message);

    private static SafeTensorsFormatException Bad(string message) => new(message);
}
