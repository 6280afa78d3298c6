using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text.Json;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Ledger;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Provider.Control;
using Kumo.Provider.Leases;
using Kumo.Provider.Market;
using Kumo.Provider.Network;
using Kumo.Provider.Pricing;
using Kumo.Provider.Sandbox;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider;

/// <summary>
/// The provider agent: registers the machine with a hub, keeps a control channel open (reconnecting with
/// backoff), sends signed heartbeats, and runs the leases it is offered in the sandbox. It checks every offer
/// itself — the tenant's signature on the job, the spec, and its own free capacity — before signing an acceptance.
/// </summary>
public sealed class ProviderAgent : IAsyncDisposable
{
    private readonly ProviderAgentOptions _options;
    private readonly ISandbox _sandbox;
    private readonly TimeProvider _time;
    private readonly ILogger<ProviderAgent> _logger;
    private readonly AccountKey _key;
    private readonly RequestSigner _signer;
    private readonly HubClient _hub;
    private readonly HubChannel _channel;
    private readonly ConcurrentDictionary<string, LeaseRunner> _running = new(StringComparer.Ordinal);
    private readonly object _capacityLock = new();
    private readonly Reservations _reservations = new();
    private readonly BidResponder _bids;
    private readonly PeerProber _prober = new();
    private readonly Verification.HardwareProofResponder _hardware;
    private readonly Verification.ProofDevices _proofDevices;
    private readonly bool _ownsProofDevices;
    private readonly Verification.ValidatorWorker? _validator;
    private readonly Verification.DisputeResponder _disputes;
    private readonly Verification.RetainedStates _retained;
    private readonly Verification.StateRevealer _revealer;
    private readonly BuiltInRuntime? _runtime;
    private ProbeListener? _probes;
    private long _heartbeatSeq;

    public ProviderAgent(ProviderAgentOptions options, ISandbox sandbox, TimeProvider time, ILoggerFactory loggers)
    {
        _options = options;
        _sandbox = sandbox;
        _time = time;
        _logger = loggers.CreateLogger<ProviderAgent>();
        Directory.CreateDirectory(options.DataDirectory);
        _key = KeyFile.LoadOrCreate(Path.Combine(options.DataDirectory, "provider-key.json"), out _);
        _signer = new RequestSigner(_key, time);
        _hub = new HubClient(options.HubUrl);
        _channel = new HubChannel(_signer);
        _ownsProofDevices = options.ProofDevices is null;
        _proofDevices = options.ProofDevices ?? Verification.ProofDevices.For(options.Inventory);
        _hardware = new Verification.HardwareProofResponder(_channel, options.Inventory, _proofDevices, time, _logger);
        var cache = new Verification.ContentCache(_hub, Path.Combine(options.DataDirectory, "validation-cache"));
        _validator = options.Validate ? new Verification.ValidatorWorker(_channel, cache, options.ValidatorBehavior, _logger) : null;
        _disputes = new Verification.DisputeResponder(_channel, _hub, _signer, _key, cache, options.ValidatorBehavior, time, _logger);
        _retained = new Verification.RetainedStates(Path.Combine(options.DataDirectory, "retained-states"), time);
        _revealer = new Verification.StateRevealer(_channel, _hub, _signer, _retained, _logger);
        _runtime = BuiltInRuntime.Locate(options.RuntimeDirectory);
        IPricingPolicy pricing = options.PricingScript is { } script
            ? new ScriptPricing(script, sandbox, Path.Combine(options.DataDirectory, "pricing"), options.Pricing.FloorPerHourMicros) { Timeout = options.PricingScriptTimeout }
            : new LinearPricing(options.Pricing);
        _bids = new BidResponder(_key.AccountId, options.Inventory, Registration(), pricing, _reservations, time)
        {
            Running = () => [.. _running.Values.Select(r => r.Allocation)],
        };
    }

    /// <summary>Bids outstanding (capacity promised to orders that have not chosen yet).</summary>
    public int OutstandingBids => _reservations.Count;

    public AccountId AccountId => _key.AccountId;

