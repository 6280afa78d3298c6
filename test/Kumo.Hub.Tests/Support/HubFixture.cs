using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hub.Leases;
using Kumo.Hub.Market;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Tests.Support;

/// <summary>A real hub on a loopback port with its own SQLite file in a temp directory, started per test.</summary>
public sealed class HubFixture : IAsyncDisposable
{
    private readonly WebApplication _app;
    private bool _handedOver;

    private HubFixture(WebApplication app, HubOptions options, ManualClock clock, string url)
    {
        _app = app;
        Options = options;
        Clock = clock;
        Url = url;
        Client = HubClient.Create(url);
    }

    public HubOptions Options { get; }

    public ManualClock Clock { get; }

    public string Url { get; }

    public HubClient Client { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<HubFixture> StartAsync(Func<HubOptions, HubOptions>? configure = null)
    {
        string data = Path.Combine(Path.GetTempPath(), "kumo-hub-test-" + Guid.NewGuid().ToString("N")[..10]);
        var options = new HubOptions
        {
            DataDirectory = data,
            Urls = "http://127.0.0.1:0",
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            HeartbeatTimeout = TimeSpan.FromSeconds(5),
            OfferTimeout = TimeSpan.FromSeconds(5),
            // The background loops stay out of the way; tests drive the watchdog and scheduler by hand.
            SweepInterval = TimeSpan.FromHours(1),
            ProbeInterval = TimeSpan.Zero,
            HardwareProofInterval = TimeSpan.Zero,
            // Tests that count leases expect one per job; replication tests drive ExecReplicationService by hand.
            ReplicateExec = false,
            BlockInterval = TimeSpan.FromMilliseconds(20),
            // Devnet rules (a faucet) without a stake minimum, so fake providers qualify; stake tests set their own.
            Genesis = Kumo.Ledger.Genesis.Devnet(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000) with { MinBondPerDevice = 0 },
        };
        options = configure?.Invoke(options) ?? options;
        return await StartOnAsync(options, ManualClock.StartingNow());
    }

    /// <summary>
    /// A hub restart: stops this hub (its data directory stays) and starts a new one on the same options and data, its
    /// clock where this one's was. Dispose the new one; this one is spent (its dispose does nothing more).
    /// </summary>
    public async Task<HubFixture> RestartAsync()
    {
        _handedOver = true;
        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        return await StartOnAsync(Options, new ManualClock(Clock.GetUtcNow()));
    }

    private static async Task<HubFixture> StartOnAsync(HubOptions options, ManualClock clock)
    {
        WebApplication app = HubHost.Build(options, clock, l => l.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole());
        await HubHost.StartAsync(app);
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HubFixture(app, options, clock, url);
    }

    public static RequestSigner NewSigner(TimeProvider? time = null) => new(AccountKey.Create(), time);

    /// <summary>A new account with money from the faucet: a tenant that can lock escrow for jobs.</summary>
    public async Task<RequestSigner> TenantAsync(long kumo = 1000)
    {
        RequestSigner signer = NewSigner();
        await Client.SubmitLedgerAsync(signer, Kumo.Ledger.Transactions.LedgerMessageTypes.Faucet,
            new Kumo.Ledger.Transactions.FaucetPayload(kumo * Kumo.Ledger.Amounts.MicrosPerKumo));
        return signer;
    }

    /// <summary>Runs one watchdog sweep now (heartbeat, offer and overrun clocks).</summary>
    public Task SweepAsync() => Services.GetRequiredService<LeaseWatchdog>().SweepAsync(CancellationToken.None);

    /// <summary>The hub's ledger sequencer.</summary>
    public Kumo.Hub.Ledger.LedgerService Ledger => Services.GetRequiredService<Kumo.Hub.Ledger.LedgerService>();

    /// <summary>Runs one ledger reconciliation pass now (open, settle, close, refund).</summary>
    public Task ReconcileAsync() => Services.GetRequiredService<Kumo.Hub.Ledger.LedgerReconciler>().RunOnceAsync(CancellationToken.None);

    /// <summary>The hub's market.</summary>
    public MarketService Market => Services.GetRequiredService<MarketService>();

    /// <summary>Runs one market pass now (sync the book, ask for bids, lease, re-bid or expire).</summary>
    public Task<int> ScheduleAsync() => Market.RunOnceAsync(CancellationToken.None);

    /// <summary>One round of probe requests (the background prober is off in tests).</summary>
    public Kumo.Hub.Verification.HardwareProofService HardwareProofs => Services.GetRequiredService<Kumo.Hub.Verification.HardwareProofService>();

    /// <summary>One pass of the hardware prover: deadlines, then challenges to providers never proven or due.</summary>
    public Task<int> ProveHardwareAsync() => HardwareProofs.RunOnceAsync(CancellationToken.None);

    public Task<int> ProbeAsync() => Services.GetRequiredService<NetworkProber>().RunOnceAsync(CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        if (_handedOver)
        {
            return;
        }

        Client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        try
        {
            Directory.Delete(Options.DataDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Temp files; not worth failing a test over.
        }
    }
}
