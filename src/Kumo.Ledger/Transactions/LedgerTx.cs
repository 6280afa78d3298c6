using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.Transactions;

/// <summary>
/// One transaction as the ledger keeps it: a signed statement, or a protocol rule with its body, and the time the
/// hub applied it. Stored as its canonical JSON; its hash is SHA-256 of exactly those bytes.
/// </summary>
public sealed record LedgerTx
{
    /// <summary>When the hub applied it (Unix ms). Never decreases along the chain.</summary>
    public required long AppliedAt { get; init; }

    /// <summary>Set for signed transactions.</summary>
    public SignedEnvelope? Signed { get; init; }

    /// <summary>Set for protocol transactions: one of <see cref="ProtocolTypes"/>.</summary>
    public string? Protocol { get; init; }

    /// <summary>The protocol transaction's body.</summary>
    public JsonElement? Body { get; init; }

    public static LedgerTx FromSigned(SignedEnvelope envelope, long appliedAt) => new() { AppliedAt = appliedAt, Signed = envelope };

    public static LedgerTx FromProtocol<T>(string type, T body, long appliedAt) => new()
    {
        AppliedAt = appliedAt,
        Protocol = type,
        Body = JsonSerializer.SerializeToElement(body, KumoJson.Options),
    };

    /// <summary>"transfer", "lease_open", …: the signed type's short name or the protocol type. Derived, so not stored.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Kind => Protocol ?? ShortName(Signed!.Type);

    /// <summary>
    /// RFC 8785 form. Written directly (members in their canonical order: appliedAt, body, protocol, signed; and the
    /// envelope's: nonce, payload, publicKey, signature, signer, timestamp, type) rather than through a JSON tree:
    /// the sequencer does this for every transaction. A test checks it equals the generic canonicalizer's output.
    /// </summary>
    public byte[] CanonicalBytes()
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        CanonicalJson.WriteRaw(buffer, "{\"appliedAt\":");
        CanonicalJson.WriteRaw(buffer, AppliedAt.ToString(System.Globalization.CultureInfo.InvariantCulture));
        CanonicalJson.WriteRaw(buffer, ",\"body\":");
        if (Body is { } body)
        {
            CanonicalJson.Write(body, buffer);
        }
        else
        {
            CanonicalJson.WriteRaw(buffer, "null");
        }

        CanonicalJson.WriteRaw(buffer, ",\"protocol\":");
        if (Protocol is { } protocol)
        {
            CanonicalJson.WriteString(protocol, buffer);
        }
        else
        {
            CanonicalJson.WriteRaw(buffer, "null");
        }

        CanonicalJson.WriteRaw(buffer, ",\"signed\":");
        if (Signed is { } e)
        {
            CanonicalJson.WriteRaw(buffer, "{\"nonce\":");
            CanonicalJson.WriteRaw(buffer, CheckSafe(e.Nonce).ToString(System.Globalization.CultureInfo.InvariantCulture));
            CanonicalJson.WriteRaw(buffer, ",\"payload\":");
            CanonicalJson.Write(e.Payload, buffer);
            CanonicalJson.WriteRaw(buffer, ",\"publicKey\":");
            CanonicalJson.WriteString(e.PublicKey, buffer);
            CanonicalJson.WriteRaw(buffer, ",\"signature\":");
            CanonicalJson.WriteString(e.Signature, buffer);
            CanonicalJson.WriteRaw(buffer, ",\"signer\":");
            CanonicalJson.WriteString(e.Signer.Value, buffer);
            CanonicalJson.WriteRaw(buffer, ",\"timestamp\":");
            CanonicalJson.WriteRaw(buffer, CheckSafe(e.Timestamp).ToString(System.Globalization.CultureInfo.InvariantCulture));
            CanonicalJson.WriteRaw(buffer, ",\"type\":");
            CanonicalJson.WriteString(e.Type, buffer);
            CanonicalJson.WriteRaw(buffer, "}");
        }
        else
        {
            CanonicalJson.WriteRaw(buffer, "null");
        }

        CanonicalJson.WriteRaw(buffer, "}");
        CheckSafe(AppliedAt);
        return buffer.WrittenSpan.ToArray();
    }

    private static long CheckSafe(long value) =>
        value is > CanonicalJson.MaxSafeInteger or < -CanonicalJson.MaxSafeInteger
            ? throw new CanonicalJsonException($"integer {value} is outside ±(2^53−1) and would not survive as a JSON number")
            : value;

    public static byte[] HashOf(ReadOnlySpan<byte> canonicalBytes) => SHA256.HashData(canonicalBytes);

    /// <summary>Reads a stored transaction, insisting the bytes are exactly its canonical form.</summary>
    public static LedgerTx Parse(ReadOnlySpan<byte> stored)
    {
        LedgerTx tx = JsonSerializer.Deserialize<LedgerTx>(stored, KumoJson.Options) ?? throw new JsonException("transaction is null");
        if ((tx.Signed is null) == (tx.Protocol is null) || (tx.Protocol is null) != (tx.Body is null))
        {
            throw new JsonException("a transaction is either signed or a protocol rule with a body");
        }

        if (!stored.SequenceEqual(tx.CanonicalBytes()))
        {
            throw new JsonException("the stored transaction is not in canonical form (it was edited)");
        }

        return tx;
    }

    /// <summary>Every signature the transaction relies on, so a replay can check them all (in parallel) before applying.</summary>
    public IEnumerable<SignedEnvelope> RequiredSignatures()
    {
        if (Signed is { } signed)
        {
            yield return signed;
            if (signed.Type == LedgerMessageTypes.SlashReport && TryRead(signed, out SlashReportPayload? report))
            {
                foreach (SignedEnvelope evidence in report.Evidence)
                {
                    yield return evidence;
                }
            }
            else if (signed.Type == LedgerMessageTypes.ValidationReward && TryRead(signed, out ValidationRewardPayload? reward))
            {
                yield return reward.Report;
                if (reward.Acceptance is { } acceptance)
                {
                    yield return acceptance;
                }
            }
        }
        else if (Protocol == ProtocolTypes.LeaseOpen && Body is { } body && TryRead(body, out LeaseOpenBody? open))
        {
            yield return open.Acceptance;
        }
    }

    public T ReadBody<T>() => Body!.Value.Deserialize<T>(KumoJson.Options) ?? throw new JsonException($"{Protocol} body is null");

    private static bool TryRead<T>(SignedEnvelope envelope, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value) =>
        TryRead(envelope.Payload, out value);

    private static bool TryRead<T>(JsonElement element, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? value)
    {
        try
        {
            value = element.Deserialize<T>(KumoJson.Options);
            return value is not null;
        }
        catch (JsonException)
        {
            value = default;
            return false;
        }
    }

    private static string ShortName(string type)
    {
        if (type == MessageTypes.JobSubmit)
        {
            return "escrow_lock";
        }

        int dot = type.LastIndexOf('.');
        int slash = type.IndexOf('/', StringComparison.Ordinal);
        return dot >= 0 && slash > dot ? type[(dot + 1)..slash] : type;
    }

    public override string ToString() => Encoding.UTF8.GetString(CanonicalBytes());
}
