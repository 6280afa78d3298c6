using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Kumo.Merkle;
using Kumo.Tensor.Models;

namespace Kumo.Tensor.Training;

/// <summary>
/// The checkpoint commitment: one 32-byte Merkle root over a set of named tensors (a model's weights together with
/// its optimizer's state), so a validator that re-runs a training segment compares one hash, and a dispute can be
/// narrowed to one tensor with a Merkle proof.
/// <para>
/// Canonical bytes of a tensor, all integers little-endian int32: name length in UTF-8 bytes, the name in UTF-8,
/// rank, each dimension, then every element as its IEEE-754 binary32 bit pattern, little-endian, row-major.
/// (The length and rank prefixes make the encoding unambiguous.) Leaves are the tensors sorted by name (ordinal,
/// i.e. by UTF-16 code unit; names must be distinct), each leaf the RFC 6962 leaf hash SHA-256(0x00 ‖ canonical
/// bytes); the root is <see cref="MerkleTree"/>'s RFC 6962 root over them.
/// </para>
/// </summary>
public static class WeightCommitment
{
    public static byte[] CanonicalBytes(NamedTensor tensor)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        byte[] bytes = Header(tensor, trailing: 4 * tensor.Data.Length, out int o);
        Span<byte> span = bytes;
        foreach (float v in tensor.Data)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[o..], BitConverter.SingleToInt32Bits(v));
            o += 4;
        }

        return bytes;
    }

    /// <summary>SHA-256 of one tensor's canonical bytes (handy for comparing single tensors).</summary>
    public static byte[] Hash(NamedTensor tensor) => SHA256.HashData(CanonicalBytes(tensor));

    /// <summary>The Merkle root over <paramref name="tensors"/> (any order in; sorted by name inside).</summary>
    public static byte[] Root(IEnumerable<NamedTensor> tensors)
    {
        NamedTensor[] sorted = [.. tensors];
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i].Name == sorted[i - 1].Name)
            {
                throw new ArgumentException($"two tensors are named '{sorted[i].Name}'", nameof(tensors));
            }
        }

        // One hasher for every leaf, the leaf hashes side by side in one buffer and reduced to the root in place: a
        // provider commits after every step, and per-leaf hashers and arrays cost about as much as hashing a small tensor.
        if (sorted.Length == 0)
        {
            return MerkleTree.ComputeRoot([]);
        }

        byte[] level = new byte[sorted.Length * MerkleTree.HashSize];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (int i = 0; i < sorted.Length; i++)
        {
            LeafHash(sorted[i], hash, level.AsSpan(i * MerkleTree.HashSize, MerkleTree.HashSize));
        }

        MerkleTree.ReduceInPlace(level);
        return level[..MerkleTree.HashSize];
    }

    /// <summary>
    /// The RFC 6962 leaf hash of one tensor: what <see cref="Root"/> puts in the tree for it. With every leaf of a set,
    /// <see cref="RootOfLeaves"/> gives the set's root, so one tensor can be checked against a root without the others.
    /// </summary>
    public static byte[] LeafHash(NamedTensor tensor)
    {
        byte[] leaf = new byte[MerkleTree.HashSize];
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        LeafHash(tensor, hash, leaf);
        return leaf;
    }

    /// <summary>
    /// The root over a set given as (name, leaf hash) pairs, any order in: the same as <see cref="Root"/> over the
    /// tensors themselves. Throws on a repeated name or a leaf that is not 32 bytes.
    /// </summary>
    public static byte[] RootOfLeaves(IEnumerable<KeyValuePair<string, byte[]>> leaves)
    {
        KeyValuePair<string, byte[]>[] sorted = [.. leaves];
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        if (sorted.Length == 0)
        {
            return MerkleTree.ComputeRoot([]);
        }

        byte[] level = new byte[sorted.Length * MerkleTree.HashSize];
        for (int i = 0; i < sorted.Length; i++)
        {
            if (i > 0 && sorted[i].Key == sorted[i - 1].Key)
            {
                throw new ArgumentException($"two leaves are named '{sorted[i].Key}'", nameof(leaves));
            }

            if (sorted[i].Value is not { Length: MerkleTree.HashSize })
            {
                throw new ArgumentException($"the leaf hash of '{sorted[i].Key}' is not {MerkleTree.HashSize} bytes", nameof(leaves));
            }

            sorted[i].Value.CopyTo(level, i * MerkleTree.HashSize);
        }

        MerkleTree.ReduceInPlace(level);
        return level[..MerkleTree.HashSize];
    }

    /// <summary><see cref="Root"/> as lowercase hex.</summary>
    public static string RootHex(IEnumerable<NamedTensor> tensors) => Convert.ToHexStringLower(Root(tensors));

    /// <summary>
    /// The RFC 6962 leaf hash of one tensor's canonical bytes into <paramref name="leaf"/>, streamed: the header, then the
    /// elements' bytes as they lie in memory on a little-endian machine (their IEEE-754 bit patterns, little-endian) — no
    /// copy of the data. The same bytes as <see cref="CanonicalBytes"/>; a provider hashes its state often, so this is hot.
    /// </summary>
    private static void LeafHash(NamedTensor tensor, IncrementalHash hash, Span<byte> leaf)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (!BitConverter.IsLittleEndian)
        {
            MerkleTree.HashLeaf(CanonicalBytes(tensor)).CopyTo(leaf);
            return;
        }

        // Byte 0 stays 0x00: the RFC 6962 leaf prefix. Names are short, so the header nearly always fits on the stack.
        int size = 1 + HeaderSize(tensor);
        Span<byte> header = size <= 512 ? stackalloc byte[size] : new byte[size];
        header[0] = 0x00;
        WriteHeader(tensor, header[1..]);
        hash.AppendData(header);
        hash.AppendData(MemoryMarshal.AsBytes(tensor.Data.AsSpan()));
        hash.GetHashAndReset(leaf);
    }

    /// <summary>
    /// A buffer of the tensor's canonical header (name length, name, rank, each dimension) and room for
    /// <paramref name="trailing"/> more bytes, which start at <paramref name="end"/>.
    /// </summary>
    private static byte[] Header(NamedTensor tensor, int trailing, out int end)
    {
        end = HeaderSize(tensor);
        byte[] bytes = new byte[end + trailing];
        WriteHeader(tensor, bytes.AsSpan(0, end));
        return bytes;
    }

    /// <summary>The length of the canonical header; checks that the shape accounts for every element.</summary>
    private static int HeaderSize(NamedTensor tensor)
    {
        long count = 1;
        foreach (int d in tensor.Shape)
        {
            count *= d;
        }

        if (count != tensor.Data.Length)
        {
            throw new ArgumentException($"tensor '{tensor.Name}' has shape [{string.Join(", ", tensor.Shape)}] but {tensor.Data.Length} elements", nameof(tensor));
        }

        return 4 + Encoding.UTF8.GetByteCount(tensor.Name) + 4 + (4 * tensor.Shape.Length);
    }

    /// <summary>Writes the canonical header (name length, name, rank, each dimension) into <paramref name="span"/>, which fits it exactly.</summary>
    private static void WriteHeader(NamedTensor tensor, Span<byte> span)
    {
        int nameLength = Encoding.UTF8.GetBytes(tensor.Name, span[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(span, nameLength);
        int o = 4 + nameLength;
        BinaryPrimitives.WriteInt32LittleEndian(span[o..], tensor.Shape.Length);
        o += 4;
        foreach (int d in tensor.Shape)
        {
            BinaryPrimitives.WriteInt32LittleEndian(span[o..], d);
            o += 4;
        }
    }
}
