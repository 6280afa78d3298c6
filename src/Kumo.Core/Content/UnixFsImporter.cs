using System.Buffers;

namespace Kumo.Content;

/// <summary>
/// Turns file bytes into the CID that IPFS gives them with ipfs-unixfs-importer 17 and the options
/// <c>{ cidVersion: 1, rawLeaves: true, reduceSingleLeafToSelf: true }</c>, a fixed 256 KiB chunker and a
/// balanced layout of at most 174 links a node (see docs/CONTENT-ADDRESSING.md).
/// </summary>
public static class UnixFsImporter
{
    private const int ChunkSize = ContentManifest.ChunkSize;

    /// <summary>Chunks and hashes <paramref name="data"/> and builds its manifest.</summary>
    public static ContentManifest Import(ReadOnlySpan<byte> data)
    {
        var leaves = new List<ContentLeaf>((int)((data.Length + (long)ChunkSize - 1) / ChunkSize));
        for (int offset = 0; offset < data.Length; offset += ChunkSize)
        {
            ReadOnlySpan<byte> chunk = data.Slice(offset, Math.Min(ChunkSize, data.Length - offset));
            leaves.Add(new ContentLeaf(Cid.Raw(chunk), chunk.Length));
        }

        return new ContentManifest(ContentManifest.ComputeRoot(leaves), data.Length, leaves);
    }

    /// <summary>
    /// Reads <paramref name="stream"/> to its end and builds the manifest of what it read. Holds two pooled
    /// chunk buffers and the leaf list, whatever the stream's length; the next chunk is read while the
    /// current one is hashed.
    /// </summary>
    public static async Task<ContentManifest> ImportAsync(Stream stream, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(stream);

        var leaves = new List<ContentLeaf>();
        long size = 0;
        byte[] current = ArrayPool<byte>.Shared.Rent(ChunkSize);
        byte[] next = ArrayPool<byte>.Shared.Rent(ChunkSize);
        try
        {
            int length = await FillAsync(stream, current, ct);
            while (length > 0)
            {
                // Only a full chunk can have more data behind it; a short one means the stream ended.
                ValueTask<int> read = length == ChunkSize ? FillAsync(stream, next, ct) : ValueTask.FromResult(0);
                try
                {
                    leaves.Add(new ContentLeaf(Cid.Raw(current.AsSpan(0, length)), length));
                    size += length;
                }
                finally
                {
                    // Never hand a buffer back to the pool while a read may still be writing into it.
                    length = await read;
                }

                (current, next) = (next, current);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(current);
            ArrayPool<byte>.Shared.Return(next);
        }

        return new ContentManifest(ContentManifest.ComputeRoot(leaves), size, leaves);
    }

    /// <summary>
    /// The dag-pb parent nodes over <paramref name="leaves"/> with their CIDs, so that a blockstore can serve
    /// the whole DAG: bottom level first, the root last. Empty for files of zero or one chunk, whose root is
    /// a raw block.
    /// </summary>
    public static IEnumerable<(Cid Cid, byte[] Block)> BuildParentBlocks(IReadOnlyList<ContentLeaf> leaves)
    {
        // Validate eagerly, so a bad leaf list fails here rather than at the first MoveNext.
        ContentManifest.ThrowIfMalformed(leaves);
        return Enumerate(leaves);

        static IEnumerable<(Cid, byte[])> Enumerate(IReadOnlyList<ContentLeaf> leaves)
        {
            foreach (BalancedFileLayout.ParentNode node in BalancedFileLayout.BuildParents(leaves))
            {
                yield return (node.Cid, node.Block.ToArray());
            }
        }
    }

    private static ValueTask<int> FillAsync(Stream stream, byte[] buffer, CancellationToken ct) =>
        stream.ReadAtLeastAsync(buffer.AsMemory(0, ChunkSize), ChunkSize, throwOnEndOfStream: false, ct);
}
