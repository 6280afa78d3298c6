using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Diagnostics.CodeAnalysis;
using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Serialization;

namespace Kumo.Signing;

/// <summary>
/// A signed statement by one account: <c>{type, signer, publicKey, nonce, timestamp, payload, signature}</c>.
/// The signature is ECDSA P-256/SHA-256 over the RFC 8785 canonical JSON of every member except
/// <c>signature</c>, so it binds the message type (domain separation), the signer, the nonce and the time.
/// The envelope carries the public key and the signer id is derived from it, so anyone can verify it with no
/// registry; the hub adds replay protection (timestamp within a window, nonce not seen in it).
/// </summary>
public sealed record SignedEnvelope
{
    public required string Type { get; init; }

    public required AccountId Signer { get; init; }

    /// <summary>base64url compressed P-256 key; its account id must equal <see cref="Signer"/>.</summary>
    public required string PublicKey { get; init; }

    /// <summary>Unique per signer within the hub's timestamp window (see <see cref="NonceClock"/>).</summary>
    public required long Nonce { get; init; }

    /// <summary>When it was signed, in Unix milliseconds.</summary>
    public required long Timestamp { get; init; }

    public required JsonElement Payload { get; init; }

    /// <summary>base64url of the 64-byte r‖s signature.</summary>
    public required string Signature { get; init; }

    /// <summary>Signs a payload. <paramref name="type"/> names the message, e.g. "kumo.job.submit/v1".</summary>
    public static SignedEnvelope Create<T>(AccountKey key, string type, T payload, long nonce, DateTimeOffset timestamp)
    {
        JsonElement payloadElement = JsonSerializer.SerializeToElement(payload, KumoJson.Options);
        var unsigned = new SignedEnvelope
        {
            Type = type,
            Signer = key.AccountId,
            PublicKey = key.PublicKey.Text,
            Nonce = nonce,
            Timestamp = timestamp.ToUnixTimeMilliseconds(),
            Payload = payloadElement,
            Signature = "",
        };
        byte[] signature = key.Sign(unsigned.SigningBytes());
        return unsigned with { Signature = Base64Url.EncodeToString(signature) };
    }

    /// <summary>The canonical bytes the signature covers.</summary>
    public byte[] SigningBytes()
    {
        // RFC 8785 orders members by UTF-16 code units; for this fixed set that order is:
        // nonce, payload, publicKey, signer, timestamp, type.
        var buffer = new ArrayBufferWriter<byte>(256 + Payload.GetRawText().Length);
        CanonicalJson.WriteRaw(buffer, "{\"nonce\":");
        CanonicalJson.WriteRaw(buffer, Nonce.ToString(CultureInfo.InvariantCulture));
        CanonicalJson.WriteRaw(buffer, ",\"payload\":");
        CanonicalJson.Write(Payload, buffer);
        CanonicalJson.WriteRaw(buffer, ",\"publicKey\":");
        CanonicalJson.WriteString(PublicKey, buffer);
        CanonicalJson.WriteRaw(buffer, ",\"signer\":");
        CanonicalJson.WriteString(Signer.Value, buffer);
        CanonicalJson.WriteRaw(buffer, ",\"timestamp\":");
        CanonicalJson.WriteRaw(buffer, Timestamp.ToString(CultureInfo.InvariantCulture));
        CanonicalJson.WriteRaw(buffer, ",\"type\":");
        CanonicalJson.WriteString(Type, buffer);
        CanonicalJson.WriteRaw(buffer, "}");
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>SHA-256 of the signing bytes, hex: a stable id of this statement for evidence links (independent of signature encoding).</summary>
    public string Digest() => Convert.ToHexStringLower(SHA256.HashData(SigningBytes()));

    /// <summary>Checks the signer id matches the key and the signature is valid. Does not check nonce or time.</summary>
    public bool TryVerify([NotNullWhen(false)] out string? error)
    {
        if (!Crypto.PublicKey.TryParse(PublicKey, out PublicKey? key, out string keyError))
        {
            error = keyError;
            return false;
        }

        return TryVerify(key, out error);
    }

    /// <summary>As <see cref="TryVerify(out string?)"/> with an already parsed (cached) key.</summary>
    public bool TryVerify(PublicKey key, [NotNullWhen(false)] out string? error)
    {
        if (Nonce is <= 0 or > CanonicalJson.MaxSafeInteger)
        {
            error = $"nonce {Nonce} is outside 1..2^53−1";
            return false;
        }

        if (key.AccountId != Signer)
        {
            error = $"public key belongs to {key.AccountId}, not to the signer {Signer}";
            return false;
        }

        Span<byte> signature = stackalloc byte[Crypto.PublicKey.SignatureLength + 2];
        if (!Base64Url.IsValid(Signature, out int length) || length != Crypto.PublicKey.SignatureLength)
        {
            error = "signature must be base64url of 64 bytes (ECDSA P-256 r‖s)";
            return false;
        }

        Base64Url.DecodeFromChars(Signature, signature, out _, out int written);
        byte[] signingBytes;
        try
        {
            signingBytes = SigningBytes();
        }
        catch (CanonicalJsonException e)
        {
            error = $"payload has no canonical form: {e.Message}";
            return false;
        }

        if (!key.Verify(signingBytes, signature[..written]))
        {
            error = "signature does not match the message and key";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>Reads the payload as <typeparamref name="T"/> with the strict wire options.</summary>
    public T PayloadAs<T>() =>
        Payload.Deserialize<T>(KumoJson.Options) ?? throw new JsonException($"payload of {Type} is null");

    public string ToJson() => JsonSerializer.Serialize(this, KumoJson.Options);

    /// <summary>Parses an envelope, refusing missing or extra members with a message that names them.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8Json, [NotNullWhen(true)] out SignedEnvelope? envelope, [NotNullWhen(false)] out string? error)
    {
        try
        {
            envelope = JsonSerializer.Deserialize<SignedEnvelope>(utf8Json, KumoJson.Options);
            if (envelope is null)
            {
                error = "envelope is null";
                return false;
            }

            error = null;
            return true;
        }
        catch (JsonException e)
        {
            envelope = null;
            error = $"malformed signed envelope: {e.Message}";
            return false;
        }
    }
}
