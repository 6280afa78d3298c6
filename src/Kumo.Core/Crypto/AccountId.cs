using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Kumo.Codecs;

namespace Kumo.Crypto;

/// <summary>
/// The address of an account: bech32 with prefix "kumo" over the first 20 bytes of SHA-256 of the account's
/// compressed public key, e.g. <c>kumo1qx3...</c>. Self-certifying: anyone holding the public key can check that it
/// owns the id, and a mistyped id fails its checksum instead of reaching a stranger.
/// </summary>
[JsonConverter(typeof(AccountIdJsonConverter))]
public readonly record struct AccountId : IComparable<AccountId>
{
    public const string Prefix = "kumo";
    private const int HashLength = 20;

    private readonly string? _value;

    private AccountId(string value) => _value = value;

    /// <summary>The bech32 text form.</summary>
    public string Value => _value ?? throw new InvalidOperationException("default AccountId has no value");

    /// <summary>Derives the id owned by a public key.</summary>
    public static AccountId FromPublicKey(PublicKey key)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(key.Compressed, digest);
        return new AccountId(Bech32.Encode(Prefix, digest[..HashLength]));
    }

    /// <summary>Parses an id, refusing anything malformed with the reason.</summary>
    public static bool TryParse([NotNullWhen(true)] string? text, out AccountId id, out string error)
    {
        id = default;
        if (string.IsNullOrEmpty(text))
        {
            error = "account id is empty";
            return false;
        }

        if (!Bech32.TryDecode(text, out string hrp, out byte[] data, out string reason))
        {
            error = $"'{Shorten(text)}' is not a valid account id: {reason}";
            return false;
        }

        if (hrp != Prefix)
        {
            error = $"'{Shorten(text)}' is not a Kumo account id (prefix '{hrp}', expected '{Prefix}')";
            return false;
        }

        if (data.Length != HashLength)
        {
            error = $"'{Shorten(text)}' is not a valid account id: {data.Length} bytes of hash, expected {HashLength}";
            return false;
        }

        id = new AccountId(text.ToLowerInvariant());
        error = "";
        return true;
    }

    public static AccountId Parse(string text) =>
        TryParse(text, out AccountId id, out string error) ? id : throw new FormatException(error);

    public int CompareTo(AccountId other) => string.CompareOrdinal(_value, other._value);

    public override string ToString() => _value ?? "";

    private static string Shorten(string text) => text.Length > 64 ? text[..64] + "…" : text;
}

internal sealed class AccountIdJsonConverter : JsonConverter<AccountId>
{
    public override AccountId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? text = reader.GetString();
        return AccountId.TryParse(text, out AccountId id, out string error) ? id : throw new JsonException(error);
    }

    public override void Write(Utf8JsonWriter writer, AccountId value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.Value);
}
