using Kumo.Content;

namespace Kumo.Core.Tests.Content;

public class UnixFsImporterTests
{
    private const int Chunk = ContentManifest.ChunkSize;

    // CIDs below come from `node test/reference/ipfs/cid.mjs` on files of TestData.Pattern bytes; the
    // ReferenceImporterTests compare many more files against the live reference.
    [Theory]
    [InlineData(0, "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")]
    [InlineData(Chunk, "bafkreibruh455iawsviqslif5c7uurdcfdemh22mtnytyzvnzn75kpejxy")]
    [InlineData(2 * Chunk + 1000, "bafybeiedlmc6ukelkdnmjelnxg565gp6jy3ued6onc4pv7p5qiohksmq3e")]
    [InlineData(175 * Chunk + 5, "bafybeig3ditv32awk5ax5w3lwugydoz5vhxs6vsycpmyv4qdosmpgv47da")]
    public void Import_gives_the_cid_the_reference_importer_gives(int length, string expected)
    {
        ContentManifest manifest = UnixFsImporter.Import(TestData.Pattern(length));

        Assert.Equal(expected, manifest.Root.ToString());
        Assert.Equal(length, manifest.Size);
        Assert.True(manifest.TryValidate(out string? error), error);
    }

    [Fact]
    public void A_file_of_one_chunk_is_its_own_raw_leaf()
    {
        byte[] data = TestData.PseudoRandom(Chunk - 1, seed: 1);

        ContentManifest manifest = UnixFsImporter.Import(data);

        ContentLeaf leaf = Assert.Single(manifest.Leaves);
        Assert.Equal(Cid.Raw(data), manifest.Root);
        Assert.Equal(leaf.Cid, manifest.Root);
        Assert.Equal(CidCodec.Raw, manifest.Root.Codec);
        Assert.Empty(UnixFsImporter.BuildParentBlocks(manifest.Leaves));
    }

    [Fact]
    public void Chunks_are_256_KiB_with_a_shorter_last_one()
    {
        byte[] data = TestData.PseudoRandom(3 * Chunk + 7, seed: 2);

        ContentManifest manifest = UnixFsImporter.Import(data);

        Assert.Equal([Chunk, Chunk, Chunk, 7], manifest.Leaves.Select(l => l.Size));
        Assert.Equal(Cid.Raw(data.AsSpan(Chunk, Chunk)), manifest.Leaves[1].Cid);
        Assert.Equal(Cid.Raw(data.AsSpan(3 * Chunk)), manifest.Leaves[3].Cid);
    }

    [Fact]
    public void Parent_node_is_links_then_unixfs_data_byte_for_byte()
    {
        ContentManifest manifest = UnixFsImporter.Import(TestData.Pattern(2 * Chunk + 1000));
        (Cid cid, byte[] block) = Assert.Single(UnixFsImporter.BuildParentBlocks(manifest.Leaves));

        // Written out from the dag-pb and UnixFS specs: PBLink{Hash, Name "", Tsize} ×3, then
        // Data = UnixFS{Type File, filesize 525288, blocksizes 262144, 262144, 1000}.
        byte[] expected =
        [
            0x12, 0x2C, 0x0A, 0x24, .. manifest.Leaves[0].Cid.ToBytes(), 0x12, 0x00, 0x18, 0x80, 0x80, 0x10,
            0x12, 0x2C, 0x0A, 0x24, .. manifest.Leaves[1].Cid.ToBytes(), 0x12, 0x00, 0x18, 0x80, 0x80, 0x10,
            0x12, 0x2B, 0x0A, 0x24, .. manifest.Leaves[2].Cid.ToBytes(), 0x12, 0x00, 0x18, 0xE8, 0x07,
            0x0A, 0x11, 0x08, 0x02, 0x18, 0xE8, 0x87, 0x20,
            0x20, 0x80, 0x80, 0x10, 0x20, 0x80, 0x80, 0x10, 0x20, 0xE8, 0x07,
        ];
        Assert.Equal(expected, block);
        Assert.Equal(Cid.FromDagPb(block), cid);
        Assert.Equal(manifest.Root, cid);
    }

