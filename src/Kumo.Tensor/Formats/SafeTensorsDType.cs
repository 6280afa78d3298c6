namespace Kumo.Tensor.Formats;

/// <summary>
/// The element types a safetensors header may name. Only these are accepted: a file naming anything else is refused
/// rather than guessed at, because a wrong element size would make every offset check meaningless.
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>Boolean, one byte per element.</summary>
    Bool,

    /// <summary>Unsigned 8-bit integer.</summary>
    U8,

    /// <summary>Signed 8-bit integer (the quantized weights' type).</summary>
    I8,

    /// <summary>8-bit float, 4 exponent and 3 mantissa bits.</summary>
    F8E4M3,

    /// <summary>8-bit float, 5 exponent and 2 mantissa bits.</summary>
    F8E5M2,

    /// <summary>Signed 16-bit integer.</summary>
    I16,

    /// <summary>Unsigned 16-bit integer.</summary>
    U16,

    /// <summary>IEEE binary16 (the Q8_0 block scales' type).</summary>
    F16,

    /// <summary>bfloat16: the top half of a binary32.</summary>
    BF16,

    /// <summary>Signed 32-bit integer.</summary>
    I32,

    /// <summary>Unsigned 32-bit integer.</summary>
    U32,

    /// <summary>IEEE binary32, the engine's compute type.</summary>
    F32,

    /// <summary>IEEE binary64.</summary>
    F64,

    /// <summary>Signed 64-bit integer.</summary>
    I64,

    /// <summary>Unsigned 64-bit integer.</summary>
    U64,
}

/// <summary>The spelling and element size of each <see cref="SafeTensorsDType"/>, as the specification fixes them.</summary>
public static class SafeTensorsDTypes
{
    /// <summary>Bytes per element.</summary>
    public static int SizeOf(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8
            or SafeTensorsDType.F8E4M3 or SafeTensorsDType.F8E5M2 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
        SafeTensorsDType.F64 or SafeTensorsDType.I64 or SafeTensorsDType.U64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>The name written in a header's "dtype" field ("F32", "BF16", "F8_E4M3", …).</summary>
    public static string Name(SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => "BOOL",
        SafeTensorsDType.U8 => "U8",
        SafeTensorsDType.I8 => "I8",
        SafeTensorsDType.F8E4M3 => "F8_E4M3",
        SafeTensorsDType.F8E5M2 => "F8_E5M2",
        SafeTensorsDType.I16 => "I16",
        SafeTensorsDType.U16 => "U16",
        SafeTensorsDType.F16 => "F16",
        SafeTensorsDType.BF16 => "BF16",
        SafeTensorsDType.I32 => "I32",
        SafeTensorsDType.U32 => "U32",
        SafeTensorsDType.F32 => "F32",
        SafeTensorsDType.F64 => "F64",
        SafeTensorsDType.I64 => "I64",
        SafeTensorsDType.U64 => "U64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a safetensors dtype"),
    };

    /// <summary>Parses a header's "dtype" field; case-sensitive, as the specification spells the names.</summary>
    public static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        switch (name)
        {
            case "BOOL": dtype = SafeTensorsDType.Bool; return true;
            case "U8": dtype = SafeTensorsDType.U8; return true;
            case "I8": dtype = SafeTensorsDType.I8; return true;
            case "F8_E4M3": dtype = SafeTensorsDType.F8E4M3; return true;
            case "F8_E5M2": dtype = SafeTensorsDType.F8E5M2; return true;
            case "I16": dtype = SafeTensorsDType.I16; return true;
            case "U16": dtype = SafeTensorsDType.U16; return true;
            case "F16": dtype = SafeTensorsDType.F16; return true;
            case "BF16": dtype = SafeTensorsDType.BF16; return true;
            case "I32": dtype = SafeTensorsDType.I32; return true;
            case "U32": dtype = SafeTensorsDType.U32; return true;
            case "F32": dtype = SafeTensorsDType.F32; return true;
            case "F64": dtype = SafeTensorsDType.F64; return true;
            case "I64": dtype = SafeTensorsDType.I64; return true;
            case "U64": dtype = SafeTensorsDType.U64; return true;
            default: dtype = default; return false;
        }
    }
}