    /// <summary>Leases running now.</summary>
    public IReadOnlyCollection<string> RunningLeases => [.. _running.Keys];

    /// <summary>Raised once the agent is registered and connected (for progress displays and tests).</summary>
    public event Action<ChannelWelcome>? Connected;

    /// <summary>Runs until cancelled. Connection failures are retried forever with backoff; leases keep running across them.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        RemoveStaleLeaseDirectories();
        StartProbeListener();
        // The first challenge comes on joining and is timed: load CUDA contexts and kernels and compile the proof's
        // code paths now, not against the deadline.
        await Task.Run(() => _proofDevices.WarmUp(_options.Inventory, _logger), cancellationToken);
        TimeSpan delay = TimeSpan.FromMilliseconds(250);
        bool registered = false;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (!registered)
                {
                    await RegisterAsync(cancellationToken);
                    await EnsureStakeAsync(cancellationToken);
                    registered = true;
                }

                (ClientWebSocket socket, ChannelWelcome welcome) = await _channel.ConnectAsync(_hub.ChannelUri, cancellationToken);
                using (socket)
                {
                    delay = TimeSpan.FromMilliseconds(250);
                    _logger.LogInformation("connected to {Hub} as {Id}; heartbeat every {Interval} ms", _options.HubUrl, AccountId, welcome.HeartbeatIntervalMs);
                    Connected?.Invoke(welcome);
                    _validator?.Join();
                    using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    Task heartbeats = HeartbeatLoopAsync(TimeSpan.FromMilliseconds(welcome.HeartbeatIntervalMs), connection.Token);
                    Task stake = StakeLoopAsync(connection.Token);
                    try
                    {
                        await _channel.PumpAsync(socket, OnMessageAsync, connection.Token);
                    }
                    finally
                    {
                        await connection.CancelAsync();
                        await heartbeats.ContinueWith(_ => { }, TaskScheduler.Default);
                        await stake.ContinueWith(_ => { }, TaskScheduler.Default);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (HubRefusedException e) when (e.Code == "unknown_provider")
            {
                _logger.LogWarning("the hub does not know this provider (its data was reset?); registering again");
                registered = false;
            }
            catch (Exception e) when (e is WebSocketException or HubUnreachableException or HubApiException or HubRefusedException or IOException or HttpRequestException or OperationCanceledException)
            {
                _logger.LogWarning("hub connection lost or refused ({Error}); retrying in {Delay} ms", e.Message, (int)delay.TotalMilliseconds);
            }

            try
            {
                await Task.Delay(delay, _time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, _options.MaxReconnectDelay.TotalMilliseconds));
        }

        foreach (LeaseRunner runner in _running.Values)
        {
            await runner.CancelAsync();
        }

        if (_probes is not null)
        {
            await _probes.DisposeAsync();
            _probes = null;
        }
    }

    /// <summary>Answers peers' probes on the probe address; a machine that cannot bind it still works, unmeasured.</summary>
    private void StartProbeListener()
    {
        if (_options.ProbeAddress.Length == 0 || _probes is not null)
        {
            return;
        }

        try
        {
            _probes = ProbeListener.Start(_options.ProbeAddress, _logger);
            _logger.LogInformation("answering peer probes on {Address}", _probes.Endpoint);
        }
        catch (Exception e) when (e is ArgumentException or SocketException)
        {
            _logger.LogWarning("cannot answer peer probes on {Address} ({Error}); the network will not measure this machine's latency and bandwidth",
                _options.ProbeAddress, e.Message);
        }
    }

    /// <summary>The probe address as configured, with the real port when port 0 (any free port) was asked for; "" when not listening.</summary>
    private string AdvertisedProbeAddress()
    {
        if (_probes is null)
        {
            return "";
        }

        string configured = _options.ProbeAddress;
        return configured.EndsWith(":0", StringComparison.Ordinal)
            ? string.Create(CultureInfo.InvariantCulture, $"{configured[..^2]}:{_probes.Endpoint.Port}")
            : configured;
    }

