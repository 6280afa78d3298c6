using System.Diagnostics.CodeAnalysis;

namespace Kumo.Content;

/// <summary>
/// What a file is made of: its root CID (the one IPFS would give it), its length and its leaf chunks in
/// order. A client declares a manifest before uploading; the hub checks it with <see cref="TryValidate"/>
/// and then accepts exactly the declared chunks.
/// </summary>
/// <remarks>
/// An empty file has no leaves, <see cref="Size"/> 0 and <see cref="Root"/> = the raw CID of zero bytes
/// (<c>bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku</c>). A file of one chunk has one leaf
/// and its root is that leaf's CID. Two manifests are equal when root, size and leaves (in order) are.
/// </remarks>
public sealed record ContentManifest(Cid Root, long Size, IReadOnlyList<ContentLeaf> Leaves)
{
    /// <summary>Bytes in every chunk but the last (256 KiB), as the IPFS default fixed-size chunker cuts.</summary>
    public const int ChunkSize = 262144;

    /// <summary>Most children of one dag-pb parent node in the balanced layout.</summary>
    public const int MaxLinksPerNode = 174;

    internal static readonly Cid EmptyRoot = Cid.Raw([]);

    /// <summary>
    /// Rebuilds the UnixFS DAG over <paramref name="leaves"/> and returns its root, without the file bytes:
    /// the leaves' CIDs and sizes are all the parent nodes depend on.
    /// </summary>
    /// <exception cref="ArgumentException">A leaf is null, not a raw CID, or has no bytes.</exception>
    public static Cid ComputeRoot(IReadOnlyList<ContentLeaf> leaves)
    {
        ThrowIfMalformed(leaves);
        return leaves.Count switch
        {
            0 => EmptyRoot,
            1 => leaves[0].Cid,
            _ => BalancedFileLayout.BuildParents(leaves).Last().Cid,
        };
    }

    /// <summary>
    /// Checks that the leaves are chunks as the importer cuts them (raw CIDs; every one but the last exactly
    /// <see cref="ChunkSize"/> bytes, the last 1 to <see cref="ChunkSize"/>), that they add up to
    /// <see cref="Size"/>, and that they make <see cref="Root"/>.
    /// </summary>
    public bool TryValidate([NotNullWhen(false)] out string? error)
    {
        if (Root is null)
        {
            error = "The manifest has no root CID.";
            return false;
        }

        if (Leaves is null)
        {
            error = "The manifest has no leaf list.";
            return false;
        }

        long total = 0;
        for (int i = 0; i < Leaves.Count; i++)
        {
            ContentLeaf leaf = Leaves[i];
            if (!IsWellFormedLeaf(leaf, out error, i))
            {
                return false;
            }

            if (i < Leaves.Count - 1 && leaf.Size != ChunkSize)
            {
                error = $"Leaf {i} has {leaf.Size} bytes; every leaf but the last must have exactly {ChunkSize}.";
                return false;
            }

            total += leaf.Size;
        }

        if (total != Size)
        {
            error = $"The manifest declares {Size} bytes but its leaves hold {total}.";
            return false;
        }

        Cid computed = ComputeRoot(Leaves);
        if (computed != Root)
        {
            error = $"The declared root {Root} is not the root of the leaves, which is {computed}.";
            return false;
        }

        error = null;
        return true;
    }

    public bool Equals(ContentManifest? other) =>
        other is not null
        && Root == other.Root
        && Size == other.Size
        && (ReferenceEquals(Leaves, other.Leaves) || (Leaves is not null && other.Leaves is not null && Leaves.SequenceEqual(other.Leaves)));

    public override int GetHashCode() => HashCode.Combine(Root, Size, Leaves?.Count);

    /// <exception cref="ArgumentException">A leaf is null, not a raw CID, or has no bytes.</exception>
    internal static void ThrowIfMalformed(IReadOnlyList<ContentLeaf> leaves)
    {
        ArgumentNullException.ThrowIfNull(leaves);
        for (int i = 0; i < leaves.Count; i++)
        {
            if (!IsWellFormedLeaf(leaves[i], out string? error, i))
            {
                throw new ArgumentException(error, nameof(leaves));
            }
        }
    }

    private static bool IsWellFormedLeaf([NotNullWhen(true)] ContentLeaf? leaf, [NotNullWhen(false)] out string? error, int index)
    {
        if (leaf?.Cid is null)
        {
            error = $"Leaf {index} has no CID.";
            return false;
        }

        if (leaf.Cid.Codec != CidCodec.Raw)
        {
            error = $"Leaf {index} ({leaf.Cid}) is not a raw block; leaves must have codec raw.";
            return false;
        }

        if (leaf.Size is < 1 or > ChunkSize)
        {
            error = $"Leaf {index} has {leaf.Size} bytes; a leaf has 1 to {ChunkSize}.";
            return false;
        }

        error = null;
        return true;
    }
}
