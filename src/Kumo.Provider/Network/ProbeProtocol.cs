using System.Buffers.Binary;

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

    public static int ReadLength(ReadOnlySpan<byte> bytes) => BinaryPrimitives.ReadInt32BigEndian(bytes);
}
