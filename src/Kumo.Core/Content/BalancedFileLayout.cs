namespace Kumo.Content;

/// <summary>
/// Joins raw leaves into UnixFS file nodes the way ipfs-unixfs-importer's balanced layout does: batches of
/// <see cref="ContentManifest.MaxLinksPerNode"/> children become one dag-pb parent each, level after level,
/// until one node is left. A lone leaf is its own root and gets no parent.
/// </summary>
internal static class BalancedFileLayout
{
    // One link: 0x12 len { 0x0a 0x24 cid(36) 0x12 0x00 0x18 varint(tsize) } — at most 2 + 41 + 10 bytes.
    private const int MaxLinkLength = 2 + 41 + Varint.MaxWriteLength;

    // The UnixFS Data field: 0x0a len { 0x08 0x02 0x18 varint(filesize) (0x20 varint(blocksize))* }.
    private const int MaxDataOverhead = 1 + 3 + 2 + 1 + Varint.MaxWriteLength;
    private const int MaxBlockSizeLength = 1 + Varint.MaxWriteLength;

    private const byte UnixFsTypeFile = 2;

    /// <summary>A child of a parent node: its CID, its Tsize (block plus everything under it) and the file bytes under it.</summary>
    internal readonly record struct Child(Cid Cid, long Tsize, long FileSize);

    /// <summary>
    /// An encoded parent node. <see cref="Block"/> is valid only until the enumeration moves on: the
    /// enumerator reuses its buffer.
    /// </summary>
    internal readonly struct ParentNode(Cid cid, byte[] buffer, int length)
    {
        public Cid Cid { get; } = cid;

        public ReadOnlySpan<byte> Block => buffer.AsSpan(0, length);
    }

    /// <summary>
    /// The parent nodes over <paramref name="leaves"/>, bottom level first and left to right within a level;
    /// the last one is the root. Nothing for fewer than two leaves.
    /// </summary>
    public static IEnumerable<ParentNode> BuildParents(IReadOnlyList<ContentLeaf> leaves)
    {
        if (leaves.Count < 2)
        {
            yield break;
        }

        var level = new List<Child>(leaves.Count);
        foreach (ContentLeaf leaf in leaves)
        {
            level.Add(new Child(leaf.Cid, leaf.Size, leaf.Size));
        }

        const int PerNode = ContentManifest.MaxLinksPerNode;
        var buffer = new byte[MaxNodeLength(PerNode)];
        while (level.Count > 1)
        {
            var next = new List<Child>((level.Count + PerNode - 1) / PerNode);
            for (int start = 0; start < level.Count; start += PerNode)
            {
                int count = Math.Min(PerNode, level.Count - start);
                int length = EncodeParent(level, start, count, buffer, out long tsize, out long fileSize);
                Cid cid = Cid.FromDagPb(buffer.AsSpan(0, length));
                next.Add(new Child(cid, length + tsize, fileSize));
                yield return new ParentNode(cid, buffer, length);
            }

            level = next;
        }
    }

    /// <summary>
    /// Encodes the PBNode over <c>children[start..start+count]</c> into <paramref name="destination"/>:
    /// all Links first, then Data, as @ipld/dag-pb writes them. Returns the block length and the sums that
    /// the node's own link in its parent needs.
    /// </summary>
    private static int EncodeParent(List<Child> children, int start, int count, Span<byte> destination, out long childTsize, out long fileSize)
    {
        int at = 0;
        childTsize = 0;
        fileSize = 0;
        int blockSizesLength = 0;
        for (int i = start; i < start + count; i++)
        {
            Child child = children[i];
            childTsize += child.Tsize;
            fileSize += child.FileSize;
            blockSizesLength += 1 + Varint.GetLength((ulong)child.FileSize);

            // PBLink { Hash = 1, Name = 2 (always written, empty), Tsize = 3 }
            int linkLength = 2 + Cid.ByteLength + 2 + 1 + Varint.GetLength((ulong)child.Tsize);
            destination[at++] = 0x12;
            at += Varint.Write(destination[at..], (ulong)linkLength);
            destination[at++] = 0x0A;
            destination[at++] = Cid.ByteLength;
            at += child.Cid.WriteBytes(destination[at..]);
            destination[at++] = 0x12;
            destination[at++] = 0x00;
            destination[at++] = 0x18;
            at += Varint.Write(destination[at..], (ulong)child.Tsize);
        }

        // UnixFS Data { Type = 1: File, filesize = 3, blocksizes = 4 (repeated, not packed) }
        int dataLength = 2 + 1 + Varint.GetLength((ulong)fileSize) + blockSizesLength;
        destination[at++] = 0x0A;
        at += Varint.Write(destination[at..], (ulong)dataLength);
        destination[at++] = 0x08;
        destination[at++] = UnixFsTypeFile;
        destination[at++] = 0x18;
        at += Varint.Write(destination[at..], (ulong)fileSize);
        for (int i = start; i < start + count; i++)
        {
            destination[at++] = 0x20;
            at += Varint.Write(destination[at..], (ulong)children[i].FileSize);
        }

        return at;
    }

    private static int MaxNodeLength(int children) =>
        children * (MaxLinkLength + MaxBlockSizeLength) + MaxDataOverhead;
}
