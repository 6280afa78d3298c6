using Kumo.Hub.Tests.Support;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Hub.Tests;

/// <summary>Measured inter-node latency and bandwidth: the hub asks, both ends answer, the market uses the result.</summary>
public class NetworkProbeTests
{
    private static string ClusterSpec(string maxRtt) =>
        Specs.Wire(Specs.Yaml(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi", price: "1") + $"\ncluster:\n  nodes: 2\n  maxRtt: {maxRtt}\nretries: 0");

    private static Task<FakeProvider> JoinAsync(HubFixture hub, string name, string region, string probe) =>
        FakeProvider.JoinAsync(hub, name, FakeProvider.Inventory(cores: 1),
            registration: r => r with { Region = region, LatencyZone = "z1", Address = probe.Replace(":73", ":70", StringComparison.Ordinal), ProbeAddress = probe });

    private static async Task AnswerAsync(FakeProvider provider, double rttMs, double mbps)
    {
        NetProbeRequest request = await provider.ExpectAsync<NetProbeRequest>(ChannelMessageTypes.NetProbe);
        await provider.SendAsync(ChannelMessageTypes.NetReport,
            new NetProbeReport([.. request.Targets.Select(t => new PeerMeasurement(t.ProviderId, rttMs, mbps, null))]));
    }

    [Fact]
    public async Task Two_machines_that_measured_each_other_close_form_a_cluster_their_regions_alone_would_forbid()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await JoinAsync(hub, "a", "eu-west", "10.0.0.1:7300");
        await using FakeProvider b = await JoinAsync(hub, "b", "us-east", "10.0.0.2:7300");
        await hub.ScheduleAsync(); // the book learns both registrations

        Assert.Equal(2, await hub.ProbeAsync());
        NetProbeRequest toA = await a.ExpectAsync<NetProbeRequest>(ChannelMessageTypes.NetProbe);
        Assert.Equal([new ProbeTarget(b.Id, "10.0.0.2:7300")], toA.Targets);
        await a.SendAsync(ChannelMessageTypes.NetReport, new NetProbeReport([new PeerMeasurement(b.Id, 0.6, 9_000, null)]));
        await AnswerAsync(b, 0.4, 10_000);

        IReadOnlyList<ProviderView> providers = await Eventually.UntilAsync(
            () => hub.Client.ListProvidersAsync(), ps => ps.All(p => p.MeasuredPeers == 1), "both ends measured");
        Assert.All(providers, p => Assert.Equal(9_000, p.MeasuredBandwidthMbps)); // the smaller of the two reports

        // 80 ms apart by region alone; measured at 0.6 ms (the larger report), inside the 2 ms bound.
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), ClusterSpec("2ms"));
        LeaseOffer offerA = await a.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        LeaseOffer offerB = await b.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.Equal(accepted.JobId, offerA.JobId);
        Assert.Equal(offerA.Peers, offerB.Peers);
    }

    [Fact]
    public async Task Machines_in_one_zone_that_measured_a_slow_path_do_not_form_a_tight_cluster()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await JoinAsync(hub, "a", "eu-west", "10.0.0.1:7300");
        await using FakeProvider b = await JoinAsync(hub, "b", "eu-west", "10.0.0.2:7300");
        await hub.ScheduleAsync();
        await hub.ProbeAsync();
        await AnswerAsync(a, 40, 100);
        await AnswerAsync(b, 45, 120);
        await Eventually.UntilAsync(() => hub.Client.ListProvidersAsync(), ps => ps.All(p => p.MeasuredPeers == 1), "both ends measured");

        // Same zone would be 0.5 ms by estimate; the measurement (45 ms) says otherwise.
        JobAccepted accepted = await hub.Client.SubmitJobAsync(await hub.TenantAsync(), ClusterSpec("10ms"));
        await Eventually.UntilAsync(() => hub.Client.ListBidsAsync(accepted.JobId), bids => bids.Count == 2, "two bids");
        hub.Clock.Advance(TimeSpan.FromSeconds(11));
        await hub.ScheduleAsync();

        JobView expired = await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.State.IsFinal(), "the order to end");
        Assert.Equal(JobState.Expired, expired.State);
        Assert.Empty(expired.Leases);
        Assert.Contains("within 10 ms", expired.Explanation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_measurement_nobody_asked_for_is_refused_and_one_end_alone_counts_for_nothing()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await JoinAsync(hub, "a", "eu-west", "10.0.0.1:7300");
        await using FakeProvider b = await JoinAsync(hub, "b", "us-east", "10.0.0.2:7300");

        await a.SendAsync(ChannelMessageTypes.NetReport, new NetProbeReport([new PeerMeasurement(b.Id, 0.1, 100_000, null)]));
        ChannelError refused = await a.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("unsolicited_measurement", refused.Code);
        Assert.Contains(b.Id, refused.Message, StringComparison.Ordinal);

        await hub.ScheduleAsync();
        await hub.ProbeAsync();
        await AnswerAsync(a, 0.1, 100_000); // b never answers
        await Task.Delay(200);
        Assert.All(await hub.Client.ListProvidersAsync(), p => Assert.Equal(0, p.MeasuredPeers));
        Assert.All(await hub.Client.ListProvidersAsync(), p => Assert.Null(p.MeasuredBandwidthMbps));
    }

    [Theory]
    [InlineData(-1.0, 10.0, "rttMs must be 0–60000 ms, found -1")]
    [InlineData(60_001.0, 10.0, "rttMs must be 0–60000 ms, found 60001")]
    [InlineData(1.0, -5.0, "bandwidthMbps must be 0–10000000, found -5")]
    public async Task A_report_with_impossible_numbers_is_refused_with_the_field_at_fault(double rtt, double mbps, string message)
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider a = await JoinAsync(hub, "a", "eu-west", "10.0.0.1:7300");
        await using FakeProvider b = await JoinAsync(hub, "b", "eu-west", "10.0.0.2:7300");
        await hub.ScheduleAsync();
        await hub.ProbeAsync();
        NetProbeRequest request = await a.ExpectAsync<NetProbeRequest>(ChannelMessageTypes.NetProbe);

        await a.SendAsync(ChannelMessageTypes.NetReport, new NetProbeReport([new PeerMeasurement(request.Targets[0].ProviderId, rtt, mbps, null)]));

        ChannelError refused = await a.ExpectAsync<ChannelError>(ChannelMessageTypes.Error);
        Assert.Equal("invalid_measurement", refused.Code);
        Assert.Contains(message, refused.Message, StringComparison.Ordinal);
    }
}
