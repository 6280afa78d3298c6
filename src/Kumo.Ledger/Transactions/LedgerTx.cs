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

    /// <summary>"transfer", "lease_open", …: the signed type's short name or the protocol type.</summary>
    public string Kind => Protocol ?? ShortName(Signed!.Type);

    public byte[] CanonicalBytes() => CanonicalJson.Serialize(this, KumoJson.Options);

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
