using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using Kumo.Codecs;

namespace Kumo.Content;

/// <summary>
/// A content identifier compatible with IPFS: CIDv1, a codec (<see cref="CidCodec.Raw"/> or
/// <see cref="CidCodec.DagPb"/>) and a sha2-256 multihash of the addressed block. Two CIDs are equal when
/// codec and digest are equal. The text form is multibase base32 (<c>b</c> + lower-case RFC 4648, no
/// padding), e.g. <c>bafkrei…</c> for raw blocks and <c>bafybei…</c> for dag-pb nodes.
/// </summary>
public sealed class Cid : IEquatable<Cid>, IParsable<Cid>
{
    /// <summary>Length of the sha2-256 digest.</summary>
    public const int DigestLength = 32;

    /// <summary>Length of <see cref="ToBytes"/>: version, codec, hash function, digest length, digest.</summary>
    public const int ByteLength = 4 + DigestLength;

    private const byte Version1 = 0x01;
    private const byte Sha2256 = 0x12;
    private const char Base32Prefix = 'b';
    private const int MaxTextLength = 128;

    private readonly byte[] _digest;

    /// <summary>Builds a CID from a codec and a sha2-256 digest that the caller already holds.</summary>
    public Cid(CidCodec codec, ReadOnlySpan<byte> digest)
    {
        if (!Enum.IsDefined(codec))
        {
            throw new ArgumentOutOfRangeException(nameof(codec), codec, "Only the raw and dag-pb codecs are supported.");
        }

        if (digest.Length != DigestLength)
        {
            throw new ArgumentException($"A sha2-256 digest is {DigestLength} bytes, not {digest.Length}.", nameof(digest));
        }

        Codec = codec;
        _digest = digest.ToArray();
    }

    public CidCodec Codec { get; }

    /// <summary>The sha2-256 digest of the addressed block (32 bytes).</summary>
    public ReadOnlySpan<byte> Digest => _digest;

    /// <summary>The CID of a raw block: sha2-256 of <paramref name="data"/> with codec raw.</summary>
    public static Cid Raw(ReadOnlySpan<byte> data) => Hash(CidCodec.Raw, data);

    /// <summary>The CID of an encoded dag-pb node: sha2-256 of <paramref name="block"/> with codec dag-pb.</summary>
    public static Cid FromDagPb(ReadOnlySpan<byte> block) => Hash(CidCodec.DagPb, block);

    /// <summary>True when <paramref name="block"/> is the block this CID addresses (its sha2-256 digest matches).</summary>
    public bool IsHashOf(ReadOnlySpan<byte> block)
    {
        Span<byte> digest = stackalloc byte[DigestLength];
        SHA256.HashData(block, digest);
        return digest.SequenceEqual(_digest);
    }

    /// <summary>The binary CID: <c>0x01 codec 0x12 0x20 digest</c>, as dag-pb links and IPFS peers carry it.</summary>
    public byte[] ToBytes()
    {
        var bytes = new byte[ByteLength];
        WriteBytes(bytes);
        return bytes;
    }

    /// <summary>Writes the binary CID into <paramref name="destination"/>; returns <see cref="ByteLength"/>.</summary>
    public int WriteBytes(Span<byte> destination)
    {
        if (destination.Length < ByteLength)
        {
            throw new ArgumentException($"Destination holds {destination.Length} bytes; {ByteLength} are needed.", nameof(destination));
        }

        // Both codec codes are below 0x80, so every varint here is one byte.
        destination[0] = Version1;
        destination[1] = (byte)Codec;
        destination[2] = Sha2256;
        destination[3] = DigestLength;
        _digest.CopyTo(destination[4..]);
        return ByteLength;
    }

    /// <summary>The multibase base32 text form, e.g. <c>bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku</c>.</summary>
    public override string ToString()
    {
        Span<byte> bytes = stackalloc byte[ByteLength];
        WriteBytes(bytes);
        Span<char> text = stackalloc char[1 + Base32.GetEncodedLength(ByteLength)];
        text[0] = Base32Prefix;
        int written = Base32.Encode(bytes, text[1..]);
        return new string(text[..(1 + written)]);
    }

    /// <exception cref="FormatException">The text is not a base32 CIDv1 with a supported codec and a sha2-256 hash.</exception>
    public static Cid Parse(string text) =>
        TryParse(text, out Cid? cid, out string? error) ? cid : throw new FormatException(error);

