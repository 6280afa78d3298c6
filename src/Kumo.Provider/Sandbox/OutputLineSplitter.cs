using System.Text;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// Splits a byte stream into lines: on '\n' (a preceding '\r' is dropped), and every <see cref="MaxLineBytes"/> bytes
/// of a longer line, cut on a UTF-8 character boundary. Invalid UTF-8 becomes U+FFFD.
/// </summary>
internal sealed class OutputLineSplitter
{
    public const int DefaultMaxLineBytes = 16 * 1024;

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private readonly byte[] _pending;
    private int _length;

    public OutputLineSplitter(int maxLineBytes = DefaultMaxLineBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 4);
        MaxLineBytes = maxLineBytes;
        _pending = new byte[maxLineBytes];
    }

    public int MaxLineBytes { get; }

    /// <summary>Consumes bytes and appends every completed line to <paramref name="lines"/>.</summary>
    public void Push(ReadOnlySpan<byte> data, List<string> lines)
    {
        while (!data.IsEmpty)
        {
            var newline = data.IndexOf((byte)'\n');
            var take = newline >= 0 ? newline : data.Length;
            var room = MaxLineBytes - _length;
            if (take > room)
            {
                // The line does not fit: fill the buffer and emit it as one piece.
                data[..room].CopyTo(_pending.AsSpan(_length));
                _length += room;
                data = data[room..];
                var cut = CharBoundary(_pending.AsSpan(0, _length));
                lines.Add(Utf8.GetString(_pending, 0, cut));
                var rest = _length - cut;
                _pending.AsSpan(cut, rest).CopyTo(_pending);
                _length = rest;
                continue;
            }

            data[..take].CopyTo(_pending.AsSpan(_length));
            _length += take;
            if (newline < 0)
            {
                return;
            }

            data = data[(take + 1)..];
            lines.Add(TakeLine());
        }
    }

    /// <summary>The last line when the stream ended without a newline; null when nothing is pending.</summary>
    public string? Flush() => _length == 0 ? null : TakeLine();

    private string TakeLine()
    {
        var length = _length > 0 && _pending[_length - 1] == (byte)'\r' ? _length - 1 : _length;
        var text = Utf8.GetString(_pending, 0, length);
        _length = 0;
        return text;
    }

    /// <summary>Length of the longest prefix that does not end inside a multi-byte UTF-8 sequence.</summary>
    private static int CharBoundary(ReadOnlySpan<byte> bytes)
    {
        // Walk back over at most 3 continuation bytes (10xxxxxx) to the lead byte of the last sequence.
        var i = bytes.Length - 1;
        var continuation = 0;
        while (i > 0 && continuation < 3 && (bytes[i] & 0xC0) == 0x80)
        {
            i--;
            continuation++;
        }

        var lead = bytes[i];
        var needed = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
        return needed > continuation + 1 && i > 0 ? i : bytes.Length;
    }
}
