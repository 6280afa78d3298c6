using System.Security.Cryptography;
using Kumo.Crypto;

namespace Kumo.Core.Tests.Crypto;

public class AccountKeyTests
{
    [Fact]
    public void Account_id_is_derived_from_the_public_key_and_parses_back()
    {
        using var key = AccountKey.Create();
        AccountId id = key.AccountId;
        Assert.StartsWith("kumo1", id.Value, StringComparison.Ordinal);
        Assert.Equal(43, id.Value.Length);
        Assert.Equal(id, AccountId.Parse(id.Value));
        Assert.Equal(id, AccountId.FromPublicKey(key.PublicKey));
    }

    [Fact]
    public void A_single_mistyped_character_in_an_account_id_is_refused()
    {
        using var key = AccountKey.Create();
        string id = key.AccountId.Value;
        for (int i = 5; i < id.Length; i++)
        {
            char replacement = id[i] == 'q' ? 'p' : 'q';
            string typo = id[..i] + replacement + id[(i + 1)..];
            Assert.False(AccountId.TryParse(typo, out _, out string error), $"typo at {i} accepted");
            Assert.Contains("checksum", error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("kumo1qqqsyqcyq5rqwzqfpg9scrgwpugpzysn5kaaq", "checksum")]
    public void Malformed_account_ids_are_refused_with_a_reason(string text, string fragment)
    {
        Assert.False(AccountId.TryParse(text, out _, out string error));
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_id_with_another_networks_prefix_or_length_is_refused()
    {
        string foreign = Kumo.Codecs.Bech32.Encode("cosmos", new byte[20]);
        Assert.False(AccountId.TryParse(foreign, out _, out string error));
        Assert.Contains("prefix 'cosmos'", error, StringComparison.Ordinal);

        string tooLong = Kumo.Codecs.Bech32.Encode("kumo", new byte[32]);
        Assert.False(AccountId.TryParse(tooLong, out _, out error));
        Assert.Contains("32 bytes", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Signatures_verify_with_the_compressed_public_key_and_fail_on_any_change()
    {
        using var key = AccountKey.Create();
        byte[] message = "lease 42 finished with exit 0"u8.ToArray();
        byte[] signature = key.Sign(message);
        Assert.Equal(64, signature.Length);

        Assert.True(PublicKey.TryParse(key.PublicKey.Text, out PublicKey? parsed, out string error), error);
        Assert.True(parsed.Verify(message, signature));

        byte[] tampered = (byte[])message.Clone();
        tampered[^1] ^= 1;
        Assert.False(parsed.Verify(tampered, signature));
        signature[10] ^= 0x40;
        Assert.False(parsed.Verify(message, signature));
    }

    [Fact]
    public void Point_decompression_recovers_both_parities()
    {
        // Enough keys that both 0x02 and 0x03 prefixes occur.
        var prefixes = new HashSet<byte>();
        for (int i = 0; i < 24; i++)
        {
            using var key = AccountKey.Create();
            byte[] compressed = key.PublicKey.Compressed.ToArray();
            prefixes.Add(compressed[0]);
            Assert.True(PublicKey.TryFromCompressed(compressed, out PublicKey? roundTrip, out string error), error);
            byte[] message = BitConverter.GetBytes(i);
            Assert.True(roundTrip.Verify(message, key.Sign(message)));
        }

        Assert.Equal(2, prefixes.Count);
    }

    [Fact]
    public void A_point_not_on_the_curve_is_refused()
    {
        var bytes = new byte[33];
        bytes[0] = 0x02;
        bytes[32] = 1; // x = 1: x³ − 3x + b is not a square mod p
        Assert.False(PublicKey.TryFromCompressed(bytes, out _, out string error));
        Assert.Contains("curve", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Pkcs8_export_and_import_keep_the_identity()
    {
        using var key = AccountKey.Create();
        using var again = AccountKey.FromPkcs8(key.ExportPkcs8());
        Assert.Equal(key.AccountId, again.AccountId);
    }

    [Fact]
    public void Keys_on_other_curves_are_refused()
    {
        using var p384 = ECDsa.Create(ECCurve.NamedCurves.nistP384);
        Assert.Throws<CryptographicException>(() => AccountKey.FromPkcs8(p384.ExportPkcs8PrivateKey()));
    }
}
