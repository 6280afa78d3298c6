namespace Kumo.Codecs;

/// <summary>
/// Bech32 (BIP-173): a human-readable prefix, a '1', base32 data and a 6-character BCH checksum that detects
/// any error in up to 4 characters. Used for account ids ("kumo1...") so that a mistyped id is refused, not paid.
/// </summary>
public static class Bech32
{
    private const string Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    private static readonly uint[] Generator = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
    private static readonly sbyte[] CharsetReverse = BuildReverse();

    /// <summary>Encodes <paramref name="data"/> (8-bit bytes) under the given lower-case prefix.</summary>
    public static string Encode(string humanPart, ReadOnlySpan<byte> data)
    {
        byte[] fiveBit = ConvertBits(data, 8, 5, pad: true)!;
        byte[] checksum = CreateChecksum(humanPart, fiveBit);
        var chars = new char[humanPart.Length + 1 + fiveBit.Length + checksum.Length];
        humanPart.CopyTo(chars);
        chars[humanPart.Length] = '1';
        int i = humanPart.Length + 1;
        foreach (byte b in fiveBit)
        {
            chars[i++] = Charset[b];
        }

        foreach (byte b in checksum)
        {
            chars[i++] = Charset[b];
        }

        return new string(chars);
    }

    /// <summary>Decodes a bech32 string; returns false with a reason for anything malformed.</summary>
    public static bool TryDecode(string text, out string humanPart, out byte[] data, out string error)
    {
        humanPart = "";
        data = [];
        if (text.Length is < 8 or > 90)
        {
            error = $"length {text.Length} is outside 8..90";
            return false;
        }

        bool hasLower = false, hasUpper = false;
        foreach (char c in text)
        {
            if (c is < (char)33 or > (char)126)
            {
                error = "contains a character outside printable ASCII";
                return false;
            }

            hasLower |= char.IsAsciiLetterLower(c);
            hasUpper |= char.IsAsciiLetterUpper(c);
        }

        if (hasLower && hasUpper)
        {
            error = "mixes upper and lower case";
            return false;
        }

        string lower = text.ToLowerInvariant();
        int separator = lower.LastIndexOf('1');
        if (separator < 1 || separator + 7 > lower.Length)
        {
            error = "has no '1' separator followed by data and a 6-character checksum";
            return false;
        }

        var values = new byte[lower.Length - separator - 1];
        for (int i = 0; i < values.Length; i++)
        {
            char c = lower[separator + 1 + i];
            sbyte v = c < 128 ? CharsetReverse[c] : (sbyte)-1;
            if (v < 0)
            {
                error = $"character '{c}' is not in the bech32 alphabet";
                return false;
            }

            values[i] = (byte)v;
        }

        string hrp = lower[..separator];
        if (PolyMod(ExpandHumanPart(hrp), values) != 1)
        {
            error = "checksum does not match (a character is wrong or missing)";
            return false;
        }

        byte[]? decoded = ConvertBits(values.AsSpan(0, values.Length - 6), 5, 8, pad: false);
        if (decoded is null)
        {
            error = "has invalid padding";
            return false;
        }

        humanPart = hrp;
        data = decoded;
        error = "";
        return true;
    }

    private static sbyte[] BuildReverse()
    {
        var table = new sbyte[128];
        Array.Fill(table, (sbyte)-1);
        for (int i = 0; i < Charset.Length; i++)
        {
            table[Charset[i]] = (sbyte)i;
        }

        return table;
    }

    private static uint PolyMod(byte[] prefix, ReadOnlySpan<byte> values)
    {
        uint chk = 1;
        Step(prefix, ref chk);
        Step(values, ref chk);
        return chk;

        static void Step(ReadOnlySpan<byte> items, ref uint chk)
        {
            foreach (byte v in items)
            {
                uint top = chk >> 25;
                chk = ((chk & 0x1ffffff) << 5) ^ v;
                for (int i = 0; i < 5; i++)
                {
                    if (((top >> i) & 1) != 0)
                    {
                        chk ^= Generator[i];
                    }
                }
            }
        }
    }

    private static byte[] ExpandHumanPart(string hrp)
    {
        var result = new byte[(hrp.Length * 2) + 1];
        for (int i = 0; i < hrp.Length; i++)
        {
            result[i] = (byte)(hrp[i] >> 5);
            result[i + hrp.Length + 1] = (byte)(hrp[i] & 31);
        }

        return result;
    }

    private static byte[] CreateChecksum(string hrp, byte[] data)
    {
        var values = new byte[data.Length + 6];
        data.CopyTo(values, 0);
        uint mod = PolyMod(ExpandHumanPart(hrp), values) ^ 1;
        var checksum = new byte[6];
        for (int i = 0; i < 6; i++)
        {
            checksum[i] = (byte)((mod >> (5 * (5 - i))) & 31);
        }

        return checksum;
    }

    private static byte[]? ConvertBits(ReadOnlySpan<byte> input, int fromBits, int toBits, bool pad)
    {
        int acc = 0, bits = 0;
        int maxValue = (1 << toBits) - 1;
        var output = new List<byte>((input.Length * fromBits / toBits) + 1);
        foreach (byte value in input)
        {
            acc = (acc << fromBits) | value;
            bits += fromBits;
            while (bits >= toBits)
            {
                bits -= toBits;
                output.Add((byte)((acc >> bits) & maxValue));
            }
        }

        if (pad)
        {
            if (bits > 0)
            {
                output.Add((byte)((acc << (toBits - bits)) & maxValue));
            }
        }
        else if (bits >= fromBits || ((acc << (toBits - bits)) & maxValue) != 0)
        {
            return null;
        }

        return [.. output];
    }
}
