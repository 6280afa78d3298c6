using Kumo.Codecs;

namespace Kumo.Core.Tests.Content;

public class Base32Tests
{
    public static TheoryData<string, string> Rfc4648Vectors => new()
    {
        // RFC 4648 section 10, lower-cased and without the '=' padding.
        { "", "" },
        { "f", "my" },
        { "fo", "mzxq" },
        { "foo", "mzxw6" },
        { "foob", "mzxw6yq" },
        { "fooba", "mzxw6ytb" },
        { "foobar", "mzxw6ytboi" },
    };

    [Theory]
    [MemberData(nameof(Rfc4648Vectors))]
    public void Encodes_the_rfc_4648_vectors(string plain, string encoded)
    {
        Assert.Equal(encoded, Base32.Encode(System.Text.Encoding.ASCII.GetBytes(plain)));
        Assert.Equal(encoded.Length, Base32.GetEncodedLength(plain.Length));
    }

    [Theory]
    [MemberData(nameof(Rfc4648Vectors))]
    public void Decodes_the_rfc_4648_vectors(string plain, string encoded)
    {
        Assert.Equal(plain, System.Text.Encoding.ASCII.GetString(Base32.Decode(encoded)));
    }

    [Fact]
    public void Round_trips_every_length_up_to_forty_bytes()
    {
        var random = new Random(7);
        for (int length = 0; length <= 40; length++)
        {
            byte[] data = new byte[length];
            random.NextBytes(data);

            Assert.Equal(data, Base32.Decode(Base32.Encode(data)));
        }
    }

    [Theory]
    [InlineData("MZXW6", "Invalid base32 character 'M' at position 0")]
    [InlineData("mzxw6===", "padding '=' at position 5")]
    [InlineData("mzx1", "Invalid base32 character '1' at position 3")]
    [InlineData("m", "impossible")]
    [InlineData("mzx", "impossible")]
    [InlineData("mzxw6y", "impossible")]
    [InlineData("mz", "non-zero bits")]
    public void Refuses_non_canonical_text_with_a_reason(string text, string reason)
    {
        var error = Assert.Throws<FormatException>(() => Base32.Decode(text));
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
        Assert.False(Base32.TryDecode(text, new byte[16], out int written));
        Assert.Equal(0, written);
    }

    [Fact]
    public void Try_decode_reports_a_destination_that_is_too_short()
    {
        Assert.False(Base32.TryDecode("mzxw6ytboi", new byte[5], out _, out string? error));
        Assert.Contains("6 are needed", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_refuses_a_destination_that_is_too_short()
    {
        Assert.Throws<ArgumentException>(() => Base32.Encode("foobar"u8, new char[9]));
    }

    [Fact]
    public void Long_input_is_encoded_without_a_stack_buffer()
    {
        byte[] data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        string text = Base32.Encode(data);

        Assert.Equal(1600, text.Length);
        Assert.Equal(data, Base32.Decode(text));
    }
}