    /// <summary>Parses the text form; on failure <paramref name="error"/> says what is wrong with it.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        cid = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "A CID cannot be empty.";
            return false;
        }

        if (text[0] != Base32Prefix)
        {
            error = text.StartsWith("Qm", StringComparison.Ordinal)
                ? "CIDv0 (base58btc 'Qm…') is not supported; expected a CIDv1 in multibase base32, starting with 'b'."
                : $"Unsupported multibase prefix '{text[0]}'; expected 'b' (base32, lower case).";
            return false;
        }

        if (text.Length > MaxTextLength)
        {
            error = $"A CID of {text.Length} characters is too long; a base32 CIDv1 with sha2-256 has {1 + Base32.GetEncodedLength(ByteLength)}.";
            return false;
        }

        Span<byte> bytes = stackalloc byte[Base32.GetDecodedLength(MaxTextLength)];
        if (!Base32.TryDecode(text.AsSpan(1), bytes, out int length, out string? base32Error))
        {
            error = $"Invalid base32 in CID: {base32Error}";
            return false;
        }

        return TryFromBytes(bytes[..length], out cid, out error);
    }

    /// <exception cref="FormatException">The bytes are not a CIDv1 with a supported codec and a sha2-256 hash.</exception>
    public static Cid FromBytes(ReadOnlySpan<byte> bytes) =>
        TryFromBytes(bytes, out Cid? cid, out string? error) ? cid : throw new FormatException(error);

    /// <summary>Reads a binary CID that must fill <paramref name="bytes"/> exactly.</summary>
    public static bool TryFromBytes(ReadOnlySpan<byte> bytes, [NotNullWhen(true)] out Cid? cid, [NotNullWhen(false)] out string? error)
    {
        cid = null;
        if (bytes.IsEmpty)
        {
            error = "A CID cannot be empty.";
            return false;
        }

        if (!Varint.TryRead(bytes, out ulong version, out int read))
        {
            error = "Malformed CID version varint.";
            return false;
        }

        if (version != Version1)
        {
            error = version == Sha2256
                ? "CIDv0 (a bare sha2-256 multihash) is not supported; expected CID version 1."
                : $"Unsupported CID version {version}; expected 1.";
            return false;
        }

        int offset = read;
        if (!Varint.TryRead(bytes[offset..], out ulong codec, out read))
        {
            error = "Truncated or malformed CID codec varint.";
            return false;
        }

        if (codec is not ((ulong)CidCodec.Raw or (ulong)CidCodec.DagPb))
        {
            error = $"Unsupported CID codec 0x{codec:x}; expected raw (0x55) or dag-pb (0x70).";
            return false;
        }

        offset += read;
        if (!Varint.TryRead(bytes[offset..], out ulong hashFunction, out read))
        {
            error = "Truncated or malformed multihash function varint.";
            return false;
        }

        if (hashFunction != Sha2256)
        {
            error = $"Unsupported multihash function 0x{hashFunction:x}; expected sha2-256 (0x12).";
            return false;
        }

        offset += read;
        if (!Varint.TryRead(bytes[offset..], out ulong digestLength, out read))
        {
            error = "Truncated or malformed multihash length varint.";
            return false;
        }

        if (digestLength != DigestLength)
        {
            error = $"A sha2-256 multihash declares a {DigestLength}-byte digest, not {digestLength}.";
            return false;
        }

        offset += read;
        int remaining = bytes.Length - offset;
        if (remaining < DigestLength)
        {
            error = $"CID is truncated: the digest has {remaining} of {DigestLength} bytes.";
            return false;
        }

        if (remaining > DigestLength)
        {
            error = $"CID has {remaining - DigestLength} trailing bytes after the digest.";
            return false;
        }

        cid = new Cid((CidCodec)codec, bytes.Slice(offset, DigestLength));
        error = null;
        return true;
    }

    static Cid IParsable<Cid>.Parse(string s, IFormatProvider? provider) => Parse(s);

    static bool IParsable<Cid>.TryParse([NotNullWhen(true)] string? s, IFormatProvider? provider, [MaybeNullWhen(false)] out Cid result) =>
        TryParse(s, out result, out _);

    public bool Equals(Cid? other) =>
        other is not null && Codec == other.Codec && _digest.AsSpan().SequenceEqual(other._digest);

    public override bool Equals(object? obj) => Equals(obj as Cid);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(_digest);
        hash.Add(Codec);
        return hash.ToHashCode();
    }

    public static bool operator ==(Cid? left, Cid? right) => left is null ? right is null : left.Equals(right);

    public static bool operator !=(Cid? left, Cid? right) => !(left == right);

    private static Cid Hash(CidCodec codec, ReadOnlySpan<byte> block)
    {
        Span<byte> digest = stackalloc byte[DigestLength];
        SHA256.HashData(block, digest);
        return new Cid(codec, digest);
    }
}
