using System.Security.Cryptography;
using FsCheck;
using FsCheck.Fluent;
using Kumo.Merkle;

namespace Kumo.Core.Tests.Merkle;

public class MerkleTreeTests
{
    [Fact]
    public void Empty_tree_root_is_the_hash_of_nothing_and_one_leaf_is_its_own_root()
    {
        Assert.Equal(SHA256.HashData([]), new MerkleTree([]).Root);
        byte[] leaf = MerkleTree.HashLeaf("only"u8);
        Assert.Equal(leaf, new MerkleTree([leaf]).Root);
    }

    [Fact]
    public void Root_matches_rfc6962_shape_for_three_leaves()
    {
        byte[][] leaves = [MerkleTree.HashLeaf("a"u8), MerkleTree.HashLeaf("b"u8), MerkleTree.HashLeaf("c"u8)];
        byte[] expected = MerkleTree.HashNode(MerkleTree.HashNode(leaves[0], leaves[1]), leaves[2]);
        Assert.Equal(expected, new MerkleTree(leaves).Root);
    }

    [Fact]
    public void Every_leaf_of_every_tree_up_to_70_leaves_has_a_proof_that_verifies_and_only_for_itself()
    {
        for (int n = 1; n <= 70; n++)
        {
            byte[][] leaves = [.. Enumerable.Range(0, n).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i)))];
            var tree = new MerkleTree(leaves);
            for (int i = 0; i < n; i++)
            {
                MerkleProof proof = tree.GetProof(i);
                Assert.True(MerkleTree.Verify(leaves[i], proof, tree.Root), $"n={n} i={i}");
                Assert.False(MerkleTree.Verify(leaves[(i + 1) % n], proof, tree.Root) && n > 1, $"wrong leaf accepted n={n} i={i}");
                Assert.False(MerkleTree.Verify(leaves[i], proof with { Index = (i + 1) % n }, tree.Root) && n > 1, $"wrong index accepted n={n} i={i}");
            }
        }
    }

    [Fact]
    public void The_bottom_up_root_equals_the_split_tree_root_for_every_size_up_to_130()
    {
        Assert.Equal(SHA256.HashData([]), MerkleTree.ComputeRoot([]));
        for (int n = 1; n <= 130; n++)
        {
            byte[][] leaves = [.. Enumerable.Range(0, n).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i)))];
            Assert.Equal(new MerkleTree(leaves).Root, MerkleTree.ComputeRoot(leaves));
        }

        Assert.Throws<ArgumentException>(() => MerkleTree.ComputeRoot([new byte[31]]));
    }

    [Fact]
    public void Reducing_leaf_hashes_in_place_leaves_the_root_in_the_first_32_bytes()
    {
        for (int n = 1; n <= 40; n++)
        {
            byte[][] leaves = [.. Enumerable.Range(0, n).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i)))];
            byte[] flat = [.. leaves.SelectMany(l => l)];
            MerkleTree.ReduceInPlace(flat);
            Assert.Equal(new MerkleTree(leaves).Root, flat[..MerkleTree.HashSize]);
        }

        Assert.Throws<ArgumentException>(() => MerkleTree.ReduceInPlace([]));
        Assert.Throws<ArgumentException>(() => MerkleTree.ReduceInPlace(new byte[33]));
    }

    [Fact]
    public void Duplicating_the_last_leaf_changes_the_root()
    {
        // The weakness of duplicate-last-node trees (CVE-2012-2459) must not exist here.
        byte[][] three = [MerkleTree.HashLeaf("a"u8), MerkleTree.HashLeaf("b"u8), MerkleTree.HashLeaf("c"u8)];
        byte[][] four = [.. three, three[2]];
        Assert.NotEqual(new MerkleTree(three).Root, new MerkleTree(four).Root);
    }

    [Fact]
    public void A_proof_with_any_sibling_changed_fails()
    {
        Prop.ForAll(Gen.Choose(2, 300).ToArbitrary(), Gen.Choose(0, 1_000_000).ToArbitrary(), (n, seed) =>
        {
            byte[][] leaves = [.. Enumerable.Range(0, n).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i * 31 + seed)))];
            var tree = new MerkleTree(leaves);
            int index = seed % n;
            MerkleProof proof = tree.GetProof(index);
            int which = seed % proof.Path.Count;
            var path = proof.Path.Select(p => (byte[])p.Clone()).ToList();
            path[which][seed % 32] ^= 1;
            return MerkleTree.Verify(leaves[index], proof, tree.Root)
                && !MerkleTree.Verify(leaves[index], proof with { Path = path }, tree.Root);
        }).QuickCheckThrowOnFailure();
    }
}
