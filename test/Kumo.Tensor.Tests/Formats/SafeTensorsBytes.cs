using System.Buffers.Binary;
using System.Text;
using Kumo.Tensor.Formats;

namespace Kumo.Tensor.Tests.Formats;

/// <summary>Hand-built safetensors files (any header text, any declared length) and the ways to read them.</summary>
internal static class SafeTensorsBytes
{
    /// <summary>8-byte length (the true one unless <paramref name="declaredLength"/> lies), header text, data.</summary>
    public static byte[] File(string header, byte[]? data = null, ulong? declaredLength = null) =>
        File(Encoding.UTF8.GetBytes(header), data, declaredLength);

    public static byte[] File(byte[] header, byte[]? data = null, ulong? declaredLength = null)
    {
        data ??= [];
        byte[] file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, declaredLength ?? (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        return file;
    }

    /// <summary>Every way in: in-memory parse, seekable stream, non-seekable stream (sync and async).</summary>
    public static IEnumerable<(string How, Func<byte[], SafeTensorsFile> Read)> Readers()
    {
        yield return ("parse", bytes => SafeTensorsFile.Parse(bytes));
        yield return ("seekable", bytes => SafeTensorsFile.Read(new MemoryStream(bytes)));
        yield return ("seekable async", bytes => SafeTensorsFile.ReadAsync(new MemoryStream(bytes)).GetAwaiter().GetResult());
        yield return ("non-seekable", bytes => SafeTensorsFile.Read(new TrickleStream(bytes)));
        yield return ("non-seekable async", bytes => SafeTensorsFile.ReadAsync(new TrickleStream(bytes)).GetAwaiter().GetResult());
    }

    /// <summary>
    /// Refused by every reader. Parse and seekable reads know the file's length up front, so their message must
    /// contain <paramref name="expected"/>; a non-seekable read may find the same fault later (at end of stream),
    /// so it need only refuse — unless <paramref name="sameForStreams"/>.
    /// </summary>
    public static SafeTensorsFormatException AssertRefused(byte[] file, string expected, bool sameForStreams = false)
    {
        SafeTensorsFormatException? first = null;
        foreach ((string how, Func<byte[], SafeTensorsFile> read) in Readers())
        {
            var ex = Assert.Throws<SafeTensorsFormatException>(() => read(file));
            if (!how.StartsWith("non-seekable", StringComparison.Ordinal) || sameForStreams)
            {
                Assert.True(ex.Message.Contains(expected, StringComparison.Ordinal), $"{how}: expected '{expected}' in: {ex.Message}");
            }

            first ??= ex;
        }

        return first!;
    }
}

/// <summary>A stream that cannot seek and hands out at most a few bytes per read, as a socket might.</summary>
internal sealed class TrickleStream(byte[] data, int maxPerRead = 7) : Stream
{
    private int _position;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        int n = Math.Min(Math.Min(count, maxPerRead), data.Length - _position);
        Array.Copy(data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
