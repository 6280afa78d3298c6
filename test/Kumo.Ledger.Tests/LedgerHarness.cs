using System.Text.Json;
using Kumo.Crypto;
using Kumo.Jobs;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>A ledger in memory with a clock the test moves, accounts with keys, and helpers that sign as they would.</summary>
public sealed class LedgerHarness
{
    private readonly Dictionary<AccountId, NonceClock> _nonces = [];
    private readonly List<StoredBlock> _blocks = [];

    public LedgerHarness(Genesis? genesis = null)
    {
        Genesis = genesis ?? Genesis.Devnet(Start);
        Producer = BlockProducer.Start(Genesis);
        Now = Genesis.Time;
    }

    public static long Start { get; } = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();

    public Genesis Genesis { get; }

    public BlockProducer Producer { get; }

    public LedgerState State => Producer.State;

    public long Now { get; set; }

    public IReadOnlyList<StoredBlock> Blocks => _blocks;

    public void Advance(TimeSpan by) => Now += (long)by.TotalMilliseconds;

    public SignedEnvelope Sign<T>(AccountKey key, string type, T payload) => SignAt(key, type, payload, Now);

    /// <summary>Signs with a timestamp of the test's choosing (a fresh nonce all the same).</summary>
    public SignedEnvelope SignAt<T>(AccountKey key, string type, T payload, long timestamp) =>
        SignedEnvelope.Create(key, type, payload, NextNonce(key), DateTimeOffset.FromUnixTimeMilliseconds(timestamp));

    public long NextNonce(AccountKey key)
    {
        if (!_nonces.TryGetValue(key.AccountId, out NonceClock? clock))
        {
            clock = new NonceClock(new Fixed(this));
            _nonces[key.AccountId] = clock;
        }

        return clock.Next();
    }

    /// <summary>Signs with a nonce of the test's choosing (to reuse one).</summary>
    public static SignedEnvelope SignWithNonce<T>(AccountKey key, string type, T payload, long nonce, long timestamp) =>
        SignedEnvelope.Create(key, type, payload, nonce, DateTimeOffset.FromUnixTimeMilliseconds(timestamp));

    /// <summary>
    /// An envelope for a payload that cannot be signed — an integer beyond 2^53 − 1 has no canonical JSON — with an empty
    /// signature. The ledger leaves signatures to its caller, so this shows what its own rules say of such a value.
    /// </summary>
    public SignedEnvelope Unsigned<T>(AccountKey key, string type, T payload)
    {
        return new SignedEnvelope
        {
            Type = type,
            Signer = key.AccountId,
            PublicKey = key.PublicKey.Text,
            Nonce = NextNonce(key),
            Timestamp = Now,
            Payload = JsonSerializer.SerializeToElement(payload, Kumo.Serialization.KumoJson.Options),
            Signature = "",
        };
    }

    /// <summary>Signs, or builds an <see cref="Unsigned{T}"/> envelope when an amount is too large to be signed.</summary>
    public SignedEnvelope SignAmount<T>(AccountKey key, string type, T payload, long amount) =>
        amount is > Amounts.MaxAmount or < -Amounts.MaxAmount ? Unsigned(key, type, payload) : Sign(key, type, payload);

    public ApplyResult Submit(SignedEnvelope envelope) => Producer.Add(LedgerTx.FromSigned(envelope, Now), out _);

    public ApplyResult Protocol<T>(string type, T body) => Producer.Add(LedgerTx.FromProtocol(type, body, Now), out _);

    public ApplyResult Send<T>(AccountKey key, string type, T payload) => Submit(Sign(key, type, payload));

    public ApplyResult Faucet(AccountKey key, long kumo) => Send(key, LedgerMessageTypes.Faucet, new FaucetPayload(kumo * Amounts.MicrosPerKumo));

    public StoredBlock Seal()
    {
        StoredBlock block = Producer.Seal(Now);
        _blocks.Add(block);
        return block;
    }

    public long Balance(AccountKey key) => State.Balance(LedgerAddress.User(key.AccountId));

