using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Kumo.Client;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Hub.Tests.Support;

/// <summary>
/// A provider spoken at the socket level, so a test decides exactly what it says and when: accept or not,
/// heartbeat or fall silent, report a lying result. For fault injection only; happy paths also run against
/// the real agent in the integration tests.
/// </summary>
public sealed class FakeProvider : IAsyncDisposable
{
    private readonly TimeProvider _clock;
    private readonly ClientWebSocket _socket;
    private readonly Channel<ChannelMessage> _inbox = Channel.CreateUnbounded<ChannelMessage>();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly Task _receiving;
    private readonly Dictionary<string, Allocation> _held = new(StringComparer.Ordinal);
    private long _heartbeats;
    private int _stateReveals;

    private FakeProvider(RequestSigner signer, ClientWebSocket socket, string name, ProviderRegistration registration, bool autoBid, TimeProvider clock)
    {
        _clock = clock;
        Signer = signer;
        _socket = socket;
        Name = name;
        Registration = registration;
        AutoBid = autoBid;
        _receiving = ReceiveLoopAsync();
    }

    public ProviderRegistration Registration { get; }

    /// <summary>
    /// Answer bid requests at once with what the market's own bid engine quotes for this machine (as if idle), so tests
    /// about leases need not play the auction by hand. Bid requests still reach <see cref="ExpectAsync{T}"/>.
    /// </summary>
    public bool AutoBid { get; set; }

    /// <summary>
    /// How it answers the hub's requests for a kept training state (spot checks of one commit interval), at once. The
    /// default keeps no states, as an agent whose states are gone: the hub checks from the checkpoint instead.
    /// </summary>
    public Func<StateRevealRequest, Task<StateRevelation>> RevealState { get; set; } =
        request => Task.FromResult(new StateRevelation(request.RequestId, null, "this fake provider keeps no states"));

    /// <summary>State reveal requests it answered.</summary>
    public int StateReveals => Volatile.Read(ref _stateReveals);

    /// <summary>Bids this provider sent automatically.</summary>
    public List<BidPayload> SentBids { get; } = [];

    public RequestSigner Signer { get; }

    public string Name { get; }

    public string Id => Signer.AccountId.Value;

    public static HardwareInventory Inventory(int cores = 4, long memory = 8L << 30, params GpuDevice[] gpus) =>
        new(new CpuInfo("Test CPU", cores, cores), memory, 100L << 30, gpus, "test OS", "x64");

    public static GpuDevice Gpu(int index, string model, long vramGiB, bool simulated = true) =>
        new(index, "nvidia", model, vramGiB << 30, $"GPU-test-{Guid.NewGuid():N}", "550.54", "12.4", null, simulated);

    /// <summary>Registers and opens the control channel (challenge, signed hello, welcome).</summary>
    public static async Task<FakeProvider> JoinAsync(HubFixture hub, string name = "fake", HardwareInventory? inventory = null, ProviderPricing? pricing = null,
        bool autoBid = true, Func<ProviderRegistration, ProviderRegistration>? registration = null)
    {
        RequestSigner signer = HubFixture.NewSigner();
        var registered = new ProviderRegistration(name, inventory ?? Inventory(), "fake", pricing ?? ProviderPricing.Default, "test");
        registered = registration?.Invoke(registered) ?? registered;
        await hub.Client.RegisterProviderAsync(signer, registered);
        return await ConnectAsync(hub, signer, name, registered, autoBid);
    }

    /// <summary>The same provider (same key, already registered) on a new channel, as an agent restarted after a crash.</summary>
    public static Task<FakeProvider> ReconnectAsync(HubFixture hub, FakeProvider crashed) =>
        ConnectAsync(hub, crashed.Signer, crashed.Name, crashed.Registration, crashed.AutoBid);

    private static async Task<FakeProvider> ConnectAsync(HubFixture hub, RequestSigner signer, string name, ProviderRegistration registered, bool autoBid)
    {
        var socket = new ClientWebSocket();
        await socket.ConnectAsync(hub.Client.ChannelUri, CancellationToken.None);
        ChannelMessage challenge = (await ChannelFraming.ReceiveAsync(socket, CancellationToken.None))!;
        Assert.Equal(ChannelMessageTypes.Challenge, challenge.Type);
        string nonce = challenge.Body.Deserialize<ChannelChallenge>(KumoJson.Options)!.Nonce;
        await ChannelFraming.SendAsync(socket, ChannelFraming.Create(ChannelMessageTypes.Hello,
            signer.Sign(MessageTypes.ChannelHello, new ChannelHello(nonce))), CancellationToken.None);
        ChannelMessage welcome = (await ChannelFraming.ReceiveAsync(socket, CancellationToken.None))!;
        Assert.True(welcome.Type == ChannelMessageTypes.Welcome, $"expected a welcome, got {welcome.Type}: {welcome.Body}");
        return new FakeProvider(signer, socket, name, registered, autoBid, hub.Clock);
    }

