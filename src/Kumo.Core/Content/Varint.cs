namespace Kumo.Content;

/// <summary>
/// Unsigned LEB128 varints as multiformats and protobuf write them: seven bits a byte, least significant
/// group first, high bit set on every byte but the last. Reading follows the multiformats rules: at most
/// nine bytes (63 bits) and only the minimal encoding, so one number has one byte form.
/// </summary>
internal static class Varint
{
    /// <summary>The longest varint <see cref="TryRead"/> accepts.</summary>
    public const int MaxLength = 9;

    /// <summary>The longest varint <see cref="Write"/> may produce (a full 64-bit value).</summary>
    public const int MaxWriteLength = 10;

    public static int GetLength(ulong value)
    {
        int length = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            length++;
        }

        return length;
    }

    /// <summary>Writes <paramref name="value"/> at the start of <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Write(Span<byte> destination, ulong value)
    {
        int i = 0;
        while (value >= 0x80)
        {
            destination[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        destination[i++] = (byte)value;
        return i;
    }

    /// <summary>
    /// Reads a varint from the start of <paramref name="source"/>. False when it is truncated, longer than
    /// <see cref="MaxLength"/> bytes, or not minimal (ends in a zero byte after the first).
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out ulong value, out int bytesRead)
    {
        value = 0;
        bytesRead = 0;
        int shift = 0;
        for (int i = 0; i < source.Length && i < MaxLength; i++)
        {
            byte b = source[i];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                if (b == 0 && i > 0)
                {
                    value = 0;
                    return false;
                }

                bytesRead = i + 1;
                return true;
            }

            shift += 7;
        }

        value = 0;
        return false;
    }
}
