namespace Kumo.Core.Tests.Content;

/// <summary>
/// A protobuf reader written for the tests from the wire-format spec, independent of the encoder under
/// test: it returns every field of a message in the order it appears.
/// </summary>
internal static class DagPbReader
{
    public readonly record struct Field(int Number, ulong Varint, byte[] Bytes);

    public static List<Field> ReadFields(ReadOnlySpan<byte> message)
    {
        var fields = new List<Field>();
        int at = 0;
        while (at < message.Length)
        {
            ulong tag = ReadVarint(message, ref at);
            int number = (int)(tag >> 3);
            switch (tag & 7)
            {
                case 0:
                    fields.Add(new Field(number, ReadVarint(message, ref at), []));
                    break;
                case 2:
                    int length = (int)ReadVarint(message, ref at);
                    fields.Add(new Field(number, 0, message.Slice(at, length).ToArray()));
                    at += length;
                    break;
                default:
                    throw new InvalidDataException($"Unexpected wire type {tag & 7} at byte {at}.");
            }
        }

        return fields;
    }

    private static ulong ReadVarint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; ; shift += 7)
        {
            byte b = data[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
