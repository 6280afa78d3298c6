using System.Collections.Concurrent;
using System.Net.WebSockets;
using Kumo.Protocol;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Control;

/// <summary>The live control channels, one per connected provider. A reconnect replaces the older channel.</summary>
public sealed class ProviderSessions(ILogger<ProviderSessions> logger)
{
    private readonly ConcurrentDictionary<string, ProviderSession> _sessions = new(StringComparer.Ordinal);

    public bool IsConnected(string providerId) => _sessions.TryGetValue(providerId, out ProviderSession? s) && s.IsOpen;

    public int Count => _sessions.Count;

    internal void Add(ProviderSession session)
    {
        if (_sessions.TryGetValue(session.ProviderId, out ProviderSession? old) && old != session)
        {
            _ = old.CloseAsync("replaced by a newer connection of the same provider");
        }

        _sessions[session.ProviderId] = session;
    }

    internal void Remove(ProviderSession session) =>
        _sessions.TryRemove(new KeyValuePair<string, ProviderSession>(session.ProviderId, session));

    /// <summary>The channel the provider has now, if any.</summary>
    internal ProviderSession? SessionOf(string providerId) => _sessions.GetValueOrDefault(providerId);

    /// <summary>
    /// Closes <paramref name="session"/> (it timed out) — that channel only: a newer one the provider opened since (it
    /// reconnected while the hub was deciding it had gone) stays.
    /// </summary>
    internal async Task DropAsync(ProviderSession session, string reason)
    {
        _sessions.TryRemove(new KeyValuePair<string, ProviderSession>(session.ProviderId, session));
        await session.CloseAsync(reason);
    }

    /// <summary>Sends a message if the provider is connected. Returns false (and logs) when it could not be sent.</summary>
    public async Task<bool> TrySendAsync<T>(string providerId, string type, T body, CancellationToken cancellationToken)
    {
        if (!_sessions.TryGetValue(providerId, out ProviderSession? session))
        {
            return false;
        }

        try
        {
            await session.SendAsync(type, body, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            logger.LogInformation("sending {Type} to {Provider} failed: {Error}", type, providerId, e.Message);
            return false;
        }
    }
}

/// <summary>One authenticated provider connection. Sends are serialized (a WebSocket allows one at a time).</summary>
public sealed class ProviderSession(string providerId, WebSocket socket)
{
    private readonly SemaphoreSlim _sendLock = new(1, 1);

    public string ProviderId { get; } = providerId;

    public bool IsOpen => socket.State == WebSocketState.Open;

    public async Task SendAsync<T>(string type, T body, CancellationToken cancellationToken)
    {
        ChannelMessage message = ChannelFraming.Create(type, body);
        await _sendLock.WaitAsync(cancellationToken);
        try
        {
            await ChannelFraming.SendAsync(socket, message, cancellationToken);
        }
        finally
        {
            _sendLock.Release();
        }
    }

    public async Task CloseAsync(string reason)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            if (socket.State == WebSocketState.Open)
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.PolicyViolation, reason.Length > 120 ? reason[..120] : reason, timeout.Token);
            }
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
            socket.Abort();
        }
    }
}
