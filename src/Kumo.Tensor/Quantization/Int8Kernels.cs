namespace Kumo.Tensor.Quantization;

/// <summary>
/// The int8 quantization kernels, written so that every provider gets the same bits: each value is a division, a
/// round-half-to-even and a clamp (all IEEE-exact operations), each scale a maximum of magnitudes and one division —
/// no reciprocal-multiply shortcut and no transcendental functions, whose results differ between libraries.
/// <para>
/// Error bound: every dequantized value is within scale / 2 of the original (plus the last-place rounding of the
/// final multiply), because the scale never undershoots max|x| / 127 — so no value is clamped.
/// </para>
/// </summary>
public static class Int8Kernels
{
    /// <summary>Largest quantized magnitude: levels are −127…127.</summary>
    public const int MaxLevel = 127;

    /// <summary>Values per Q8_0 block.</summary>
    public const int BlockSize = 32;

    /// <summary>Blocks in one row of <paramref name="columns"/> values (the last may be partial).</summary>
    public static int BlocksPerRow(int columns) => (columns + BlockSize - 1) / BlockSize;

    /// <summary>
    /// Per-output-channel quantization of a row-major [rows, columns] matrix: scale[r] = max|w[r, ·]| / 127,
    /// q = clamp(roundEven(w / scale), −127, 127); a row of zeros (or of values so small the scale underflows to 0)
    /// gets scale 0 and all-zero q. Rows whose maximum is within a few ulps of float.MaxValue get the scale one ulp
    /// lower, so that 127 × scale stays finite.
    /// </summary>
    public static void QuantizePerChannel(ReadOnlySpan<float> weights, int rows, int columns, Span<sbyte> quantized, Span<float> scales,
        string? tensorName = null)
    {
        CheckSizes(weights.Length, quantized.Length, rows, columns);
        if (scales.Length != rows)
        {
            throw new ArgumentException($"{rows} rows need {rows} scales, not {scales.Length}", nameof(scales));
        }

        CheckFinite(weights, columns, tensorName);
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> row = weights.Slice(r * columns, columns);
            float scale = MaxAbs(row) / MaxLevel;
            if (float.IsInfinity(scale * MaxLevel))
            {
                // Near float.MaxValue the rounded quotient can put 127 × scale past the largest float; one step down
                // keeps every dequantized value finite (the max is then clamped to 127, a last-place error).
                scale = MathF.BitDecrement(scale);
            }

            scales[r] = scale;
            QuantizeRun(row, scale, quantized.Slice(r * columns, columns));
        }
    }

    /// <summary>w = q × scale[row], the inverse of <see cref="QuantizePerChannel"/>.</summary>
    public static void DequantizePerChannel(ReadOnlySpan<sbyte> quantized, ReadOnlySpan<float> scales, int rows, int columns, Span<float> weights)
    {
        CheckSizes(weights.Length, quantized.Length, rows, columns);
        if (scales.Length != rows)
        {
            throw new ArgumentException($"{rows} rows need {rows} scales, not {scales.Length}", nameof(scales));
        }

        for (int r = 0; r < rows; r++)
        {
            DequantizeRun(quantized.Slice(r * columns, columns), scales[r], weights.Slice(r * columns, columns));
        }
    }

    /// <summary>
    /// Q8_0-style quantization: each row in blocks of 32 (last one partial), one fp16 scale per block, laid out
    /// [rows, BlocksPerRow(columns)]. The scale is max|block| / 127 rounded <em>up</em> to the next fp16 value, and the
    /// values are divided by that stored scale: dequantization then uses exactly the number quantization used and no
    /// value can exceed 127 levels, which keeps the scale / 2 bound. (GGML rounds the fp16 scale to nearest and
    /// multiplies by a float reciprocal; the bytes are therefore not GGML's, the layout idea is.)
    /// </summary>
    public static void QuantizeBlocks(ReadOnlySpan<float> weights, int rows, int columns, Span<sbyte> quantized, Span<Half> scales,
        string? tensorName = null)
    {
        CheckSizes(weights.Length, quantized.Length, rows, columns);
        int blocks = BlocksPerRow(columns);
        if (scales.Length != (long)rows * blocks)
        {
            throw new ArgumentException($"{rows} rows of {blocks} blocks need {(long)rows * blocks} scales, not {scales.Length}", nameof(scales));
        }

        CheckFinite(weights, columns, tensorName);
        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int start = (r * columns) + (b * BlockSize);
                int length = Math.Min(BlockSize, columns - (b * BlockSize));
                ReadOnlySpan<float> block = weights.Slice(start, length);
                float max = MaxAbs(block);
                Half scale = CeilingHalf(max / MaxLevel);
                if (Half.IsInfinity(scale))
                {
                    throw new ArgumentException(
                        $"{Where(tensorName)}block {b} of row {r} has max |x| = {max}, beyond what an fp16 scale can carry (65504 × 127); use per-channel int8",
                        nameof(weights));
                }

                scales[(r * blocks) + b] = scale;
                QuantizeRun(block, (float)scale, quantized.Slice(start, length));
            }
        }
    }

    /// <summary>w = q × scale[row, block], the inverse of <see cref="QuantizeBlocks"/>.</summary>
    public static void DequantizeBlocks(ReadOnlySpan<sbyte> quantized, ReadOnlySpan<Half> scales, int rows, int columns, Span<float> weights)
    {
        CheckSizes(weights.Length, quantized.Length, rows, columns);
        int blocks = BlocksPerRow(columns);
        if (scales.Length != (long)rows * blocks)
        {
            throw new ArgumentException($"{rows} rows of {blocks} blocks need {(long)rows * blocks} scales, not {scales.Length}", nameof(scales));
        }

        for (int r = 0; r < rows; r++)
        {
            for (int b = 0; b < blocks; b++)
            {
                int start = (r * columns) + (b * BlockSize);
                int length = Math.Min(BlockSize, columns - (b * BlockSize));
                DequantizeRun(quantized.Slice(start, length), (float)scales[(r * blocks) + b], weights.Slice(start, length));
            }
        }
    }

    /// <summary>The smallest fp16 value ≥ <paramref name="value"/> (value finite and ≥ 0).</summary>
    internal static Half CeilingHalf(float value)
    {
        var h = (Half)value;
        return (float)h < value ? Half.BitIncrement(h) : h;
    }

    private static float MaxAbs(ReadOnlySpan<float> values)
    {
        float max = 0f;
        foreach (float v in values)
        {
            max = Math.Max(max, Math.Abs(v));
        }

        return max;
    }

    private static void QuantizeRun(ReadOnlySpan<float> values, float scale, Span<sbyte> quantized)
    {
        if (scale == 0f)
        {
            quantized.Clear();
            return;
        }

        for (int i = 0; i < values.Length; i++)
        {
            // MathF.Round is roundTiesToEven; the clamp guards the last-place rounding of the division.
            quantized[i] = (sbyte)Math.Clamp(MathF.Round(values[i] / scale), -MaxLevel, MaxLevel);
        }
    }

    private static void DequantizeRun(ReadOnlySpan<sbyte> quantized, float scale, Span<float> values)
    {
        for (int i = 0; i < quantized.Length; i++)
        {
            values[i] = quantized[i] * scale;
        }
    }

    private static void CheckSizes(int weights, int quantized, int rows, int columns)
    {
        if (rows < 0 || columns < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(rows), $"dimensions must not be negative (rows={rows}, columns={columns})");
        }

        long count = (long)rows * columns;
        if (weights != count || quantized != count)
        {
            throw new ArgumentException($"a {rows}×{columns} matrix has {count} values; got {weights} weights and {quantized} quantized");
        }
    }

    /// <summary>NaN or ±∞ has no int8 image (and one would poison its whole row's or block's scale): refused, located.</summary>
    private static void CheckFinite(ReadOnlySpan<float> weights, int columns, string? tensorName)
    {
        for (int i = 0; i < weights.Length; i++)
        {
            if (!float.IsFinite(weights[i]))
            {
                throw new ArgumentException(
                    $"{Where(tensorName)}element [{i / columns}, {i % columns}] is {weights[i]}; only finite values can be quantized",
                    nameof(weights));
            }
        }
    }

    private static string Where(string? tensorName) => tensorName is null ? "" : $"tensor '{tensorName}': ";
}
