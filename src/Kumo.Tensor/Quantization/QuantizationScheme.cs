namespace Kumo.Tensor.Quantization;

/// <summary>
/// How a 2-D fp32 weight matrix is turned into int8. Both are symmetric (no zero point: 0 stays exactly 0) and use
/// levels −127…127 (−128 never, so negation is closed and the grid is the same on both sides).
/// </summary>
public enum QuantizationScheme
{
    /// <summary>
    /// One fp32 scale per output channel (row of a [out, in] matrix): scale = max|row| / 127. Best when rows differ in
    /// magnitude but are smooth within; the scale overhead is 4 bytes per row.
    /// </summary>
    Int8PerChannel,

    /// <summary>
    /// "Q8_0" after GGML: one scale per block of 32 consecutive values of a row (the last block of a row may be
    /// shorter), stored as fp16 to keep the overhead at 2 bytes per 32 values. Tracks local outliers better than one
    /// scale per row.
    /// </summary>
    Q8Blocks,
}

/// <summary>The names a scheme goes by in a file's "kumo.quantization" metadata entry.</summary>
public static class QuantizationSchemes
{
    /// <summary>"int8-per-channel" or "q8_0".</summary>
    public static string Name(QuantizationScheme scheme) => scheme switch
    {
        QuantizationScheme.Int8PerChannel => "int8-per-channel",
        QuantizationScheme.Q8Blocks => "q8_0",
        _ => throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "not a quantization scheme"),
    };

    public static bool TryParse(string name, out QuantizationScheme scheme)
    {
        switch (name)
        {
            case "int8-per-channel": scheme = QuantizationScheme.Int8PerChannel; return true;
            case "q8_0": scheme = QuantizationScheme.Q8Blocks; return true;
            default: scheme = default; return false;
        }
    }
}
