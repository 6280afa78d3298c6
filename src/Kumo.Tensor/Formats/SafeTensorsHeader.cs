using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Kumo.Tensor.Formats;

/// <summary>One tensor as its header entry describes it; offsets relative to the start of the byte buffer.</summary>
internal sealed record SafeTensorsHeaderEntry(string Name, SafeTensorsDType DType, ImmutableArray<long> Shape, long Begin, long End);

/// <summary>
/// The JSON header of a safetensors file, parsed with a forward-only reader so that duplicate names (which a DOM
/// parser would silently resolve, last one wins) are seen and refused, and every number is checked before use.
/// </summary>
internal sealed class SafeTensorsHeader
{
    /// <summary>The name of the optional string → string map beside the tensors.</summary>
    public const string MetadataKey = "__metadata__";

    private SafeTensorsHeader(List<SafeTensorsHeaderEntry> entries, Dictionary<string, string> metadata, long dataLength)
    {
        Entries = entries;
        Metadata = metadata;
        DataLength = dataLength;
    }

    /// <summary>Entries in byte-buffer order (ascending offsets).</summary>
    public IReadOnlyList<SafeTensorsHeaderEntry> Entries { get; }

    public Dictionary<string, string> Metadata { get; }

    /// <summary>Bytes of tensor data the header accounts for: the byte buffer must be exactly this long.</summary>
    public long DataLength { get; }

    /// <summary>
    /// Parses and checks <paramref name="header"/>: well-formed UTF-8 JSON object (trailing 0x20 padding allowed),
    /// unique names, entries of exactly dtype/shape/data_offsets, sizes that match, ranges that tile the byte buffer
    /// from 0 with no hole and no overlap. <paramref name="bufferLength"/>, when the caller knows it, bounds the
    /// offsets so an out-of-range entry is named.
    /// </summary>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> header, long? bufferLength)
    {
        if (!Utf8.IsValid(header))
        {
            throw Fail($"header is not valid UTF-8 (first invalid byte at header offset {FirstInvalidUtf8(header)})");
        }

        if (header.Length == 0 || header[0] != (byte)'{')
        {
            string start = header.Length == 0 ? "nothing" : $"0x{header[0]:X2}";
            throw Fail($"header is not a JSON object: it must start with '{{' (0x7B) but starts with {start}");
        }

        var entries = new List<SafeTensorsHeaderEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(header, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 4 });
        try
        {
            Expect(ref reader, JsonTokenType.StartObject, "the header");
            while (true)
            {
                Next(ref reader);
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    break;
                }

                string name = ReadString(ref reader, "a tensor name");
                if (!names.Add(name))
                {
                    throw Fail(name == MetadataKey ? "header holds __metadata__ twice" : $"header names tensor '{name}' twice");
                }

                if (name == MetadataKey)
                {
                    ReadMetadata(ref reader, metadata);
                }
                else
                {
                    entries.Add(ReadEntry(ref reader, name));
                }
            }