    [Fact]
    public void More_than_174_leaves_make_two_levels_with_cumulative_tsize()
    {
        ContentManifest manifest = UnixFsImporter.Import(TestData.Pattern(175 * Chunk + 5));
        var blocks = UnixFsImporter.BuildParentBlocks(manifest.Leaves).ToList();

        Assert.Equal(176, manifest.Leaves.Count);
        Assert.Equal(3, blocks.Count);
        Assert.All(blocks, b => Assert.Equal(Cid.FromDagPb(b.Block), b.Cid));
        Assert.Equal(manifest.Root, blocks[^1].Cid);

        AssertFileNode(blocks[0].Block, manifest.Leaves.Take(174).Select(l => (l.Cid, (long)l.Size, (long)l.Size)));
        AssertFileNode(blocks[1].Block, manifest.Leaves.Skip(174).Select(l => (l.Cid, (long)l.Size, (long)l.Size)));
        AssertFileNode(blocks[2].Block,
        [
            (blocks[0].Cid, blocks[0].Block.Length + 174L * Chunk, 174L * Chunk),
            (blocks[1].Cid, blocks[1].Block.Length + Chunk + 5L, Chunk + 5L),
        ]);
    }

    [Fact]
    public void A_batch_of_one_above_the_leaves_still_gets_a_parent()
    {
        // 175 leaves: a full node of 174 and a node with a single link, joined by a root of two links.
        ContentManifest manifest = UnixFsImporter.Import(TestData.Pattern(174 * Chunk + 1));
        var blocks = UnixFsImporter.BuildParentBlocks(manifest.Leaves).ToList();

        Assert.Equal(3, blocks.Count);
        AssertFileNode(blocks[1].Block, [(manifest.Leaves[^1].Cid, 1L, 1L)]);
    }

    [Fact]
    public async Task Import_async_reads_a_stream_to_its_end_and_matches_import()
    {
        byte[] data = TestData.PseudoRandom(3 * Chunk + 11, seed: 5);
        using var stream = new MemoryStream(data);

        ContentManifest streamed = await UnixFsImporter.ImportAsync(stream);

        Assert.Equal(UnixFsImporter.Import(data), streamed);
        Assert.Equal(data.Length, stream.Position);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Chunk)]
    [InlineData(2 * Chunk)]
    public async Task Import_async_handles_empty_and_chunk_aligned_streams(int length)
    {
        byte[] data = TestData.PseudoRandom(length, seed: 6);
        using var stream = new MemoryStream(data);

        Assert.Equal(UnixFsImporter.Import(data), await UnixFsImporter.ImportAsync(stream));
    }

    [Fact]
    public async Task Import_async_stops_when_cancelled()
    {
        using var stream = new MemoryStream(new byte[Chunk]);
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => UnixFsImporter.ImportAsync(stream, cts.Token));
    }

    [Fact]
    public void Build_parent_blocks_refuses_malformed_leaves_at_once()
    {
        ContentLeaf[] leaves = [new(Cid.Raw("a"u8), 1), new(Cid.Raw([]), 0)];

        Assert.Throws<ArgumentException>(() => UnixFsImporter.BuildParentBlocks(leaves));
    }

    private static void AssertFileNode(byte[] block, IEnumerable<(Cid Cid, long Tsize, long FileSize)> children)
    {
        var expected = children.ToList();
        var fields = DagPbReader.ReadFields(block);

        // Links (field 2) all come before the single Data field (1), which is last.
        Assert.Equal([.. Enumerable.Repeat(2, expected.Count), 1], fields.Select(f => f.Number));
        for (int i = 0; i < expected.Count; i++)
        {
            var link = DagPbReader.ReadFields(fields[i].Bytes);
            Assert.Equal([1, 2, 3], link.Select(f => f.Number));
            Assert.Equal(expected[i].Cid.ToBytes(), link[0].Bytes);
            Assert.Empty(link[1].Bytes);
            Assert.Equal((ulong)expected[i].Tsize, link[2].Varint);
        }

        var data = DagPbReader.ReadFields(fields[^1].Bytes);
        Assert.Equal([1, 3, .. Enumerable.Repeat(4, expected.Count)], data.Select(f => f.Number));
        Assert.Equal(2UL, data[0].Varint);
        Assert.Equal((ulong)expected.Sum(c => c.FileSize), data[1].Varint);
        Assert.Equal(expected.Select(c => (ulong)c.FileSize), data.Skip(2).Select(f => f.Varint));
    }
}