    /// <summary>A job submission (the escrow lock) with the given max price (KUMO/h) and timeout.</summary>
    public SignedEnvelope Submission(AccountKey tenant, decimal maxPerHour, string timeout = "1h", string name = "job")
    {
        string yaml = $"version: kumo/v1\nname: {name}\nresources: {{ cpu: 1, memory: 64Mi, disk: 16Mi }}\nworkload:\n  exec: {{ command: /bin/true }}\nprice: {{ maxPerHour: {maxPerHour.ToString(System.Globalization.CultureInfo.InvariantCulture)} }}\ntimeout: {timeout}\n";
        JobSpecReadResult read = JobSpecReader.Read(yaml, "t.yaml");
        Assert.True(read.Succeeded, read.ToString());
        using JsonDocument spec = JsonDocument.Parse(JobSpecWriter.ToJson(read.Spec));
        return Sign(tenant, MessageTypes.JobSubmit, new JobSubmission(spec.RootElement.Clone()));
    }

    /// <summary>A job submission with the price in µKUMO/h and the timeout in seconds (as the CLI's wire form carries them).</summary>
    public SignedEnvelope SubmissionMicros(AccountKey tenant, long maxPerHourMicros, long timeoutSeconds, string name = "job") =>
        Sign(tenant, MessageTypes.JobSubmit, new JobSubmission(SpecJson(maxPerHourMicros, timeoutSeconds, name)));

    /// <summary>
    /// The wire form of a small job spec. Values the reader would refuse (a zero price, a timeout of 0 s) are written
    /// into the JSON as they are, so the ledger's own check of the spec is what refuses them.
    /// </summary>
    public static JsonElement SpecJson(long maxPerHourMicros, long timeoutSeconds, string name = "job")
    {
        string yaml = $"version: kumo/v1\nname: {name}\nresources: {{ cpu: 1, memory: 64Mi, disk: 16Mi }}\nworkload:\n  exec: {{ command: /bin/true }}\nprice: {{ maxPerHour: 1u }}\ntimeout: 1s\n";
        JobSpecReadResult read = JobSpecReader.Read(yaml, "t.yaml");
        Assert.True(read.Succeeded, read.ToString());
        System.Text.Json.Nodes.JsonObject wire = JobSpecWriter.ToJsonObject(read.Spec);
        wire["price"]!["maxPerHour"] = maxPerHourMicros.ToString(System.Globalization.CultureInfo.InvariantCulture) + "u";
        wire["timeout"] = timeoutSeconds;
        using JsonDocument spec = JsonDocument.Parse(wire.ToJsonString());
        return spec.RootElement.Clone();
    }

    /// <summary>The provider's signed acceptance of a lease at a price.</summary>
    public SignedEnvelope Acceptance(AccountKey provider, string lease, string order, string submissionDigest, long pricePerHour) =>
        Sign(provider, MessageTypes.LeaseAccept, new LeaseAcceptance(lease, order, submissionDigest, pricePerHour));

    /// <summary>A valid account id nobody in the test holds a key for.</summary>
    public static string UnknownAccount(byte seed)
    {
        Span<byte> hash = stackalloc byte[20];
        hash.Fill(seed);
        return Kumo.Codecs.Bech32.Encode(AccountId.Prefix, hash);
    }

    /// <summary>Locks an escrow and opens a lease at <paramref name="pricePerHour"/> µKUMO/h; returns (orderId, leaseId).</summary>
    public (string Order, string Lease) OpenLease(AccountKey tenant, AccountKey provider, decimal maxPerHour, long pricePerHour, string timeout = "1h",
        int? replicationFeeBps = null)
    {
        SignedEnvelope submission = Submission(tenant, maxPerHour, timeout);
        Assert.True(Submit(submission).Applied);
        string order = OrderIds.FromSubmissionDigest(submission.Digest());
        string lease = "l-" + Guid.NewGuid().ToString("N")[..16];
        SignedEnvelope acceptance = Sign(provider, MessageTypes.LeaseAccept, new LeaseAcceptance(lease, order, submission.Digest(), pricePerHour, replicationFeeBps));
        ApplyResult opened = Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, lease, Now, acceptance));
        Assert.True(opened.Applied, opened.Error);
        return (order, lease);
    }

    public AuditReport Audit(bool compareLive = true) =>
        new Auditor().Run(new Source(StoredGenesis, _blocks, compareLive ? State.StateLines() : null));

    /// <summary>The genesis exactly as a hub stores it.</summary>
    public byte[] StoredGenesis => BlockProducer.StoredGenesis(Genesis);

    public sealed record Source(byte[] Genesis, IReadOnlyList<StoredBlock> Stored, IReadOnlyList<string>? LiveState) : IBlockSource
    {
        public IEnumerable<StoredBlock> Blocks() => Stored;
    }

    private sealed class Fixed(LedgerHarness harness) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(harness.Now);
    }
}
