namespace Kumo.Core.Tests.Content;

/// <summary>Deterministic test bytes: the same seed gives the same bytes on every machine and run.</summary>
internal static class TestData
{
    /// <summary>xorshift64* bytes, eight at a time.</summary>
    public static byte[] PseudoRandom(long length, ulong seed)
    {
        var bytes = new byte[length];
        Fill(bytes, seed);
        return bytes;
    }

    public static void Fill(Span<byte> destination, ulong seed)
    {
        ulong state = seed * 0x9E3779B97F4A7C15UL | 1;
        Span<byte> word = stackalloc byte[8];
        for (int i = 0; i < destination.Length; i += 8)
        {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(word, state * 0x2545F4914F6CDD1DUL);
            word[..Math.Min(8, destination.Length - i)].CopyTo(destination[i..]);
        }
    }

    /// <summary>Byte i is i mod 251: the pattern behind the hard-coded reference CIDs in the importer tests.</summary>
    public static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (int i = 0; i < length; i++)
        {
            bytes[i] = (byte)(i % 251);
        }

        return bytes;
    }
}
