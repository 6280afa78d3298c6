using System.Buffers.Binary;

namespace Kumo.Tensor.Formats;

/// <summary>
/// A set of named tensors with string metadata, as a safetensors file holds them: the form weights travel in across
/// the network, addressed by content id. Reading treats the file as hostile — every length is checked against what
/// the file actually provides before anything is allocated, and any deviation from the specification is a
/// <see cref="SafeTensorsFormatException"/>. Writing (<see cref="SafeTensorsWriter"/>) is canonical, so the same
/// tensors always give the same bytes and therefore the same CID.
/// </summary>
public sealed class SafeTensorsFile
{
    /// <summary>The largest JSON header accepted, as the specification sets it: parsing cost bounded up front.</summary>
    public const long MaxHeaderBytes = 100_000_000;

    /// <summary>The largest byte buffer this reader holds: one managed array (tensor data is kept in one piece).</summary>
    public static readonly long MaxBufferBytes = Array.MaxLength;

    private const int ChunkBytes = 1 << 20;

    private readonly Dictionary<string, TensorEntry> _tensors;

    /// <summary>A file's content built in memory; names must be unique and not "__metadata__".</summary>
    public SafeTensorsFile(IEnumerable<TensorEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var sorted = new SortedDictionary<string, TensorEntry>(TensorNameOrder.Instance);
        foreach (TensorEntry t in tensors)
        {
            ArgumentNullException.ThrowIfNull(t, nameof(tensors));
            if (t.Name == SafeTensorsHeader.MetadataKey)
            {
                throw new ArgumentException("a tensor may not be named __metadata__ (the header's metadata key)", nameof(tensors));
            }

            if (!sorted.TryAdd(t.Name, t))
            {
                throw new ArgumentException($"two tensors are named '{t.Name}'", nameof(tensors));
            }
        }

        _tensors = new Dictionary<string, TensorEntry>(sorted, StringComparer.Ordinal);
        var meta = new SortedDictionary<string, string>(TensorNameOrder.Instance);
        foreach (KeyValuePair<string, string> kv in metadata ?? new Dictionary<string, string>())
        {
            ArgumentNullException.ThrowIfNull(kv.Value, nameof(metadata));
            meta.Add(kv.Key, kv.Value);
        }

        Metadata = new Dictionary<string, string>(meta, StringComparer.Ordinal);
    }

    /// <summary>The header's "__metadata__" map (empty when absent), in canonical key order.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>The tensors by name, enumerated in canonical (UTF-8 byte) name order.</summary>
    public IReadOnlyDictionary<string, TensorEntry> Tensors => _tensors;

    /// <summary>The named tensor, or a <see cref="KeyNotFoundException"/> that says which name was missing.</summary>
    public TensorEntry GetTensor(string name) =>
        _tensors.TryGetValue(name, out TensorEntry? t) ? t : throw new KeyNotFoundException($"no tensor named '{name}'");

    /// <summary>The values of an F32 tensor, converted from little-endian whatever the host.</summary>
    public float[] GetFloat32(string name) => GetTensor(name).ToFloat32Array();

    /// <summary>The canonical file for these tensors and metadata (see <see cref="SafeTensorsWriter"/>).</summary>
    public byte[] ToBytes() => SafeTensorsWriter.ToBytes(_tensors.Values, Metadata);

    /// <summary>Writes the canonical file to <paramref name="destination"/>.</summary>
    public void WriteTo(Stream destination) => SafeTensorsWriter.Write(destination, _tensors.Values, Metadata);