            // The reader stops at the root's closing brace; what follows may only be the spec's 0x20 padding.
            for (long i = reader.BytesConsumed; i < header.Length; i++)
            {
                if (header[(int)i] != (byte)' ')
                {
                    throw Fail($"header has byte 0x{header[(int)i]:X2} at offset {i} after the JSON object; only space (0x20) padding may follow it");
                }
            }
        }
        catch (JsonException ex)
        {
            throw new SafeTensorsFormatException($"header is not valid JSON: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            // GetString on an escape that decodes to invalid UTF-16 (a lone surrogate).
            throw new SafeTensorsFormatException($"header holds a string that is not valid Unicode: {ex.Message}", ex);
        }

        long dataLength = CheckLayout(entries, bufferLength);
        return new SafeTensorsHeader(entries, metadata, dataLength);
    }

    private static SafeTensorsHeaderEntry ReadEntry(ref Utf8JsonReader reader, string name)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail($"tensor '{name}': entry is {Describe(reader.TokenType)}, not an object of dtype, shape and data_offsets");
        }

        SafeTensorsDType? dtype = null;
        ImmutableArray<long>? shape = null;
        long[]? offsets = null;
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                break;
            }

            string field = ReadString(ref reader, "a field name");
            switch (field)
            {
                case "dtype" when dtype is null:
                    Next(ref reader);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Fail($"tensor '{name}': dtype is {Describe(reader.TokenType)}, not a string");
                    }

                    string dtypeName = reader.GetString()!;
                    if (!SafeTensorsDTypes.TryParse(dtypeName, out SafeTensorsDType parsed))
                    {
                        throw Fail($"tensor '{name}': unknown dtype '{dtypeName}'");
                    }

                    dtype = parsed;
                    break;
                case "shape" when shape is null:
                    shape = [.. ReadIntegers(ref reader, name, "shape")];
                    break;
                case "data_offsets" when offsets is null:
                    offsets = ReadIntegers(ref reader, name, "data_offsets");
                    if (offsets.Length != 2)
                    {
                        throw Fail($"tensor '{name}': data_offsets has {offsets.Length} numbers, not 2 (begin, end)");
                    }

                    break;
                case "dtype" or "shape" or "data_offsets":
                    throw Fail($"tensor '{name}': field '{field}' appears twice");
                default:
                    throw Fail($"tensor '{name}': unexpected field '{field}' (an entry holds exactly dtype, shape and data_offsets)");
            }
        }

        if (dtype is null || shape is null || offsets is null)
        {
            string missing = dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail($"tensor '{name}': entry has no {missing}");
        }

        long begin = offsets[0], end = offsets[1];
        if (!TensorShapes.TryByteLength(shape.Value, dtype.Value, out long bytes, out string? problem))
        {
            throw Fail($"tensor '{name}': {problem}");
        }

        if (begin > end)
        {
            throw Fail($"tensor '{name}': data_offsets [{begin}, {end}] are reversed (begin after end)");
        }

        if (end - begin != bytes)
        {
            throw Fail($"tensor '{name}': shape {TensorShapes.Format(shape.Value)} of {SafeTensorsDTypes.Name(dtype.Value)} needs {bytes} bytes but data_offsets span {end - begin}");
        }

        return new SafeTensorsHeaderEntry(name, dtype.Value, shape.Value, begin, end);
    }

    private static long[] ReadIntegers(ref Utf8JsonReader reader, string name, string field)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail($"tensor '{name}': {field} is {Describe(reader.TokenType)}, not an array of integers");
        }

        var values = new List<long>();
        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return [.. values];
            }

            // TryGetInt64 refuses fractions, exponents and anything beyond 2^63 - 1, which is what we want.
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value) || value < 0)
            {
                string text = reader.TokenType == JsonTokenType.Number
                    ? Encoding.UTF8.GetString(reader.ValueSpan)
                    : Describe(reader.TokenType);
                throw Fail($"tensor '{name}': {field}[{values.Count}] is {text}; it must be an integer from 0 to 2^63 - 1");
            }

            values.Add(value);
        }
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata)
    {
        Next(ref reader);
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail($"__metadata__ is {Describe(reader.TokenType)}, not an object of strings");
        }

        while (true)
        {
            Next(ref reader);
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                return;
            }

            string key = ReadString(ref reader, "a metadata key");
            Next(ref reader);
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail($"__metadata__ entry '{key}' is {Describe(reader.TokenType)}; metadata values must be strings");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail($"__metadata__ holds key '{key}' twice");
            }
        }
    }

    /// <summary>
    /// Every range inside the buffer, and together they tile it: sorted by offset each begins where the previous
    /// ended, starting at 0. That rules out overlaps (two names aliasing one region) and holes (bytes no tensor
    /// explains — the room a polyglot file hides its second payload in), as the specification requires.
    /// </summary>
    private static long CheckLayout(List<SafeTensorsHeaderEntry> entries, long? bufferLength)
    {
        if (bufferLength is long length)
        {
            foreach (SafeTensorsHeaderEntry e in entries)
            {
                if (e.End > length)
                {
                    throw Fail($"tensor '{e.Name}': data_offsets [{e.Begin}, {e.End}] run past the end of the byte buffer ({length} bytes): the file is truncated or the offsets are wrong");
                }
            }
        }

        entries.Sort((a, b) => a.Begin != b.Begin ? a.Begin.CompareTo(b.Begin) : a.End.CompareTo(b.End));
        long covered = 0;
        SafeTensorsHeaderEntry? previous = null;
        foreach (SafeTensorsHeaderEntry e in entries)
        {
            if (e.Begin < covered)
            {
                throw Fail($"tensors '{previous!.Name}' [{previous.Begin}, {previous.End}] and '{e.Name}' [{e.Begin}, {e.End}] overlap");
            }

            if (e.Begin > covered)
            {
                string before = previous is null ? "the start of the buffer" : $"'{previous.Name}'";
                throw Fail($"bytes [{covered}, {e.Begin}) of the byte buffer belong to no tensor (a hole between {before} and '{e.Name}')");
            }

            covered = e.End;
            previous = e;
        }

        return covered;
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string what)
    {
        Next(ref reader);
        if (reader.TokenType != type)
        {
            throw Fail($"{what} is {Describe(reader.TokenType)}, not {Describe(type)}");
        }
    }

    private static void Next(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw Fail("header JSON ends before its object is closed");
        }
    }

    private static string ReadString(ref Utf8JsonReader reader, string what) =>
        reader.TokenType == JsonTokenType.PropertyName
            ? reader.GetString()!
            : throw Fail($"expected {what}, found {Describe(reader.TokenType)}");

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private static int FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        int offset = 0;
        while (offset < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out int consumed) != System.Buffers.OperationStatus.Done)
            {
                return offset;
            }

            offset += consumed;
        }

        return offset;
    }

    private static SafeTensorsFormatException Fail(string message) => new(message);
}
