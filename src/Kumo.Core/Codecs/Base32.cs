using System.Diagnostics.CodeAnalysis;

namespace Kumo.Codecs;

/// <summary>
/// RFC 4648 base32 (the "base32" alphabet, not "base32hex") in lower case and without padding, the form that
/// multibase prefix <c>b</c> uses for CIDs. Decoding is strict so that every byte string has exactly one text
/// form: upper case, padding, impossible lengths and non-zero trailing bits are all refused.
/// </summary>
public static class Base32
{
    private const string Alphabet = "abcdefghijklmnopqrstuvwxyz234567";

    /// <summary>Number of characters <see cref="Encode(ReadOnlySpan{byte})"/> produces for <paramref name="byteCount"/> bytes.</summary>
    public static int GetEncodedLength(int byteCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(byteCount);
        return (int)(((long)byteCount * 8 + 4) / 5);
    }

    /// <summary>Number of bytes <paramref name="charCount"/> characters of valid base32 decode to (rounded down).</summary>
    public static int GetDecodedLength(int charCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(charCount);
        return (int)((long)charCount * 5 / 8);
    }

    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            return string.Empty;
        }

        int length = GetEncodedLength(data.Length);
        Span<char> buffer = length <= 256 ? stackalloc char[length] : new char[length];
        Encode(data, buffer);
        return new string(buffer);
    }

    /// <summary>Writes the encoding of <paramref name="data"/> into <paramref name="destination"/>; returns the characters written.</summary>
    /// <exception cref="ArgumentException">The destination is shorter than <see cref="GetEncodedLength"/>.</exception>
    public static int Encode(ReadOnlySpan<byte> data, Span<char> destination)
    {
        int length = GetEncodedLength(data.Length);
        if (destination.Length < length)
        {
            throw new ArgumentException($"Destination holds {destination.Length} characters; {length} are needed.", nameof(destination));
        }

        int written = 0;
        ulong buffer = 0;
        int bits = 0;
        foreach (byte b in data)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5)
            {
                bits -= 5;
                destination[written++] = Alphabet[(int)((buffer >> bits) & 0x1F)];
            }
        }

        if (bits > 0)
        {
            destination[written++] = Alphabet[(int)((buffer << (5 - bits)) & 0x1F)];
        }

        return written;
    }

    /// <exception cref="FormatException">The text is not canonical lower-case unpadded base32.</exception>
    public static byte[] Decode(ReadOnlySpan<char> text)
    {
        var bytes = new byte[GetDecodedLength(text.Length)];
        if (!TryDecode(text, bytes, out _, out string? error))
        {
            throw new FormatException(error);
        }

        return bytes;
    }

    /// <summary>Decodes <paramref name="text"/> into <paramref name="destination"/>; false if the text is not valid or the destination is too short.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int bytesWritten) =>
        TryDecode(text, destination, out bytesWritten, out _);

    /// <summary>As <see cref="TryDecode(ReadOnlySpan{char}, Span{byte}, out int)"/>, with a message saying what is wrong.</summary>
    public static bool TryDecode(ReadOnlySpan<char> text, Span<byte> destination, out int bytesWritten, [NotNullWhen(false)] out string? error)
    {
        bytesWritten = 0;

        // 8 characters carry 5 bytes; a final group of 2, 4, 5 or 7 characters carries 1, 2, 3 or 4 bytes.
        // 1, 3 or 6 leftover characters cannot come from any byte string.
        int remainder = text.Length % 8;
        if (remainder is 1 or 3 or 6)
        {
            error = $"Base32 text of {text.Length} characters is impossible: no byte string encodes to that length.";
            return false;
        }

        int length = GetDecodedLength(text.Length);
        if (destination.Length < length)
        {
            error = $"Destination holds {destination.Length} bytes; {length} are needed.";
            return false;
        }

        ulong buffer = 0;
        int bits = 0;
        int written = 0;
        for (int i = 0; i < text.Length; i++)
        {
            int value = DecodeChar(text[i]);
            if (value < 0)
            {
                error = text[i] == '='
                    ? $"Base32 padding '=' at position {i} is not allowed."
                    : $"Invalid base32 character '{text[i]}' at position {i}; expected one of a-z or 2-7.";
                return false;
            }

            buffer = (buffer << 5) | (uint)value;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                destination[written++] = (byte)(buffer >> bits);
            }
        }

        if ((buffer & ((1UL << bits) - 1)) != 0)
        {
            error = "Base32 text has non-zero bits after its last byte; it is not the canonical encoding.";
            return false;
        }

        bytesWritten = written;
        error = null;
        return true;
    }

    private static int DecodeChar(char c) => c switch
    {
        >= 'a' and <= 'z' => c - 'a',
        >= '2' and <= '7' => c - '2' + 26,
        _ => -1,
    };
}
