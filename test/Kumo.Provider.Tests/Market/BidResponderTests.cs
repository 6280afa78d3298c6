using System.Runtime.Versioning;
using System.Text.Json;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Provider.Market;
using Kumo.Provider.Pricing;
using Kumo.Provider.Tests.Sandbox;
using Kumo.Signing;

namespace Kumo.Provider.Tests.Market;

/// <summary>The provider's side of the auction: what it offers, at what price, and that it never promises a device twice.</summary>
[SupportedOSPlatform("linux")]
public sealed class BidResponderTests : IDisposable
{
    private const string H100 = "NVIDIA H100 80GB HBM3";
    private readonly TestDirectories _dirs = new();
    private readonly AccountKey _tenant = AccountKey.Create();
    private readonly AccountKey _self = AccountKey.Create();

    private static readonly HardwareInventory Machine = new(new CpuInfo("test", 16, 8), 64L << 30, 500L << 30,
    [
        new GpuDevice(0, "nvidia", H100, 80L << 30, "GPU-a", null, null, null, Simulated: true),
        new GpuDevice(1, "nvidia", H100, 80L << 30, "GPU-b", null, null, null, Simulated: true),
        new GpuDevice(2, "nvidia", "NVIDIA A100-SXM4-40GB", 40L << 30, "GPU-c", null, null, null, Simulated: true),
    ], "test", "x64");

    private static readonly ProviderPricing Prices = new(1_000_000, 0, 0)
    {
        PerGpuModel = [new GpuModelPrice("H100*", 2_000_000)],
        FloorPerHourMicros = 500_000,
    };

    public void Dispose()
    {
        _dirs.Dispose();
        _tenant.Dispose();
        _self.Dispose();
    }

    private BidResponder Responder(IPricingPolicy? pricing = null, Reservations? reservations = null) =>
        new(_self.AccountId, Machine, new ProviderRegistration("me", Machine, "bwrap", Prices, "test"), pricing ?? new LinearPricing(Prices),
            reservations ?? new Reservations(), TimeProvider.System);

    private BidRequest Request(string gpu = "gpu: { count: 1, model: H100* }", string price = "5", string extra = "", IReadOnlyDictionary<string, long>? market = null)
    {
        string yaml = $"""
            version: kumo/v1
            name: t
            resources:
              cpu: 1
              memory: 1Gi
              disk: 1Gi
              {gpu}
            workload:
              exec:
                command: /bin/true
            price:
              maxPerHour: {price}
            timeout: 1m
            {extra}
            """;
        JobSpecReadResult read = JobSpecReader.Read(yaml, "t.yaml");
        Assert.True(read.Succeeded, read.ToString());
        using JsonDocument spec = JsonDocument.Parse(JobSpecWriter.ToJson(read.Spec));
        SignedEnvelope submission = new RequestSigner(_tenant).Sign(MessageTypes.JobSubmit, new JobSubmission(spec.RootElement.Clone()));
        return new BidRequest("j-1.0.1", "j-1", submission, market ?? new Dictionary<string, long>(), DateTimeOffset.UtcNow.AddSeconds(10).ToUnixTimeMilliseconds(), 60_000);
    }

    [Fact]
    public async Task It_bids_the_real_model_at_its_per_model_price_and_reserves_it()
    {
        var reservations = new Reservations();
        (BidPayload? bid, string? declined) = await Responder(reservations: reservations).RespondAsync(Request(), CancellationToken.None);

        Assert.Null(declined);
        Allocation node = Assert.Single(bid!.Nodes);
        Assert.Equal(H100, node.GpuModel); // the model, never the pattern
        Assert.Equal(2_000_000, bid.PricePerHour);
        Assert.Equal(1, reservations.Count);
    }

    [Fact]
    public async Task It_never_promises_the_same_gpu_twice_and_says_busy_when_everything_matching_is_promised()
    {
        BidResponder responder = Responder();
        (BidPayload? first, _) = await responder.RespondAsync(Request(), CancellationToken.None);
        (BidPayload? second, _) = await responder.RespondAsync(Request(), CancellationToken.None);
        (BidPayload? third, string? why) = await responder.RespondAsync(Request(), CancellationToken.None);

        Assert.NotEqual(first!.Nodes[0].GpuUuids.Single(), second!.Nodes[0].GpuUuids.Single());
        Assert.Null(third);
        Assert.Contains("busy", why, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Concurrent_requests_never_reserve_one_device_twice()
    {
        var reservations = new Reservations();
        BidResponder responder = Responder(reservations: reservations);
        var answers = await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(() => responder.RespondAsync(Request(), CancellationToken.None))));

        List<string> promised = [.. answers.Where(a => a.Bid is not null).SelectMany(a => a.Bid!.Nodes.SelectMany(n => n.GpuUuids))];
        Assert.Equal(2, promised.Count);
        Assert.Equal(promised.Count, promised.Distinct().Count());
        Assert.Equal(2, reservations.Count);
    }

