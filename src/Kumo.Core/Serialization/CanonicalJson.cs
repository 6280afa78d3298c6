using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Kumo.Serialization;

/// <summary>
/// The JSON Canonicalization Scheme (RFC 8785): object members sorted by their UTF-16 code units, no
/// insignificant whitespace, strings escaped minimally, numbers written as ECMAScript writes doubles.
/// Two parties that agree on a JSON value agree on its canonical bytes, so a signature over them survives
/// re-serialization by any JSON library.
/// </summary>
/// <remarks>
/// One rule is stricter than the RFC: an integer literal outside ±(2^53 − 1) is refused, because the RFC would
/// round it to the nearest double and the signature would then cover a different amount than the one a
/// reader parses as <see cref="long"/>. Send such values as strings.
/// Duplicate member names are refused (I-JSON, RFC 7493), as are lone surrogates.
/// </remarks>
public static class CanonicalJson
{
    /// <summary>2^53 − 1, the largest integer every JSON implementation reads exactly.</summary>
    public const long MaxSafeInteger = 9_007_199_254_740_991;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 64 };

    /// <summary>Canonical UTF-8 bytes of a JSON value.</summary>
    public static byte[] Serialize(JsonElement element)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        Write(element, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Canonical UTF-8 bytes of a JSON text. Throws <see cref="CanonicalJsonException"/> or <see cref="JsonException"/> on bad input.</summary>
    public static byte[] Serialize(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, new JsonReaderOptions { MaxDepth = DocumentOptions.MaxDepth });
        using var document = JsonDocument.ParseValue(ref reader);
        return Serialize(document.RootElement);
    }

    /// <summary>Canonical form of any value System.Text.Json can serialize.</summary>
    public static byte[] Serialize<T>(T value, JsonSerializerOptions options)
    {
        JsonElement element = JsonSerializer.SerializeToElement(value, options);
        return Serialize(element);
    }

    /// <summary>Appends the canonical form of <paramref name="element"/> to <paramref name="output"/>.</summary>
    public static void Write(JsonElement element, IBufferWriter<byte> output)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                WriteObject(element, output);
                break;
            case JsonValueKind.Array:
                WriteByte(output, (byte)'[');
                bool first = true;
                foreach (JsonElement item in element.EnumerateArray())
                {
                    if (!first)
                    {
                        WriteByte(output, (byte)',');
                    }

                    first = false;
                    Write(item, output);
                }

                WriteByte(output, (byte)']');
                break;
            case JsonValueKind.String:
                WriteString(ReadString(element), output);
                break;
            case JsonValueKind.Number:
                WriteAscii(output, FormatNumber(element));
                break;
            case JsonValueKind.True:
                WriteAscii(output, "true");
                break;
            case JsonValueKind.False:
                WriteAscii(output, "false");
                break;
            case JsonValueKind.Null:
                WriteAscii(output, "null");
                break;
            default:
                throw new CanonicalJsonException($"cannot canonicalize a JSON value of kind {element.ValueKind}");
        }
    }

    private static string ReadString(JsonElement element)
    {
        try
        {
            return element.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new CanonicalJsonException("string is not valid Unicode (lone surrogate)", e);
        }
    }

    private static void WriteObject(JsonElement element, IBufferWriter<byte> output)
    {
        var members = new List<(string Name, JsonElement Value)>();
        foreach (JsonProperty property in element.EnumerateObject())
        {
            string name;
            try
            {
                name = property.Name;
            }
            catch (InvalidOperationException e)
            {
                throw new CanonicalJsonException("member name is not valid Unicode (lone surrogate)", e);
            }

            members.Add((name, property.Value));
        }

        members.Sort(static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        WriteByte(output, (byte)'{');
        for (int i = 0; i < members.Count; i++)
        {
            if (i > 0)
            {
                if (string.Equals(members[i].Name, members[i - 1].Name, StringComparison.Ordinal))
                {
                    throw new CanonicalJsonException($"duplicate member name '{members[i].Name}'");
                }

                WriteByte(output, (byte)',');
            }

            WriteString(members[i].Name, output);
            WriteByte(output, (byte)':');
            Write(members[i].Value, output);
        }

        WriteByte(output, (byte)'}');
    }

    /// <summary>Writes a JSON string in canonical form.</summary>
    public static void WriteString(string value, IBufferWriter<byte> output)
    {
        WriteByte(output, (byte)'"');
        int runStart = 0;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            string? escape = c switch
            {
                '"' => "\\\"",
                '\\' => "\\\\",
                '\b' => "\\b",
                '\f' => "\\f",
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < ' ' => $"\\u{(int)c:x4}",
                _ => null,
            };
            if (char.IsSurrogate(c))
            {
                bool paired = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]);
                if (!paired)
                {
                    throw new CanonicalJsonException("string contains a lone surrogate, which is not valid Unicode");
                }

                i++;
                continue;
            }

            if (escape is null)
            {
                continue;
            }

            WriteUtf8(output, value.AsSpan(runStart, i - runStart));
            WriteAscii(output, escape);
            runStart = i + 1;
        }

        WriteUtf8(output, value.AsSpan(runStart));
        WriteByte(output, (byte)'"');
    }

    /// <summary>ECMAScript Number.prototype.toString of the value (RFC 8785 §3.2.2.3).</summary>
    internal static string FormatNumber(JsonElement element)
    {
        string raw = element.GetRawText();
        bool isIntegerLiteral = raw.AsSpan().IndexOfAny('.', 'e', 'E') < 0;
        if (isIntegerLiteral)
        {
            if (!element.TryGetInt64(out long integer) || integer is > MaxSafeInteger or < -MaxSafeInteger)
            {
                throw new CanonicalJsonException(
                    $"integer {Shorten(raw)} is outside ±(2^53−1) and would not survive as a JSON number; send it as a string");
            }

            return integer.ToString(CultureInfo.InvariantCulture);
        }

        double value = element.GetDouble();
        if (!double.IsFinite(value))
        {
            throw new CanonicalJsonException($"number {Shorten(raw)} is out of the range of a double");
        }

        return FormatDouble(value);
    }

    /// <summary>Formats a finite double the way ECMAScript's Number.prototype.toString does.</summary>
    public static string FormatDouble(double value)
    {
        if (!double.IsFinite(value))
        {
            throw new CanonicalJsonException("NaN and infinities have no JSON form");
        }

        if (value == 0)
        {
            return "0"; // also for -0
        }

        // .NET's round-trip format yields the shortest digits that read back to the same double;
        // only the layout differs from ECMAScript's, so take the digits and exponent and lay them out again.
        string shortest = Math.Abs(value).ToString("R", CultureInfo.InvariantCulture);
        int ePos = shortest.IndexOfAny(['E', 'e']);
        int exponent = ePos >= 0 ? int.Parse(shortest.AsSpan(ePos + 1), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture) : 0;
        string mantissa = ePos >= 0 ? shortest[..ePos] : shortest;
        int dot = mantissa.IndexOf('.', StringComparison.Ordinal);
        string intPart = dot >= 0 ? mantissa[..dot] : mantissa;
        string fracPart = dot >= 0 ? mantissa[(dot + 1)..] : "";
        string digits = intPart + fracPart;
        int n = intPart.Length + exponent; // value = 0.digits × 10^n
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0')
        {
            lead++;
        }

        digits = digits[lead..];
        n -= lead;
        digits = digits.TrimEnd('0');
        int k = digits.Length;

        var sb = new StringBuilder(32);
        if (value < 0)
        {
            sb.Append('-');
        }

        if (k <= n && n <= 21)
        {
            sb.Append(digits).Append('0', n - k);
        }
        else if (0 < n && n <= 21)
        {
            sb.Append(digits, 0, n).Append('.').Append(digits, n, k - n);
        }
        else if (-6 < n && n <= 0)
        {
            sb.Append("0.").Append('0', -n).Append(digits);
        }
        else
        {
            int e = n - 1;
            sb.Append(digits[0]);
            if (k > 1)
            {
                sb.Append('.').Append(digits, 1, k - 1);
            }

            sb.Append('e').Append(e >= 0 ? '+' : '-').Append(Math.Abs(e).ToString(CultureInfo.InvariantCulture));
        }

        return sb.ToString();
    }

    private static string Shorten(string raw) => raw.Length > 40 ? raw[..40] + "…" : raw;

    private static void WriteByte(IBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    /// <summary>Writes ASCII text verbatim (punctuation and numbers already in canonical form).</summary>
    public static void WriteRaw(IBufferWriter<byte> output, string text) => WriteAscii(output, text);

    private static void WriteAscii(IBufferWriter<byte> output, string text)
    {
        Span<byte> span = output.GetSpan(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            span[i] = (byte)text[i];
        }

        output.Advance(text.Length);
    }

    private static void WriteUtf8(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (text.IsEmpty)
        {
            return;
        }

        int max = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        int written = System.Text.Encoding.UTF8.GetBytes(text, output.GetSpan(max));
        output.Advance(written);
    }
}

/// <summary>A JSON value has no canonical form (duplicate names, an unsafe integer, a lone surrogate).</summary>
public sealed class CanonicalJsonException : Exception
{
    public CanonicalJsonException(string message) : base(message) { }

    public CanonicalJsonException() { }

    public CanonicalJsonException(string message, Exception inner) : base(message, inner) { }
}
