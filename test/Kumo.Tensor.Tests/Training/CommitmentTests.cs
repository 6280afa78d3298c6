using System.Buffers.Binary;
using Kumo.Merkle;
using Kumo.Tensor.Models;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Tests.Training;

public class CommitmentTests
{
    [Fact]
    public void Canonical_bytes_are_length_prefixed_name_rank_dims_then_little_endian_floats()
    {
        byte[] bytes = WeightCommitment.CanonicalBytes(new NamedTensor("w", [1, 2], [1f, -2.5f]));

        byte[] expected = [1, 0, 0, 0, (byte)'w', 2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void Root_is_the_rfc6962_root_of_leaves_sorted_by_name_whatever_the_input_order()
    {
        var a = new NamedTensor("b.bias", [2], [0f, 1f]);
        var b = new NamedTensor("a.weight", [1], [3f]);

        byte[] root = WeightCommitment.Root([a, b]);

        Assert.Equal(root, WeightCommitment.Root([b, a]));
        Assert.Equal(MerkleTree.FromData([WeightCommitment.CanonicalBytes(b), WeightCommitment.CanonicalBytes(a)]).Root, root);
        Assert.NotEqual(root, WeightCommitment.Root([a, b with { Data = [BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(3f) + 1)] }]));
        Assert.Throws<ArgumentException>(() => WeightCommitment.Root([a, a]));
    }

    [Fact]
    public void Negative_zero_and_zero_commit_differently()
    {
        Assert.NotEqual(WeightCommitment.Hash(new NamedTensor("x", [1], [0f])), WeightCommitment.Hash(new NamedTensor("x", [1], [-0f])));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(WeightCommitment.CanonicalBytes(new NamedTensor("x", [7], new float[7])).AsSpan(9)));
    }
}
