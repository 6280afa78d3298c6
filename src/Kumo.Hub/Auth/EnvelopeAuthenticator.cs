using System.Collections.Concurrent;
using Kumo.Crypto;
using Kumo.Hub.Api;
using Kumo.Hub.Storage;
using Kumo.Signing;

namespace Kumo.Hub.Auth;

/// <summary>
/// Checks signed envelopes: well-formed, of the expected type, signed by the key it names, and fresh.
/// Replay protection completes inside the caller's store transaction with <see cref="RecordNonceAsync"/>, so a
/// request is either applied with its nonce recorded, or not applied at all.
/// </summary>
public sealed class EnvelopeAuthenticator(TimeProvider time, HubOptions options)
{
    private const int MaxCachedKeys = 100_000;
    private readonly ConcurrentDictionary<string, PublicKey> _keys = new(StringComparer.Ordinal);

    /// <summary>Parses and verifies an envelope from a request body; throws <see cref="ApiProblem"/> on any fault.</summary>
    public SignedEnvelope Authenticate(ReadOnlySpan<byte> body, string expectedType)
    {
        if (!SignedEnvelope.TryParse(body, out SignedEnvelope? envelope, out string? parseError))
        {
            throw ApiProblem.BadRequest("malformed_envelope", parseError);
        }

        Verify(envelope, expectedType);
        return envelope;
    }

    /// <summary>Verifies an already parsed envelope; throws <see cref="ApiProblem"/> on any fault.</summary>
    public void Verify(SignedEnvelope envelope, string expectedType)
    {
        if (!string.Equals(envelope.Type, expectedType, StringComparison.Ordinal))
        {
            throw ApiProblem.BadRequest("wrong_message_type", $"expected a signed '{expectedType}' message, got '{envelope.Type}'", "type");
        }

        PublicKey key = GetKey(envelope.PublicKey);
        if (!envelope.TryVerify(key, out string? error))
        {
            throw ApiProblem.Unauthorized("invalid_signature", error);
        }

        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        long skew = (long)options.ClockSkew.TotalMilliseconds;
        if (Math.Abs(now - envelope.Timestamp) > skew)
        {
            string direction = envelope.Timestamp < now ? "old" : "far in the future";
            throw ApiProblem.Unauthorized(
                "stale_timestamp",
                $"signed message timestamp is {Math.Abs(now - envelope.Timestamp) / 1000} s {direction}; the hub accepts ±{skew / 1000} s (check the clock)");
        }
    }

    /// <summary>
    /// Records the envelope's nonce in <paramref name="tx"/>, or refuses it as a replay. A nonce must be unique per
    /// account among requests inside the timestamp window; older requests already failed <see cref="Verify"/>.
    /// Unlike a strictly increasing counter, this lets one account sign on several connections at once.
    /// </summary>
    public async Task RecordNonceAsync(IHubTransaction tx, SignedEnvelope envelope)
    {
        if (!await tx.TryRecordNonceAsync(envelope.Signer, envelope.Nonce, time.GetUtcNow().ToUnixTimeMilliseconds()))
        {
            throw ApiProblem.Conflict(
                "replayed_nonce",
                $"nonce {envelope.Nonce} of {envelope.Signer} was already used; this request was already applied or is a replay");
        }
    }

    /// <summary>How long seen nonces must be kept: twice the window, so any request they could match is already stale.</summary>
    public TimeSpan NonceRetention => options.ClockSkew * 2;

    private PublicKey GetKey(string text)
    {
        if (_keys.TryGetValue(text, out PublicKey? cached))
        {
            return cached;
        }

        if (!PublicKey.TryParse(text, out PublicKey? key, out string error))
        {
            throw ApiProblem.BadRequest("invalid_public_key", error, "publicKey");
        }

        if (_keys.Count >= MaxCachedKeys)
        {
            _keys.Clear();
        }

        _keys[text] = key;
        return key;
    }
}
