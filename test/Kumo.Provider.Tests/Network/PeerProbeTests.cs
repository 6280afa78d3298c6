using System.Net.Sockets;
using Kumo.Protocol;
using Kumo.Provider.Network;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kumo.Provider.Tests.Network;

/// <summary>Real TCP on loopback: one agent's prober against another's listener.</summary>
public sealed class PeerProbeTests
{
    [Fact]
    public async Task A_probe_measures_round_trip_time_and_bandwidth_to_a_listening_peer()
    {
        await using ProbeListener listener = ProbeListener.Start("127.0.0.1:0", NullLogger.Instance);
        var prober = new PeerProber { BulkBytes = 1 << 20 };

        PeerMeasurement m = await prober.MeasureAsync(new ProbeTarget("peer", $"127.0.0.1:{listener.Endpoint.Port}"), CancellationToken.None);

        Assert.Null(m.Error);
        Assert.Equal("peer", m.ProviderId);
        Assert.InRange(m.RttMs!.Value, 0, 1_000);
        Assert.True(m.BandwidthMbps > 1, $"loopback moves more than 1 Mbit/s, measured {m.BandwidthMbps}");
    }

    [Fact]
    public async Task A_peer_nobody_answers_for_is_reported_unreachable_with_the_reason()
    {
        int port;
        using (var probe = new TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        } // closed again: nothing listens there now

        var prober = new PeerProber { TargetTimeout = TimeSpan.FromSeconds(2) };
        IReadOnlyList<PeerMeasurement> measured = await prober.MeasureAsync(
            [new ProbeTarget("gone", $"127.0.0.1:{port}"), new ProbeTarget("bad", "no-port-here")], CancellationToken.None);

        Assert.Null(measured[0].RttMs);
        Assert.Contains($"127.0.0.1:{port}", measured[0].Error, StringComparison.Ordinal);
        Assert.Equal("'no-port-here' is not host:port", measured[1].Error);
    }

    [Fact]
    public async Task A_peer_that_accepts_but_never_answers_costs_the_timeout_and_no_more()
    {
        using var silent = new TcpListener(System.Net.IPAddress.Loopback, 0);
        silent.Start(); // accepts connections (the kernel does) but never reads or writes
        var prober = new PeerProber { TargetTimeout = TimeSpan.FromMilliseconds(500) };
        var clock = System.Diagnostics.Stopwatch.StartNew();

        PeerMeasurement m = await prober.MeasureAsync(
            new ProbeTarget("silent", $"127.0.0.1:{((System.Net.IPEndPoint)silent.LocalEndpoint).Port}"), CancellationToken.None);

        Assert.Null(m.RttMs);
        Assert.StartsWith("no answer from", m.Error, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    [Fact]
    public async Task Hostile_clients_are_hung_up_on_and_the_listener_keeps_serving()
    {
        await using ProbeListener listener = ProbeListener.Start("127.0.0.1:0", NullLogger.Instance);
        int port = listener.Endpoint.Port;

        // Not a probe at all.
        Assert.True(await HungUpAfterAsync(port, "GET / HTTP/1.1\r\n\r\n"u8.ToArray()));
        // A bulk transfer larger than the cap.
        Assert.True(await HungUpAfterAsync(port, [(byte)'B', 0x7f, 0xff, 0xff, 0xff]));
        // A bulk transfer that announces bytes and stops sending: the connection is dropped, not held forever.
        using (var stalled = new TcpClient())
        {
            await stalled.ConnectAsync("127.0.0.1", port);
            await stalled.GetStream().WriteAsync(new byte[] { (byte)'B', 0, 0, 0, 100, 1, 2, 3 });
        }

        PeerMeasurement m = await new PeerProber { BulkBytes = 64 * 1024 }.MeasureAsync(new ProbeTarget("p", $"127.0.0.1:{port}"), CancellationToken.None);
        Assert.Null(m.Error);
    }

    [Theory]
    [InlineData("localhost")]
    [InlineData("127.0.0.1:99999")]
    public void A_malformed_probe_address_is_refused_at_start(string address)
    {
        var error = Assert.Throws<ArgumentException>(() => ProbeListener.Start(address, NullLogger.Instance));
        Assert.Contains(address, error.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> HungUpAfterAsync(int port, byte[] bytes)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port);
        NetworkStream stream = client.GetStream();
        await stream.WriteAsync(bytes);
        byte[] buffer = new byte[16];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            return await stream.ReadAsync(buffer, timeout.Token) == 0;
        }
        catch (IOException)
        {
            return true; // reset
        }
    }
}
