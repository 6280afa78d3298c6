using BenchmarkDotNet.Attributes;
using Kumo.Merkle;

namespace Kumo.Benchmarks;

/// <summary>
/// Building an RFC 6962 tree (its root), and taking and checking one leaf's audit path. The anchor hashes the same
/// n − 1 interior nodes level by level with nothing kept: for a power-of-two leaf count that is the same root, so
/// the ratio of <see cref="Root"/> is what the tree's node cache (which makes proofs cheap) costs to build.
/// </summary>
[MemoryDiagnoser]
public class MerkleBenchmarks
{
    private byte[][] _leaves = null!;
    private MerkleTree _tree = null!;
    private MerkleProof _proof = null!;
    private int _index;

    [Params(1_024, 65_536)]
    public int Leaves { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _leaves = [.. Enumerable.Range(0, Leaves).Select(i => MerkleTree.HashLeaf(BitConverter.GetBytes(i)))];
        _tree = new MerkleTree(_leaves);
        _index = Leaves / 3;
        _proof = _tree.GetProof(_index);
        if (!Hash_levels_only().AsSpan().SequenceEqual(_tree.Root))
        {
            throw new InvalidOperationException("the anchor must compute the same root; use a power-of-two leaf count");
        }
    }

    [Benchmark(Baseline = true)]
    public byte[] Hash_levels_only()
    {
        byte[][] level = _leaves;
        while (level.Length > 1)
        {
            var next = new byte[level.Length / 2][];
            for (int i = 0; i < next.Length; i++)
            {
                next[i] = MerkleTree.HashNode(level[2 * i], level[(2 * i) + 1]);
            }

            level = next;
        }

        return level[0];
    }

    [Benchmark]
    public byte[] Root() => new MerkleTree(_leaves).Root;

    [Benchmark]
    public MerkleProof Proof() => _tree.GetProof(_index);

    [Benchmark]
    public bool Verify_proof() => MerkleTree.Verify(_leaves[_index], _proof, _tree.Root);
}
