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

    public SignedEnvelope Sign<T>(AccountKey key, string type, T payload)
    {
        if (!_nonces.TryGetValue(key.AccountId, out NonceClock? clock))
        {
            clock = new NonceClock(new Fixed(this));
            _nonces[key.AccountId] = clock;
        }

        return SignedEnvelope.Create(key, type, payload, clock.Next(), DateTimeOffset.FromUnixTimeMilliseconds(Now));
    }

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

    /// <summary>Locks an escrow and opens a lease at <paramref name="pricePerHour"/> µKUMO/h; returns (orderId, leaseId).</summary>
    public (string Order, string Lease) OpenLease(AccountKey tenant, AccountKey provider, decimal maxPerHour, long pricePerHour, string timeout = "1h")
    {
        SignedEnvelope submission = Submission(tenant, maxPerHour, timeout);
        Assert.True(Submit(submission).Applied);
        string order = OrderIds.FromSubmissionDigest(submission.Digest());
        string lease = "l-" + Guid.NewGuid().ToString("N")[..16];
        SignedEnvelope acceptance = Sign(provider, MessageTypes.LeaseAccept, new LeaseAcceptance(lease, order, submission.Digest(), pricePerHour));
        ApplyResult opened = Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, lease, Now, acceptance));
        Assert.True(opened.Applied, opened.Error);
        return (order, lease);
    }

    public AuditReport Audit(bool compareLive = true) =>
        new Auditor().Run(new Source(BlockProducer.StoredGenesis(Genesis), _blocks, compareLive ? State.StateLines() : null));

    public sealed record Source(byte[] Genesis, IReadOnlyList<StoredBlock> Stored, IReadOnlyList<string>? LiveState) : IBlockSource
    {
        public IEnumerable<StoredBlock> Blocks() => Stored;
    }

    private sealed class Fixed(LedgerHarness harness) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => DateTimeOffset.FromUnixTimeMilliseconds(harness.Now);
    }
}