    /// <summary>Measures the paths the hub asked about and reports them.</summary>
    private async Task AnswerProbeAsync(NetProbeRequest request)
    {
        try
        {
            IReadOnlyList<PeerMeasurement> measured = await _prober.MeasureAsync([.. request.Targets.Take(32)], CancellationToken.None);
            _channel.Send(ChannelMessageTypes.NetReport, new NetProbeReport(measured));
        }
        catch (Exception e) when (e is InvalidOperationException or WebSocketException or IOException)
        {
            _logger.LogDebug("could not report probes: {Error}", e.Message);
        }
    }

    /// <summary>No lease survives an agent restart (the hub closes them as unstable), so their directories can go.</summary>
    private void RemoveStaleLeaseDirectories()
    {
        string leases = Path.Combine(_options.DataDirectory, "leases");
        if (!Directory.Exists(leases) || _options.KeepLeaseDirectories)
        {
            return;
        }

        foreach (string directory in Directory.EnumerateDirectories(leases))
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _logger.LogWarning("could not remove stale lease directory {Directory}: {Error}", directory, e.Message);
            }
        }
    }

    private ProviderRegistration Registration() =>
        new(_options.Name, _options.Inventory, _sandbox.Name, _options.Pricing, _options.AgentVersion)
        {
            Region = _options.Region,
            LatencyZone = _options.LatencyZone,
            PerformanceTier = _options.PerformanceTier,
            Address = _options.Address,
            ProbeAddress = AdvertisedProbeAddress(),
        };

    private async Task RegisterAsync(CancellationToken cancellationToken)
    {
        ProviderRegistration registration = Registration();
        await _hub.RegisterProviderAsync(_signer, registration, cancellationToken);
        _logger.LogInformation("registered {Name} ({Id}) with {Hub}: {Cores} cores, {Memory} MiB, {Gpus}",
            _options.Name, AccountId, _options.HubUrl, _options.Inventory.Cpu.LogicalCores, _options.Inventory.MemoryBytes >> 20,
            _options.Inventory.Gpus.Count == 0 ? "no GPU" : string.Join(", ", _options.Inventory.Gpus.Select(g => g.Model + (g.Simulated ? " (simulated)" : ""))));
    }

    /// <summary>Bonds what the network requires for this machine (minimum per device × devices) if less is bonded.</summary>
    private async Task EnsureStakeAsync(CancellationToken cancellationToken)
    {
        if (!_options.EnsureStake)
        {
            return;
        }

        LedgerSummary rules = await _hub.GetLedgerSummaryAsync(cancellationToken);
        long required = rules.MinBondPerDevice * Math.Max(1, _options.Inventory.Gpus.Count);
        AccountView account = await _hub.GetAccountAsync(AccountId.Value, cancellationToken);
        long missing = required - account.Bonded;
        if (missing <= 0)
        {
            return;
        }

        if (account.Balance < missing && _options.UseFaucet)
        {
            await _hub.SubmitLedgerAsync(_signer, LedgerMessageTypes.Faucet, new FaucetPayload(missing - account.Balance), cancellationToken);
            account = await _hub.GetAccountAsync(AccountId.Value, cancellationToken);
        }

        if (account.Balance < missing)
        {
            _logger.LogWarning("the network requires {Required} bonded for this machine; {Bonded} is bonded and the wallet holds {Balance}: no work will be offered until it is (kumo wallet bond)",
                Amounts.Format(required), Amounts.Format(account.Bonded), Amounts.Format(account.Balance));
            return;
        }

        await _hub.SubmitLedgerAsync(_signer, LedgerMessageTypes.Bond, new BondPayload(missing), cancellationToken);
        _logger.LogInformation("bonded {Amount} (the network's minimum for {Devices} device(s))", Amounts.Format(missing), Math.Max(1, _options.Inventory.Gpus.Count));
    }

    /// <summary>
    /// A slash (a fault, a proven cheat) can take the bond below the network's minimum, and then the market offers this
    /// machine no work: while connected, the agent checks its stake now and then and bonds what is missing.
    /// </summary>
    private async Task StakeLoopAsync(CancellationToken cancellationToken)
    {
        if (!_options.EnsureStake)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.StakeCheckInterval, _time);
        while (await timer.WaitForNextTickAsync(cancellationToken))
        {
            try
            {
                await EnsureStakeAsync(cancellationToken);
            }
            catch (Exception e) when (e is HubApiException or HubUnreachableException or HttpRequestException)
            {
                _logger.LogWarning("could not check the stake: {Error}", e.Message);
            }
        }
    }

    private async Task HeartbeatLoopAsync(TimeSpan interval, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(interval, _time);
        do
        {
            _reservations.Expire(_time.GetUtcNow().ToUnixTimeMilliseconds());
            _channel.SendSigned(ChannelMessageTypes.Heartbeat, MessageTypes.ProviderHeartbeat,
                new Heartbeat(Interlocked.Increment(ref _heartbeatSeq), [.. _running.Keys]));
        }
        while (await timer.WaitForNextTickAsync(cancellationToken));
    }

    private async Task OnMessageAsync(ChannelMessage message)
    {
        switch (message.Type)
        {
            case ChannelMessageTypes.LeaseOffer:
                HandleOffer(message.Body.Deserialize<LeaseOffer>(KumoJson.Options)!);
                break;
            case ChannelMessageTypes.BidRequest:
                BidRequest request = message.Body.Deserialize<BidRequest>(KumoJson.Options)!;
                // Pricing may run an external program: answer off the receive loop so heartbeats and offers keep flowing.
                _ = Task.Run(() => AnswerBidAsync(request));
                break;
            case ChannelMessageTypes.NetProbe:
                NetProbeRequest probe = message.Body.Deserialize<NetProbeRequest>(KumoJson.Options)!;
                _ = Task.Run(() => AnswerProbeAsync(probe));
                break;
            case ChannelMessageTypes.HardwareChallenge or ChannelMessageTypes.HardwareReveal:
                // A challenge is a large matrix multiply: off the receive loop, so heartbeats and offers keep flowing.
                ChannelMessage hw = message;
                _ = Task.Run(async () =>
                {
                    if (hw.Type == ChannelMessageTypes.HardwareChallenge)
                    {
                        await _hardware.AnswerAsync(hw.Body.Deserialize<HardwareChallengeRequest>(KumoJson.Options)!);
                    }
                    else
                    {
                        _hardware.Open(hw.Body.Deserialize<HardwareReveal>(KumoJson.Options)!);
                    }
                });
                break;
            case ChannelMessageTypes.HardwareResult:
                Verification.HardwareProofResponder.Report(message.Body.Deserialize<HardwareProofResult>(KumoJson.Options)!, _logger);
                break;
            case ChannelMessageTypes.ValidationTask when _validator is not null:
                ValidationTask task = message.Body.Deserialize<ValidationTask>(KumoJson.Options)!;
                _ = Task.Run(() => _validator.HandleAsync(task, CancellationToken.None));
                break;
            case ChannelMessageTypes.DisputeOpen:
                _disputes.Open(message.Body.Deserialize<DisputeOpening>(KumoJson.Options)!);
                break;
            case ChannelMessageTypes.DisputeQuery:
                DisputeQueryRequest query = message.Body.Deserialize<DisputeQueryRequest>(KumoJson.Options)!;
                _ = Task.Run(() => _disputes.AnswerAsync(query));
                break;
            case ChannelMessageTypes.DisputeReveal:
                DisputeRevealRequest reveal = message.Body.Deserialize<DisputeRevealRequest>(KumoJson.Options)!;
                _ = Task.Run(() => _disputes.RevealAsync(reveal));
                break;
            case ChannelMessageTypes.StateReveal:
                StateRevealRequest stateReveal = message.Body.Deserialize<StateRevealRequest>(KumoJson.Options)!;
                _ = Task.Run(() => _revealer.RevealAsync(stateReveal));
                break;
            case ChannelMessageTypes.BidLost:
                BidLost lost = message.Body.Deserialize<BidLost>(KumoJson.Options)!;
                _reservations.Release(lost.BidId);
                _logger.LogDebug("bid {Bid} for {Order} released: {Reason}", lost.BidId, lost.OrderId, lost.Reason);
                break;
            case ChannelMessageTypes.LeaseCancel:
                LeaseCancel cancel = message.Body.Deserialize<LeaseCancel>(KumoJson.Options)!;
                if (_running.TryGetValue(cancel.LeaseId, out LeaseRunner? runner))
                {
                    _logger.LogInformation("hub closed lease {Lease} ({Reason}); stopping it", cancel.LeaseId, cancel.Reason);
                    await runner.CancelAsync();
                }

                break;
            case ChannelMessageTypes.Error:
                ChannelError error = message.Body.Deserialize<ChannelError>(KumoJson.Options)!;
                _logger.LogWarning("hub refused a message: {Code}: {Message}", error.Code, error.Message);
                break;
            default:
                _logger.LogDebug("ignoring channel message {Type}", message.Type);
                break;
        }
    }

    private async Task AnswerBidAsync(BidRequest request)
    {
        BidPayload? bid;
        string? declined;
        try
        {
            (bid, declined) = await _bids.RespondAsync(request, CancellationToken.None);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "answering the bid request for {Order} failed", request.OrderId);
            (bid, declined) = (null, $"the bid engine failed: {e.Message}");
        }

        if (bid is not null)
        {
            _channel.SendSigned(ChannelMessageTypes.Bid, MessageTypes.MarketBid, bid);
            _logger.LogInformation("bid {Bid} for {Order}: {Nodes} node(s) at {Price} µKUMO/h", bid.BidId, request.OrderId, bid.Nodes.Count, bid.PricePerHour);
        }
        else
        {
            _channel.Send(ChannelMessageTypes.BidDecline, new BidDecline(request.OrderId, declined ?? "no bid"));
            _logger.LogInformation("no bid for {Order}: {Reason}", request.OrderId, declined);
        }
    }

    private void HandleOffer(LeaseOffer offer)
    {
        string? refusal = Check(offer, out JobSpec? spec, out List<GpuDevice> gpus);
        if (refusal is not null || spec is null)
        {
            _logger.LogWarning("rejecting lease {Lease}: {Reason}", offer.LeaseId, refusal);
            _channel.SendSigned(ChannelMessageTypes.LeaseReject, MessageTypes.LeaseReject, new LeaseRejection(offer.LeaseId, refusal ?? "invalid offer"));
            return;
        }

        var runner = new LeaseRunner(offer, spec, gpus, _sandbox, _hub, _signer, _channel, _time, _logger,
            Path.Combine(_options.DataDirectory, "leases"), _options.KeepLeaseDirectories, _runtime, _retained, _options.WrongExecOutputs);
        lock (_capacityLock)
        {
            string? over = CapacityProblem(offer.Allocation, offer.BidId);
            if (over is not null)
            {
                _logger.LogWarning("rejecting lease {Lease}: {Reason}", offer.LeaseId, over);
                _channel.SendSigned(ChannelMessageTypes.LeaseReject, MessageTypes.LeaseReject, new LeaseRejection(offer.LeaseId, over));
                return;
            }

            // Listed as running before the acceptance is sent, so no heartbeat after it can omit the lease; the bid's
            // reservation becomes this lease.
            _running[offer.LeaseId] = runner;
            if (offer.BidId is { } bidId)
            {
                _reservations.Release(bidId);
            }
        }

        _channel.SendSigned(ChannelMessageTypes.LeaseAccept, MessageTypes.LeaseAccept, offer.Acceptance());
        if (offer.ReplicationFeeBps == 0)
        {
            _logger.LogInformation("accepted lease {Lease} for job {Job} at {Price} µKUMO/h", offer.LeaseId, offer.JobId, offer.PricePerHourMicros);
        }
        else
        {
            _logger.LogInformation("accepted lease {Lease} for job {Job} at {Price} µKUMO/h; {Fee}% of the pay funds the replicas that check it: {Why}",
                offer.LeaseId, offer.JobId, offer.PricePerHourMicros, offer.ReplicationFeeBps / 100.0, offer.ReplicationFeeReason);
        }
        _ = Task.Run(async () =>
        {
            try
            {
                await runner.RunAsync();
            }
            finally
            {
                _running.TryRemove(offer.LeaseId, out _);
            }
        });
    }

    /// <summary>Null when the offer is one this agent will run; otherwise why not.</summary>
    private string? Check(LeaseOffer offer, out JobSpec? spec, out List<GpuDevice> gpus)
    {
        spec = null;
        gpus = [];
        if (offer.Submission.Type != MessageTypes.JobSubmit || !offer.Submission.TryVerify(out string? signatureError))
        {
            return "the job's submission is not validly signed by its tenant" + (offer.Submission.Type == MessageTypes.JobSubmit ? "" : " (wrong type)");
        }

        JobSubmission submission;
        try
        {
            submission = offer.Submission.PayloadAs<JobSubmission>();
        }
        catch (JsonException e)
        {
            return $"the submission payload is malformed: {e.Message}";
        }

        JobSpecReadResult read = JobSpecReader.ReadWireForm(submission.Spec.GetRawText(), "spec");
        if (!read.Succeeded)
        {
            return $"the job spec is invalid: {read.Errors[0]}";
        }

        spec = read.Spec;
        if (offer.ReplicationFeeBps > _options.MaxReplicationFeeBps)
        {
            return $"the replication fee of {offer.ReplicationFeeBps / 100.0:0.##}% ({offer.ReplicationFeeReason}) is above this agent's limit of " +
                $"{_options.MaxReplicationFeeBps / 100.0:0.##}% (--max-replication-fee)";
        }

        if (spec.Workload.Exec is null && _runtime is null)
        {
            return $"this agent cannot run {spec.Workload.Kind} workloads (no Kumo runtime next to it)";
        }

        if (offer.Allocation.CpuMillicores < spec.Resources.CpuMillicores || offer.Allocation.MemoryBytes < spec.Resources.MemoryBytes)
        {
            return "the allocation is smaller than the job asks for";
        }

        foreach (string uuid in offer.Allocation.GpuUuids)
        {
            GpuDevice? device = _options.Inventory.Gpus.FirstOrDefault(g => g.Uuid == uuid);
            if (device is null)
            {
                return $"GPU {uuid} is not on this machine";
            }

            gpus.Add(device);
        }

        if (gpus.Count != (spec.Resources.Gpu?.Count ?? 0))
        {
            return $"the allocation has {gpus.Count} GPUs but the job asks for {spec.Resources.Gpu?.Count ?? 0}";
        }

        return null;
    }

    /// <summary>
    /// Null when the allocation fits beside the running leases and the capacity promised in other bids (the hub should
    /// never over-commit; the agent checks anyway). The offer's own bid is not counted against it.
    /// </summary>
    private string? CapacityProblem(Allocation allocation, string? bidId)
    {
        List<Allocation> held = [.. _running.Values.Select(r => r.Allocation), .. _reservations.Held(exceptBid: bidId), allocation];
        if (held.Sum(a => (long)a.CpuMillicores) > _options.Inventory.Cpu.LogicalCores * 1000L)
        {
            return "not enough free CPU on this machine";
        }

        if (held.Sum(a => a.MemoryBytes) > _options.Inventory.MemoryBytes)
        {
            return "not enough free memory on this machine";
        }

        if (held.Sum(a => a.DiskBytes) > _options.Inventory.DiskBytes)
        {
            return "not enough free disk on this machine";
        }

        List<string> gpus = [.. held.SelectMany(a => a.GpuUuids)];
        return gpus.Count != gpus.Distinct(StringComparer.Ordinal).Count() ? "a GPU of the offer is already leased or promised in another bid" : null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_probes is not null)
        {
            await _probes.DisposeAsync();
            _probes = null;
        }

        if (_ownsProofDevices)
        {
            _proofDevices.Dispose();
        }

        _hub.Dispose();
        _key.Dispose();
    }
}
