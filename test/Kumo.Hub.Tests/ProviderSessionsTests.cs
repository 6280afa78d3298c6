using System.Net.WebSockets;
using Kumo.Hub.Control;
using Microsoft.Extensions.Logging.Abstractions;

namespace Kumo.Hub.Tests;

public class ProviderSessionsTests
{
    [Fact]
    public async Task Dropping_a_timed_out_channel_leaves_the_channel_the_provider_reconnected_on()
    {
        var sessions = new ProviderSessions(NullLogger<ProviderSessions>.Instance);
        ProviderSession stale = Session("provider-1");
        sessions.Add(stale);

        // The watchdog sees the silent channel, marks the provider offline; meanwhile the provider reconnects.
        ProviderSession seen = sessions.SessionOf("provider-1")!;
        ProviderSession fresh = Session("provider-1");
        sessions.Add(fresh);
        await sessions.DropAsync(seen, "heartbeat lost");

        Assert.Same(fresh, sessions.SessionOf("provider-1"));
        Assert.True(sessions.IsConnected("provider-1"));
        Assert.False(stale.IsOpen);
    }

    [Fact]
    public async Task Dropping_the_current_channel_disconnects_the_provider()
    {
        var sessions = new ProviderSessions(NullLogger<ProviderSessions>.Instance);
        ProviderSession only = Session("provider-1");
        sessions.Add(only);

        await sessions.DropAsync(sessions.SessionOf("provider-1")!, "heartbeat lost");

        Assert.Null(sessions.SessionOf("provider-1"));
        Assert.False(sessions.IsConnected("provider-1"));
    }

    private static ProviderSession Session(string provider) =>
        new(provider, WebSocket.CreateFromStream(new MemoryStream(), isServer: true, subProtocol: null, keepAliveInterval: TimeSpan.Zero));
}
