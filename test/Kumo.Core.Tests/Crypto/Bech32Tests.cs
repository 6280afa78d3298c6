using Kumo.Codecs;

namespace Kumo.Core.Tests.Crypto;

public class Bech32Tests
{
    // Valid strings from BIP-173's test vectors.
    [Theory]
    [InlineData("A12UEL5L")]
    [InlineData("a12uel5l")]
    [InlineData("an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs")]
    [InlineData("abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw")]
    [InlineData("split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w")]
    public void Bip173_valid_strings_decode(string text)
    {
        Assert.True(Bech32.TryDecode(text, out _, out _, out string error), error);
    }

    [Theory]
    [InlineData("pzry9x0s0muk", "separator")]          // no separator
    [InlineData("1pzry9x0s0muk", "separator")]         // empty human part
    [InlineData("x1b4n0q5v", "alphabet")]              // 'b' not in the alphabet
    [InlineData("li1dgmt3", "separator")]              // checksum too short
    [InlineData("A1G7SGD8", "checksum")]               // checksum computed with upper-case hrp
    [InlineData("a12UEL5L", "case")]                   // mixed case
    public void Bip173_invalid_strings_are_refused_with_a_reason(string text, string reasonFragment)
    {
        Assert.False(Bech32.TryDecode(text, out _, out _, out string error));
        Assert.Contains(reasonFragment, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Encode_then_decode_returns_the_bytes()
    {
        byte[] data = [0, 1, 2, 250, 251, 252, 253, 254, 255, 17, 42, 99, 100, 101, 102, 103, 104, 105, 106, 107];
        string text = Bech32.Encode("kumo", data);
        Assert.StartsWith("kumo1", text, StringComparison.Ordinal);
        Assert.True(Bech32.TryDecode(text, out string hrp, out byte[] decoded, out _));
        Assert.Equal("kumo", hrp);
        Assert.Equal(data, decoded);
    }
}
