using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Kumo.Tensor.Training;

/// <summary>
/// The hash chain of a traced step: operator i's output hash is SHA-256("kumo-op/1" ‖ input ‖ i as int32 LE ‖ result),
/// where input is operator i−1's output (the state root before the step for i = 0) and result is the SHA-256 of what
/// the operator computed. Agreeing on an operator's input hash is agreeing on every result before it.
/// </summary>
public static class OperatorChain
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("kumo-op/1");

    /// <summary>Operator <paramref name="index"/>'s output hash from its input hash and result hash (32 bytes each).</summary>
    public static byte[] Next(ReadOnlySpan<byte> input, int index, ReadOnlySpan<byte> result)
    {
        byte[] buffer = new byte[Domain.Length + input.Length + 4 + result.Length];
        Domain.CopyTo(buffer, 0);
        input.CopyTo(buffer.AsSpan(Domain.Length));
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Domain.Length + input.Length), index);
        result.CopyTo(buffer.AsSpan(Domain.Length + input.Length + 4));
        return SHA256.HashData(buffer);
    }

    /// <summary>
    /// The input hash of operator <paramref name="results"/>.Count: <paramref name="startHex"/> chained through each result
    /// in turn (hex in, lowercase hex out). Null if a result is not 32 bytes of hex.
    /// </summary>
    public static string? Through(string startHex, IReadOnlyList<string> results)
    {
        byte[] chain = Convert.FromHexString(startHex);
        for (int i = 0; i < results.Count; i++)
        {
            if (results[i] is not { Length: 64 } || !IsHex(results[i]))
            {
                return null;
            }

            chain = Next(chain, i, Convert.FromHexString(results[i]));
        }

        return Convert.ToHexStringLower(chain);
    }

    private static bool IsHex(string s) => s.All(Uri.IsHexDigit);
}
