using System.Buffers.Binary;
using System.Globalization;

namespace Kumo.Provider.Network;

/// <summary>
/// The wire format of peer probes, a few bytes over plain TCP. A connection carries any number of operations, each
/// one byte followed by its body:
/// <list type="bullet">
/// <item><c>'P'</c> and 8 bytes: a ping; the listener echoes the 8 bytes.</item>
/// <item><c>'B'</c>, a big-endian 32-bit length (at most <see cref="MaxBulkBytes"/>) and that many bytes: a bulk
/// transfer; the listener answers with the 8-byte big-endian count once it has read them all.</item>
/// </list>
/// </summary>
internal static class ProbeProtocol
{
    public const byte Ping = (byte)'P';
    public const byte Bulk = (byte)'B';
    public const int MaxBulkBytes = 16 << 20;

    /// <summary>Splits "host:port" (or "[v6]:port"), or says what is wrong with it. Port 0 (any free port) only for listening.</summary>
    public static bool TryParseAddress(string address, out string host, out int port, out string? error, bool forListening = false)
    {
        host = "";
        port = 0;
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1)
        {
            error = $"'{address}' is not host:port";
            return false;
        }

        host = address[..colon].Trim('[', ']');
        if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535 || (port == 0 && !forListening))
        {
            error = forListening ? $"'{address}' has no valid port (0–65535, 0 for any free port)" : $"'{address}' has no valid port (1–65535)";
            return false;
        }

        error = null;
        return true;
    }

    public static int ReadLength(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadInt32BigEndian(bytes);
}
