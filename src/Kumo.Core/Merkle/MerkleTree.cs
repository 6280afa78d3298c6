using System.Security.Cryptography;

namespace Kumo.Merkle;

/// <summary>
/// A binary Merkle tree over SHA-256 in the shape of RFC 6962 (Certificate Transparency): leaves hashed as
/// H(0x00 ‖ data), interior nodes as H(0x01 ‖ left ‖ right), and a tree of n leaves split at the largest power
/// of two below n, so no node is ever duplicated (duplication lets two different leaf lists share a root).
/// The root of zero leaves is H(""). Used for block transaction roots, checkpoint commitments and
/// hardware-challenge row commitments.
/// </summary>
public sealed class MerkleTree
{
    public const int HashSize = 32;

    private readonly byte[][] _leaves;
    private readonly Dictionary<(int Start, int Count), byte[]> _cache = [];

    /// <summary>Builds a tree over leaf hashes (each the output of <see cref="HashLeaf"/>).</summary>
    public MerkleTree(IReadOnlyList<byte[]> leafHashes)
    {
        foreach (byte[] leaf in leafHashes)
        {
            if (leaf.Length != HashSize)
            {
                throw new ArgumentException($"leaf hashes must be {HashSize} bytes", nameof(leafHashes));
            }
        }

        _leaves = [.. leafHashes];
        Root = Subtree(0, _leaves.Length);
    }

    public int Count => _leaves.Length;

    public byte[] Root { get; }

    /// <summary>Builds a tree directly from leaf data.</summary>
    public static MerkleTree FromData(IEnumerable<byte[]> leaves) => new([.. leaves.Select(l => HashLeaf(l))]);

    public static byte[] HashLeaf(ReadOnlySpan<byte> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([0x00]);
        hash.AppendData(data);
        return hash.GetHashAndReset();
    }

    public static byte[] HashNode(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        Span<byte> buffer = stackalloc byte[1 + (2 * HashSize)];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + HashSize)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>
    /// The root of a list of leaf hashes, without keeping the tree: bottom up, pairing neighbours and carrying an odd
    /// last node up a level unchanged, which gives the same tree as splitting at the largest power of two below n.
    /// Hot: a provider commits its training state after every step.
    /// </summary>
    public static byte[] ComputeRoot(IReadOnlyList<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        if (leafHashes.Count == 0)
        {
            return SHA256.HashData([]);
        }

        byte[] level = new byte[leafHashes.Count * HashSize];
        for (int i = 0; i < leafHashes.Count; i++)
        {
            if (leafHashes[i].Length != HashSize)
            {
                throw new ArgumentException($"leaf hashes must be {HashSize} bytes", nameof(leafHashes));
            }

            leafHashes[i].CopyTo(level, i * HashSize);
        }

        ReduceInPlace(level);
        return level[..HashSize];
    }

    /// <summary>
    /// <see cref="ComputeRoot(IReadOnlyList{byte[]})"/> over leaf hashes laid end to end in <paramref name="leafHashes"/>
    /// (a non-empty multiple of 32 bytes), which it overwrites: the root is left in its first 32 bytes. Allocates nothing.
    /// </summary>
    public static void ReduceInPlace(Span<byte> leafHashes)
    {
        if (leafHashes.Length == 0 || leafHashes.Length % HashSize != 0)
        {
            throw new ArgumentException($"leaf hashes must be a non-empty run of {HashSize}-byte hashes", nameof(leafHashes));
        }

        Span<byte> level = leafHashes;
        Span<byte> pair = stackalloc byte[1 + (2 * HashSize)];
        pair[0] = 0x01;
        for (int n = level.Length / HashSize; n > 1; n = (n + 1) / 2)
        {
            // Node m of the next level overwrites slot m, whose children (2m, 2m + 1) have already been read.
            for (int m = 0; m < n / 2; m++)
            {
                level.Slice(2 * m * HashSize, 2 * HashSize).CopyTo(pair[1..]);
                SHA256.HashData(pair, level.Slice(m * HashSize, HashSize));
            }

            if (n % 2 == 1)
            {
                level.Slice((n - 1) * HashSize, HashSize).CopyTo(level[(n / 2 * HashSize)..]);
            }
        }
    }

    /// <summary>The audit path of leaf <paramref name="index"/>: sibling hashes from the leaf up to the root.</summary>
    public MerkleProof GetProof(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, _leaves.Length);
        var path = new List<byte[]>();
        CollectPath(index, 0, _leaves.Length, path);
        return new MerkleProof(index, _leaves.Length, path);
    }

    /// <summary>Checks that <paramref name="leafHash"/> is leaf <c>proof.Index</c> of a tree of <c>proof.TreeSize</c> leaves with this root.</summary>
    public static bool Verify(ReadOnlySpan<byte> leafHash, MerkleProof proof, ReadOnlySpan<byte> root)
    {
        if (proof.Index < 0 || proof.Index >= proof.TreeSize || leafHash.Length != HashSize)
        {
            return false;
        }

        // Walk down the same splits the builder used, recording which side the leaf is on at each level.
        var leftSide = new List<bool>();
        int start = 0, count = proof.TreeSize, index = proof.Index;
        while (count > 1)
        {
            int k = LargestPowerOfTwoBelow(count);
            if (index < start + k)
            {
                leftSide.Add(true);
                count = k;
            }
            else
            {
                leftSide.Add(false);
                start += k;
                count -= k;
            }
        }

        if (leftSide.Count != proof.Path.Count)
        {
            return false;
        }

        byte[] current = leafHash.ToArray();
        for (int level = leftSide.Count - 1, step = 0; level >= 0; level--, step++)
        {
            byte[] sibling = proof.Path[step];
            if (sibling.Length != HashSize)
            {
                return false;
            }

            current = leftSide[level] ? HashNode(current, sibling) : HashNode(sibling, current);
        }

        return CryptographicOperations.FixedTimeEquals(current, root);
    }

    private void CollectPath(int index, int start, int count, List<byte[]> path)
    {
        if (count == 1)
        {
            return;
        }

        int k = LargestPowerOfTwoBelow(count);
        if (index < start + k)
        {
            CollectPath(index, start, k, path);
            path.Add(Subtree(start + k, count - k));
        }
        else
        {
            CollectPath(index, start + k, count - k, path);
            path.Add(Subtree(start, k));
        }
    }

    private byte[] Subtree(int start, int count)
    {
        if (count == 0)
        {
            return SHA256.HashData([]);
        }

        if (count == 1)
        {
            return _leaves[start];
        }

        if (_cache.TryGetValue((start, count), out byte[]? cached))
        {
            return cached;
        }

        int k = LargestPowerOfTwoBelow(count);
        byte[] node = HashNode(Subtree(start, k), Subtree(start + k, count - k));
        _cache[(start, count)] = node;
        return node;
    }

    /// <summary>The largest power of two strictly less than <paramref name="n"/> (n ≥ 2).</summary>
    private static int LargestPowerOfTwoBelow(int n) => 1 << (31 - int.LeadingZeroCount(n - 1));
}

/// <summary>An inclusion proof: the leaf's index, the tree size, and sibling hashes from the leaf upward.</summary>
public sealed record MerkleProof(int Index, int TreeSize, IReadOnlyList<byte[]> Path);
