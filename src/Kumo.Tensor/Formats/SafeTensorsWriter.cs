using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Kumo.Tensor.Formats;

/// <summary>
/// Writes safetensors files in one canonical form, so that the same tensors and metadata always give the same bytes
/// and therefore the same content id — two providers exporting the same weights agree on the CID, and a re-export
/// deduplicates instead of forking. The form:
/// <list type="bullet">
/// <item>tensors in the byte buffer, and entries in the header, sorted by the UTF-8 bytes of their names;</item>
/// <item>compact JSON (no whitespace): "__metadata__" first when non-empty (keys sorted the same way), then each
/// entry as {"dtype","shape","data_offsets"} in that order; strings escape only '"', '\' and control characters;</item>
/// <item>the header padded with spaces (0x20) so the byte buffer starts at a multiple of 8, keeping every tensor
/// of up to 8-byte elements aligned when the file is mapped.</item>
/// </list>
/// </summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes <paramref name="tensors"/> (unique names) and <paramref name="metadata"/> to <paramref name="destination"/>.</summary>
    public static void Write(Stream destination, IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        List<TensorEntry> ordered = Order(tensors);
        byte[] header = Header(ordered, metadata);
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)header.Length);
        destination.Write(prefix);
        destination.Write(header);
        foreach (TensorEntry t in ordered)
        {
            destination.Write(t.Data.Span);
        }
    }

    /// <summary>The canonical file as one array.</summary>
    public static byte[] ToBytes(IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        using var stream = new MemoryStream();
        Write(stream, tensors, metadata);
        return stream.ToArray();
    }

    private static List<TensorEntry> Order(IEnumerable<TensorEntry> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        List<TensorEntry> ordered = [.. tensors];
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (TensorEntry t in ordered)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (t.Name == SafeTensorsHeader.MetadataKey)
            {
                throw new ArgumentException("a tensor may not be named __metadata__ (the header's metadata key)", nameof(tensors));
            }

            if (!names.Add(t.Name))
            {
                throw new ArgumentException($"two tensors are named '{t.Name}'", nameof(tensors));
            }
        }

        ordered.Sort((a, b) => TensorNameOrder.Instance.Compare(a.Name, b.Name));
        return ordered;
    }

    private static byte[] Header(List<TensorEntry> ordered, IReadOnlyDictionary<string, string>? metadata)
    {
        var json = new StringBuilder();
        json.Append('{');
        bool first = true;
        if (metadata is { Count: > 0 })
        {
            json.Append("\"__metadata__\":{");
            bool firstKey = true;
            foreach (string key in metadata.Keys.Order(TensorNameOrder.Instance))
            {
                json.Append(firstKey ? "" : ",");
                AppendString(json, key);
                json.Append(':');
                AppendString(json, metadata[key] ?? throw new ArgumentException($"metadata '{key}' is null", nameof(metadata)));
                firstKey = false;
            }

            json.Append('}');
            first = false;
        }

        long offset = 0;
        foreach (TensorEntry t in ordered)
        {
            json.Append(first ? "" : ",");
            AppendString(json, t.Name);
            json.Append(":{\"dtype\":\"").Append(SafeTensorsDTypes.Name(t.DType)).Append("\",\"shape\":[");
            json.AppendJoin(',', t.Shape.Select(d => d.ToString(CultureInfo.InvariantCulture)));
            long end = offset + t.Data.Length;
            json.Append(CultureInfo.InvariantCulture, $"],\"data_offsets\":[{offset},{end}]}}");
            offset = end;
            first = false;
        }

        json.Append('}');
        byte[] text = Strict.GetBytes(json.ToString());
        int padded = (text.Length + 7) / 8 * 8;
        if (padded > SafeTensorsFile.MaxHeaderBytes)
        {
            throw new ArgumentException($"header of {padded} bytes exceeds the {SafeTensorsFile.MaxHeaderBytes}-byte limit readers enforce");
        }

        byte[] header = new byte[padded];
        text.CopyTo(header, 0);
        header.AsSpan(text.Length).Fill((byte)' ');
        return header;
    }

    /// <summary>UTF-8 that refuses lone surrogates instead of writing U+FFFD (which would make two names collide).</summary>
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static void AppendString(StringBuilder json, string value)
    {
        json.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': json.Append("\\\""); break;
                case '\\': json.Append("\\\\"); break;
                case '\b': json.Append("\\b"); break;
                case '\f': json.Append("\\f"); break;
                case '\n': json.Append("\\n"); break;
                case '\r': json.Append("\\r"); break;
                case '\t': json.Append("\\t"); break;
                case < ' ': json.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"); break;
                default: json.Append(c); break;
            }
        }

        json.Append('"');
    }
}