    [Fact]
    public async Task A_released_bid_frees_its_device_for_the_next_order()
    {
        var reservations = new Reservations();
        BidResponder responder = Responder(reservations: reservations);
        (BidPayload? a, _) = await responder.RespondAsync(Request(), CancellationToken.None);
        (BidPayload? b, _) = await responder.RespondAsync(Request(), CancellationToken.None);
        reservations.Release(a!.BidId);

        (BidPayload? c, _) = await responder.RespondAsync(Request(), CancellationToken.None);
        Assert.Equal(a.Nodes[0].GpuUuids, c!.Nodes[0].GpuUuids);
        Assert.NotNull(b);
    }

    [Fact]
    public async Task Orders_it_cannot_or_will_not_serve_get_a_reason()
    {
        BidResponder responder = Responder();
        Assert.Contains("no GPU here matches B200", (await responder.RespondAsync(Request(gpu: "gpu: { count: 1, model: B200 }"), CancellationToken.None)).Declined, StringComparison.Ordinal);
        // 0.4 KUMO/h is below both the H100 price and the 0.5 floor: no bid within the order's terms.
        Assert.NotNull((await responder.RespondAsync(Request(price: "0.4"), CancellationToken.None)).Declined);

        BidRequest forged = Request() with { Submission = Request().Submission with { Signature = Request(price: "9").Submission.Signature } };
        Assert.Contains("not validly signed", (await responder.RespondAsync(forged, CancellationToken.None)).Declined, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Market_mode_asks_the_networks_price_and_performance_mode_its_tier_times_the_rate()
    {
        BidResponder responder = Responder();
        var market = new Dictionary<string, long> { [H100] = 1_500_000 };
        (BidPayload? bid, _) = await responder.RespondAsync(Request(extra: "market:\n  mode: market", market: market), CancellationToken.None);
        Assert.Equal(1_500_000, bid!.PricePerHour);

        (BidPayload? none, string? why) = await responder.RespondAsync(Request(extra: "market:\n  mode: performance\n  perBenchmarkHour: 0.01"), CancellationToken.None);
        Assert.Null(none); // this machine declared no performance tier
        Assert.NotNull(why);
    }

    [Fact]
    public async Task A_pricing_script_prices_the_allocated_model_and_its_failures_become_declines_with_nothing_reserved()
    {
        string Script(string name, string body)
        {
            string path = Path.Combine(_dirs.Root, name);
            File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            return path;
        }

        async Task<(BidPayload? Bid, string? Declined, int Reserved)> RunAsync(string script, TimeSpan? timeout = null)
        {
            var pricing = new ScriptPricing(script, _dirs.CreateSandbox(), _dirs.Scratch, floorPerHour: 0) { Timeout = timeout ?? TimeSpan.FromSeconds(10) };
            var reservations = new Reservations();
            (BidPayload? bid, string? declined) = await Responder(pricing, reservations).RespondAsync(Request(), CancellationToken.None);
            return (bid, declined, reservations.Count);
        }

        // Reads the allocation on stdin: an H100 is priced 3.25 KUMO/h, anything else 1.
        var priced = await RunAsync(Script("model.sh", "read -r line; case \"$line\" in *'NVIDIA H100'*) echo 3.25 ;; *) echo 1 ;; esac"));
        Assert.Equal(3_250_000, priced.Bid!.PricePerHour);
        Assert.Equal(1, priced.Reserved);

        var hangs = await RunAsync(Script("hang.sh", "sleep 60"), TimeSpan.FromSeconds(1));
        Assert.Contains("did not answer within 1 s", hangs.Declined, StringComparison.Ordinal);
        Assert.Equal(0, hangs.Reserved);

        var crashes = await RunAsync(Script("crash.sh", "echo 'no prices today' >&2; exit 3"));
        Assert.Contains("pricing script failed", crashes.Declined, StringComparison.Ordinal);
        Assert.Contains("no prices today", crashes.Declined, StringComparison.Ordinal);
        Assert.Equal(0, crashes.Reserved);

        var garbage = await RunAsync(Script("garbage.sh", "echo lots"));
        Assert.Contains("printed 'lots', not a price", garbage.Declined, StringComparison.Ordinal);
        Assert.Equal(0, garbage.Reserved);

        var greedy = await RunAsync(Script("greedy.sh", "echo 99"));
        Assert.Contains("the order allows", greedy.Declined, StringComparison.Ordinal); // above the order's maximum of 5
        Assert.Equal(0, greedy.Reserved);
    }
}
