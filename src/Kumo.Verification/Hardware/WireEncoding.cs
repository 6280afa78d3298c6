using System.Buffers.Binary;
using System.Globalization;

namespace Kumo.Verification.Hardware;

/// <summary>The byte forms on the wire: little-endian floats in base64, seeds as 16 hex digits, hashes as hex.</summary>
public static class WireEncoding
{
    public static string Seed(ulong seed) => seed.ToString("x16", CultureInfo.InvariantCulture);

    public static bool TryParseSeed(string? text, out ulong seed) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out seed) && text!.Length == 16;

    /// <summary>The canonical bytes of a row of C: each float32 little-endian. The Merkle leaves are these bytes.</summary>
    public static byte[] RowBytes(ReadOnlySpan<float> row)
    {
        byte[] bytes = new byte[row.Length * 4];
        for (int j = 0; j < row.Length; j++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(j * 4), row[j]);
        }

        return bytes;
    }

    public static float[] ReadFloats(ReadOnlySpan<byte> bytes)
    {
        float[] values = new float[bytes.Length / 4];
        for (int j = 0; j < values.Length; j++)
        {
            values[j] = BinaryPrimitives.ReadSingleLittleEndian(bytes[(j * 4)..]);
        }

        return values;
    }

    public static string Doubles(ReadOnlySpan<double> values)
    {
        byte[] bytes = new byte[values.Length * 8];
        for (int j = 0; j < values.Length; j++)
        {
            BinaryPrimitives.WriteDoubleLittleEndian(bytes.AsSpan(j * 8), values[j]);
        }

        return Convert.ToBase64String(bytes);
    }

    public static double[] ReadDoubles(ReadOnlySpan<byte> bytes)
    {
        double[] values = new double[bytes.Length / 8];
        for (int j = 0; j < values.Length; j++)
        {
            values[j] = BinaryPrimitives.ReadDoubleLittleEndian(bytes[(j * 8)..]);
        }

        return values;
    }
}
