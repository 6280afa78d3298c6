using Kumo.Content;

namespace Kumo.Core.Tests.Content;

public class ContentManifestTests
{
    private const int Chunk = ContentManifest.ChunkSize;

    private static readonly ContentManifest ThreeChunks = UnixFsImporter.Import(TestData.PseudoRandom(2L * Chunk + 100, seed: 3));

    [Fact]
    public void An_imported_manifest_is_valid()
    {
        Assert.True(ThreeChunks.TryValidate(out string? error), error);
        Assert.Null(error);
    }

    [Fact]
    public void The_empty_file_has_no_leaves_and_the_raw_cid_of_zero_bytes()
    {
        ContentManifest empty = UnixFsImporter.Import([]);

        Assert.Empty(empty.Leaves);
        Assert.Equal(0, empty.Size);
        Assert.Equal(Cid.Raw([]), empty.Root);
        Assert.True(empty.TryValidate(out _));
        Assert.Equal(Cid.Raw([]), ContentManifest.ComputeRoot([]));
    }

    [Fact]
    public void A_wrong_root_is_caught()
    {
        ContentManifest forged = ThreeChunks with { Root = Cid.FromDagPb("forged"u8) };

        Assert.False(forged.TryValidate(out string? error));
        Assert.Contains("is not the root of the leaves", error, StringComparison.Ordinal);
        Assert.Contains(ThreeChunks.Root.ToString(), error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_root_made_from_other_leaves_is_caught()
    {
        ContentManifest other = UnixFsImporter.Import(TestData.PseudoRandom(2L * Chunk + 100, seed: 4));

        Assert.False((ThreeChunks with { Root = other.Root }).TryValidate(out _));
    }

    [Fact]
    public void A_wrong_size_is_caught()
    {
        ContentManifest forged = ThreeChunks with { Size = ThreeChunks.Size + 1 };

        Assert.False(forged.TryValidate(out string? error));
        Assert.Contains("declares 524389 bytes but its leaves hold 524388", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_short_middle_leaf_is_caught()
    {
        ContentLeaf[] leaves = [.. ThreeChunks.Leaves];
        leaves[1] = leaves[1] with { Size = Chunk - 1 };
        var forged = new ContentManifest(ContentManifest.ComputeRoot(leaves), ThreeChunks.Size - 1, leaves);

        Assert.False(forged.TryValidate(out string? error));
        Assert.Contains($"Leaf 1 has {Chunk - 1} bytes; every leaf but the last must have exactly {Chunk}", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(Chunk + 1)]
    [InlineData(-5)]
    public void A_last_leaf_outside_one_to_chunk_size_is_caught(int size)
    {
        ContentLeaf[] leaves = [.. ThreeChunks.Leaves];
        leaves[^1] = leaves[^1] with { Size = size };
        var forged = new ContentManifest(ThreeChunks.Root, 2L * Chunk + size, leaves);

        Assert.False(forged.TryValidate(out string? error));
        Assert.Contains($"Leaf 2 has {size} bytes; a leaf has 1 to {Chunk}", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_dag_pb_leaf_is_caught()
    {
        ContentLeaf[] leaves = [.. ThreeChunks.Leaves];
        leaves[0] = leaves[0] with { Cid = new Cid(CidCodec.DagPb, leaves[0].Cid.Digest) };
        var forged = ThreeChunks with { Leaves = leaves };

        Assert.False(forged.TryValidate(out string? error));
        Assert.Contains("Leaf 0", error, StringComparison.Ordinal);
        Assert.Contains("not a raw block", error, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ContentManifest.ComputeRoot(leaves));
    }

    [Fact]
    public void Missing_parts_from_a_bad_deserialization_are_caught_not_thrown()
    {
        Assert.False((ThreeChunks with { Root = null! }).TryValidate(out _));
        Assert.False((ThreeChunks with { Leaves = null! }).TryValidate(out _));
        Assert.False((ThreeChunks with { Leaves = [null!] }).TryValidate(out string? error));
        Assert.Contains("Leaf 0 has no CID", error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_non_empty_file_that_declares_no_leaves_is_caught()
    {
        Assert.False((ThreeChunks with { Leaves = [] }).TryValidate(out _));
        Assert.False(new ContentManifest(Cid.Raw([]), 5, []).TryValidate(out _));
    }

    [Fact]
    public void Manifests_compare_their_leaves_by_value()
    {
        var copy = new ContentManifest(ThreeChunks.Root, ThreeChunks.Size, [.. ThreeChunks.Leaves]);

        Assert.Equal(ThreeChunks, copy);
        Assert.Equal(ThreeChunks.GetHashCode(), copy.GetHashCode());
        Assert.NotEqual(ThreeChunks, copy with { Leaves = [.. ThreeChunks.Leaves.Reverse()] });
    }
}