    /// <summary>
    /// Parses a whole file held in memory. Tensor data are slices of <paramref name="file"/>, not copies, so the
    /// caller must not change those bytes while the result is in use.
    /// </summary>
    public static SafeTensorsFile Parse(ReadOnlyMemory<byte> file)
    {
        ReadOnlySpan<byte> span = file.Span;
        if (span.Length < 8)
        {
            throw new SafeTensorsFormatException($"file is {span.Length} bytes, too short for the 8-byte header length");
        }

        long headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(span), span.Length - 8L);
        long bufferLength = span.Length - 8L - headerLength;
        SafeTensorsHeader header = SafeTensorsHeader.Parse(span.Slice(8, (int)headerLength), bufferLength);
        CheckBufferLength(header, headerLength, bufferLength);
        return Build(header, file[(8 + (int)headerLength)..]);
    }

    /// <summary>
    /// Reads a file from <paramref name="stream"/> (from its current position to its end). A seekable stream's
    /// length bounds every allocation before it is made; a non-seekable one is read in chunks, so a length the data
    /// do not back up fails at end of stream having allocated at most about twice what actually arrived.
    /// </summary>
    public static SafeTensorsFile Read(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = Remaining(stream);
        byte[] prefix = ReadBlock(stream, 8, "the 8-byte header length");
        long headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), available - 8);
        byte[] headerBytes = ReadBlock(stream, headerLength, $"the {headerLength}-byte header");
        long? bufferLength = available - 8 - headerLength;
        SafeTensorsHeader header = SafeTensorsHeader.Parse(headerBytes, bufferLength);
        CheckBufferLength(header, headerLength, bufferLength);
        byte[] buffer = ReadBlock(stream, header.DataLength, $"the {header.DataLength} bytes of tensor data the header describes");
        if (bufferLength is null && stream.ReadByte() >= 0)
        {
            throw new SafeTensorsFormatException(
                $"file continues after the {header.DataLength} bytes of tensor data the header describes (trailing bytes)");
        }

        return Build(header, buffer);
    }

    /// <summary>The asynchronous <see cref="Read(Stream)"/>, with the same checks and allocation bounds.</summary>
    public static async Task<SafeTensorsFile> ReadAsync(Stream stream, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = Remaining(stream);
        byte[] prefix = await ReadBlockAsync(stream, 8, "the 8-byte header length", cancellationToken);
        long headerLength = CheckHeaderLength(BinaryPrimitives.ReadUInt64LittleEndian(prefix), available - 8);
        byte[] headerBytes = await ReadBlockAsync(stream, headerLength, $"the {headerLength}-byte header", cancellationToken);
        long? bufferLength = available - 8 - headerLength;
        SafeTensorsHeader header = SafeTensorsHeader.Parse(headerBytes, bufferLength);
        CheckBufferLength(header, headerLength, bufferLength);
        byte[] buffer = await ReadBlockAsync(
            stream, header.DataLength, $"the {header.DataLength} bytes of tensor data the header describes", cancellationToken);
        if (bufferLength is null && await stream.ReadAsync(new byte[1], cancellationToken) > 0)
        {
            throw new SafeTensorsFormatException(
                $"file continues after the {header.DataLength} bytes of tensor data the header describes (trailing bytes)");
        }

        return Build(header, buffer);
    }

    private static long? Remaining(Stream stream) =>
        stream.CanSeek ? Math.Max(0, stream.Length - stream.Position) : null;

    /// <summary>The header length, bounded before a single header byte is read.</summary>
    private static long CheckHeaderLength(ulong declared, long? afterPrefix)
    {
        if (afterPrefix < 0)
        {
            throw new SafeTensorsFormatException($"file is {afterPrefix + 8} bytes, too short for the 8-byte header length");
        }

        if (declared > MaxHeaderBytes)
        {
            throw new SafeTensorsFormatException($"header length {declared} exceeds the {MaxHeaderBytes}-byte limit");
        }

        if (declared < 2)
        {
            throw new SafeTensorsFormatException($"header length {declared} cannot hold a JSON object (at least 2 bytes: {{}})");
        }

        if (declared > (ulong?)afterPrefix)
        {
            throw new SafeTensorsFormatException(
                $"header length {declared} runs past the end of the file ({afterPrefix} bytes follow the length)");
        }

        return (long)declared;
    }

    /// <summary>File length must be exactly 8 + header + the data the header describes: no truncation, no trailer.</summary>
    private static void CheckBufferLength(SafeTensorsHeader header, long headerLength, long? bufferLength)
    {
        if (header.DataLength > MaxBufferBytes)
        {
            throw new SafeTensorsFormatException(
                $"tensor data of {header.DataLength} bytes exceeds the {MaxBufferBytes} bytes this reader holds in memory");
        }

        if (bufferLength is long actual && actual != header.DataLength)
        {
            long expected = 8 + headerLength + header.DataLength;
            throw new SafeTensorsFormatException(actual < header.DataLength
                ? $"file is truncated: 8 + {headerLength} header + {header.DataLength} data = {expected} bytes expected, file has {8 + headerLength + actual}"
                : $"file has {actual - header.DataLength} trailing bytes after the tensor data: 8 + {headerLength} header + {header.DataLength} data = {expected} bytes expected, file has {8 + headerLength + actual}");
        }
    }

    private static SafeTensorsFile Build(SafeTensorsHeader header, ReadOnlyMemory<byte> buffer)
    {
        var tensors = new List<TensorEntry>(header.Entries.Count);
        foreach (SafeTensorsHeaderEntry e in header.Entries)
        {
            tensors.Add(new TensorEntry(e.Name, e.DType, e.Shape, buffer[(int)e.Begin..(int)e.End]));
        }

        return new SafeTensorsFile(tensors, header.Metadata);
    }

    private static byte[] ReadBlock(Stream stream, long count, string what)
    {
        byte[] buffer = new byte[InitialSize(stream, count)];
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, Grow(buffer.Length, count));
            }

            int read = stream.Read(buffer, filled, buffer.Length - filled);
            if (read == 0)
            {
                throw Truncated(what, filled);
            }

            filled += read;
        }

        return buffer;
    }

    private static async ValueTask<byte[]> ReadBlockAsync(Stream stream, long count, string what, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[InitialSize(stream, count)];
        int filled = 0;
        while (filled < count)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, Grow(buffer.Length, count));
            }

            int read = await stream.ReadAsync(buffer.AsMemory(filled), cancellationToken);
            if (read == 0)
            {
                throw Truncated(what, filled);
            }

            filled += read;
        }

        return buffer;
    }

    /// <summary>All of it when the stream's length already vouched for it; otherwise a chunk, grown as data arrive.</summary>
    private static int InitialSize(Stream stream, long count) => (int)(stream.CanSeek ? count : Math.Min(count, ChunkBytes));

    private static int Grow(int current, long count) => (int)Math.Min(count, Math.Max(ChunkBytes, (long)current * 2));

    private static SafeTensorsFormatException Truncated(string what, int got) =>
        new($"file is truncated: the stream ended after {got} bytes of {what}");
}