    /// <summary>The next message of any type, or null when none arrives within <paramref name="timeout"/>.</summary>
    public async Task<ChannelMessage?> ReceiveAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await _inbox.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The next message of <paramref name="type"/>; other messages before it are skipped.</summary>
    public async Task<T> ExpectAsync<T>(string type, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        try
        {
            while (true)
            {
                ChannelMessage message = await _inbox.Reader.ReadAsync(cts.Token);
                if (message.Type == type)
                {
                    return message.Body.Deserialize<T>(KumoJson.Options)!;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"provider {Name} got no '{type}' message within {(timeout ?? TimeSpan.FromSeconds(10)).TotalSeconds} s");
        }
    }

    public Task HeartbeatAsync(params string[] running) =>
        SendSignedAsync(ChannelMessageTypes.Heartbeat, MessageTypes.ProviderHeartbeat, new Heartbeat(Interlocked.Increment(ref _heartbeats), running));

    public Task AcceptAsync(LeaseOffer offer) =>
        SendSignedAsync(ChannelMessageTypes.LeaseAccept, MessageTypes.LeaseAccept, offer.Acceptance());

    public Task RejectAsync(LeaseOffer offer, string reason) =>
        Release(offer.LeaseId).SendSignedAsync(ChannelMessageTypes.LeaseReject, MessageTypes.LeaseReject, new LeaseRejection(offer.LeaseId, reason));

    public Task StartedAsync(string leaseId) => SendAsync(ChannelMessageTypes.LeaseStarted, new LeaseStarted(leaseId));

    public Task LogsAsync(string leaseId, long firstSeq, params string[] lines) =>
        SendAsync(ChannelMessageTypes.LeaseLogs, new LeaseLogBatch(leaseId, firstSeq,
            [.. lines.Select(l => new LeaseLogLine(LogStream.Stdout, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), l))]));

    public Task ResultAsync(string leaseId, CloseReason reason, int? exitCode, params OutputFile[] outputs) =>
        Release(leaseId).SendSignedAsync(ChannelMessageTypes.LeaseResult, MessageTypes.LeaseResult,
            new LeaseResult(leaseId, reason, exitCode, reason.ToString(), outputs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));

    /// <summary>Forgets a lease's allocation (its capacity may be bid again).</summary>
    public FakeProvider Release(string leaseId)
    {
        lock (_held)
        {
            _held.Remove(leaseId);
        }

        return this;
    }

    public Task SendSignedAsync<T>(string channelType, string messageType, T payload) =>
        SendAsync(channelType, Signer.Sign(messageType, payload));

    public async Task SendAsync<T>(string type, T body)
    {
        await _sendLock.WaitAsync();
        try
        {
            await ChannelFraming.SendAsync(_socket, ChannelFraming.Create(type, body), CancellationToken.None);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    /// <summary>Drops the connection without a close handshake, as a crashed machine would.</summary>
    public void Crash()
    {
        _stop.Cancel();
        _socket.Abort();
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Abort();
        try
        {
            await _receiving;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Closing (an automatic bid may have raced the abort).
        }

        _socket.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            ChannelMessage? message = await ChannelFraming.ReceiveAsync(_socket, _stop.Token);
            if (message is null)
            {
                _inbox.Writer.TryComplete();
                return;
            }

            if (message.Type == ChannelMessageTypes.LeaseOffer)
            {
                LeaseOffer offer = message.Body.Deserialize<LeaseOffer>(KumoJson.Options)!;
                lock (_held)
                {
                    _held[offer.LeaseId] = offer.Allocation;
                }
            }

            if (message.Type == ChannelMessageTypes.StateReveal)
            {
                StateRevealRequest request = message.Body.Deserialize<StateRevealRequest>(KumoJson.Options)!;
                _ = Task.Run(async () =>
                {
                    await SendAsync(ChannelMessageTypes.StateRevealed, await RevealState(request));
                    Interlocked.Increment(ref _stateReveals);
                });
                continue;
            }

            if (AutoBid && message.Type == ChannelMessageTypes.BidRequest)
            {
                await BidAsync(message.Body.Deserialize<BidRequest>(KumoJson.Options)!);
            }

            await _inbox.Writer.WriteAsync(message);
        }
    }

    /// <summary>Bids on <paramref name="request"/> with the market's quote for this machine, or declines.</summary>
    public async Task<BidPayload?> BidAsync(BidRequest request, long? price = null)
    {
        JobSpec spec = JobSpecReader.ReadWireForm(request.Submission.PayloadAs<JobSubmission>().Spec.GetRawText(), "spec").Spec!;
        OrderRequest order = ProtocolMapping.ToProviderView(ProtocolMapping.ToOrder(request.OrderId, spec));
        MarketProvider self = ProtocolMapping.ToMarketProvider(Id, Registration);
        List<Allocation> held;
        lock (_held)
        {
            held = [.. _held.Values];
        }

        var used = held.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        var free = new FreeCapacity(self.CpuMillicores - held.Sum(a => a.CpuMillicores), self.MemoryBytes - held.Sum(a => a.MemoryBytes),
            self.DiskBytes - held.Sum(a => a.DiskBytes), self.Gpus.Select(g => g.Uuid).Where(u => !used.Contains(u)).ToHashSet(StringComparer.Ordinal));
        long now = _clock.GetUtcNow().ToUnixTimeMilliseconds(); // the hub's clock: a test that moves it must not expire the fake's bids
        Bid? quote = BidEngine.Quote(self, order, new LocalMarketView(Id, free, request.MarketPrices), now, request.BidTtlMs,
            "b-" + Guid.NewGuid().ToString("N")[..12]);
        if (quote is null)
        {
            await SendAsync(ChannelMessageTypes.BidDecline, new BidDecline(request.OrderId, "the fake cannot host it"));
            return null;
        }

        var bid = new BidPayload(quote.Id, request.OrderId, [.. quote.Nodes.Select(ProtocolMapping.ToAllocation)], price ?? quote.PricePerHour, quote.ExpiresAt);
        lock (SentBids)
        {
            SentBids.Add(bid);
        }

        await SendSignedAsync(ChannelMessageTypes.Bid, MessageTypes.MarketBid, bid);
        return bid;
    }
}
