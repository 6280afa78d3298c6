using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Merkle;
using Kumo.Serialization;

namespace Kumo.Ledger.Blocks;

/// <summary>
/// A block: its height (genesis is 0, the first block 1), the time it was sealed, the previous block's hash
/// (the genesis hash for block 1), the Merkle root of its transactions' stored bytes, the root of the state after
/// them, and how many there are. Stored as canonical JSON; the block hash is SHA-256 of those bytes.
/// </summary>
public sealed record BlockHeader(long Height, long Time, string PreviousHash, string TxRoot, string StateRoot, int TxCount)
{
    public byte[] CanonicalBytes() => CanonicalJson.Serialize(this, KumoJson.Options);

    public static string Hex(ReadOnlySpan<byte> hash) => Convert.ToHexStringLower(hash);

    public static byte[] HashOf(ReadOnlySpan<byte> canonicalBytes) => SHA256.HashData(canonicalBytes);

    public static string TxRootOf(IReadOnlyList<byte[]> storedTransactions) =>
        Hex(MerkleTree.ComputeRoot([.. storedTransactions.Select(t => MerkleTree.HashLeaf(t))]));

    public static BlockHeader Parse(ReadOnlySpan<byte> stored)
    {
        BlockHeader header = JsonSerializer.Deserialize<BlockHeader>(stored, KumoJson.Options) ?? throw new JsonException("block header is null");
        return stored.SequenceEqual(header.CanonicalBytes())
            ? header
            : throw new JsonException("the stored block header is not in canonical form (it was edited)");
    }
}

/// <summary>A block as stored: its header bytes and its transactions' bytes, in order.</summary>
public sealed record StoredBlock(byte[] Header, IReadOnlyList<byte[]> Transactions);

/// <summary>Where an audit reads history from (the hub's database, a file, a test).</summary>
public interface IBlockSource
{
    /// <summary>The stored genesis, exactly as written.</summary>
    byte[] Genesis { get; }

    /// <summary>Blocks in height order, from 1.</summary>
    IEnumerable<StoredBlock> Blocks();

    /// <summary>The state the live hub has materialized (<see cref="State.LedgerState.StateLines"/>), to compare with the replay; null to skip.</summary>
    IReadOnlyList<string>? LiveState { get; }
}
