using System.Security.Cryptography;
using Kumo.Content;
using Kumo.Codecs;

namespace Kumo.Core.Tests.Content;

public class CidTests
{
    private const string EmptyRaw = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    private static readonly byte[] SomeDigest = SHA256.HashData("kumo"u8);

    [Fact]
    public void The_raw_cid_of_zero_bytes_is_the_one_ipfs_gives_an_empty_file()
    {
        Assert.Equal(EmptyRaw, Cid.Raw([]).ToString());
    }

    [Fact]
    public void The_raw_cid_of_hello_world_matches_ipfs()
    {
        // `node test/reference/ipfs/cid.mjs` on a file holding "hello world" (no newline).
        Assert.Equal("bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", Cid.Raw("hello world"u8).ToString());
    }

    [Fact]
    public void Binary_form_is_version_codec_multihash()
    {
        var raw = new Cid(CidCodec.Raw, SomeDigest);
        var dagPb = new Cid(CidCodec.DagPb, SomeDigest);

        Assert.Equal([0x01, 0x55, 0x12, 0x20, .. SomeDigest], raw.ToBytes());
        Assert.Equal([0x01, 0x70, 0x12, 0x20, .. SomeDigest], dagPb.ToBytes());
        Assert.Equal(Cid.ByteLength, raw.ToBytes().Length);
    }

    [Fact]
    public void Text_form_starts_with_bafkrei_for_raw_and_bafybei_for_dag_pb()
    {
        Assert.StartsWith("bafkrei", new Cid(CidCodec.Raw, SomeDigest).ToString(), StringComparison.Ordinal);
        Assert.StartsWith("bafybei", new Cid(CidCodec.DagPb, SomeDigest).ToString(), StringComparison.Ordinal);
        Assert.Equal(59, new Cid(CidCodec.Raw, SomeDigest).ToString().Length);
    }

    [Theory]
    [InlineData(CidCodec.Raw)]
    [InlineData(CidCodec.DagPb)]
    public void Parse_and_format_round_trip(CidCodec codec)
    {
        var cid = new Cid(codec, SomeDigest);

        Cid parsed = Cid.Parse(cid.ToString());

        Assert.Equal(cid, parsed);
        Assert.Equal(codec, parsed.Codec);
        Assert.Equal(SomeDigest, parsed.Digest.ToArray());
        Assert.Equal(cid, Cid.FromBytes(cid.ToBytes()));
    }

    [Fact]
    public void Equal_cids_are_equal_and_hash_alike_and_different_ones_are_not()
    {
        var a = new Cid(CidCodec.Raw, SomeDigest);
        var b = Cid.Parse(a.ToString());
        var otherCodec = new Cid(CidCodec.DagPb, SomeDigest);
        var otherDigest = Cid.Raw("other"u8);

        Assert.True(a == b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.True(a != otherCodec);
        Assert.NotEqual(a, otherDigest);
        Assert.False(a.Equals(null));
        Assert.Single(new HashSet<Cid> { a, b });
    }

    [Fact]
    public void Is_hash_of_checks_a_block_against_the_digest()
    {
        Cid cid = Cid.Raw("chunk"u8);

        Assert.True(cid.IsHashOf("chunk"u8));
        Assert.False(cid.IsHashOf("chunK"u8));
    }

    [Fact]
    public void Constructor_refuses_a_wrong_digest_length_or_an_unknown_codec()
    {
        Assert.Throws<ArgumentException>(() => new Cid(CidCodec.Raw, new byte[31]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Cid((CidCodec)0x71, SomeDigest));
    }

    [Fact]
    public void Cid_is_parsable_through_the_generic_interface()
    {
        Assert.Equal(Cid.Raw([]), ParseGeneric<Cid>(EmptyRaw));
        Assert.False(TryParseGeneric<Cid>("nope", out _));

        static T ParseGeneric<T>(string s) where T : IParsable<T> => T.Parse(s, null);
        static bool TryParseGeneric<T>(string s, out T? value) where T : IParsable<T> => T.TryParse(s, null, out value);
    }

    public static TheoryData<string, string> Malformed()
    {
        byte[] digest = SomeDigest;
        return new TheoryData<string, string>
        {
            { "", "cannot be empty" },
            { "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR", "CIDv0" },
            { "zb2rhe5P4gXftAwvA4eXQ5HJwsER2owDyS9sKaQRRVQPn93bA", "multibase prefix 'z'" },
            { "B" + EmptyRaw[1..].ToUpperInvariant(), "multibase prefix 'B'" },
            { EmptyRaw[..^1] + "1", "Invalid base32 character '1'" },
            { "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvykU", "Invalid base32 character 'U'" },
            { EmptyRaw[..^1] + "=", "padding" },
            { EmptyRaw[..^1] + "v", "non-zero bits" },
            { EmptyRaw + "a", "impossible" },
            { "b" + new string('a', 200), "too long" },
            { Text([]), "cannot be empty" },
            { Text([0x12, 0x20, .. digest]), "CIDv0" },
            { Text([0x02, 0x55, 0x12, 0x20, .. digest]), "version 2" },
            { Text([0x81, 0x00]), "version varint" },
            { Text([0x01, 0x71, 0x12, 0x20, .. digest]), "codec 0x71" },
            { Text([0x01, 0xF0, 0x01, 0x12, 0x20, .. digest]), "codec 0xf0" },
            { Text([0x01]), "codec varint" },
            { Text([0x01, 0x55, 0x13, 0x40, .. digest, .. digest]), "function 0x13" },
            { Text([0x01, 0x55, 0xB2, 0x20, 0x20, .. digest]), "function 0x1032" },
            { Text([0x01, 0x55]), "function varint" },
            { Text([0x01, 0x55, 0x12, 0x14, .. digest[..20]]), "not 20" },
            { Text([0x01, 0x55, 0x12]), "length varint" },
            { Text([0x01, 0x55, 0x12, 0x20, .. digest[..31]]), "truncated" },
            { Text([0x01, 0x55, 0x12, 0x20, .. digest, 0x00]), "1 trailing bytes" },
        };

        static string Text(byte[] bytes) => "b" + Base32.Encode(bytes);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_text_is_refused_with_a_clear_message(string text, string expected)
    {
        Assert.False(Cid.TryParse(text, out Cid? cid, out string? error));
        Assert.Null(cid);
        Assert.Contains(expected, error, StringComparison.Ordinal);

        var thrown = Assert.Throws<FormatException>(() => Cid.Parse(text));
        Assert.Equal(error, thrown.Message);
    }

    [Fact]
    public void Null_text_is_refused()
    {
        Assert.False(Cid.TryParse(null, out _, out string? error));
        Assert.Contains("empty", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_bytes_are_refused()
    {
        Assert.False(Cid.TryFromBytes([0x01, 0x55, 0x12, 0x20, 0x00], out _, out string? error));
        Assert.Contains("truncated", error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => Cid.FromBytes([]));
    }
}
