using System.Net.WebSockets;
using System.Text.Json;
using System.Threading.Channels;
using Kumo.Client;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Provider.Control;

/// <summary>
/// The agent's side of the control channel. Outgoing messages go through one queue that survives reconnects:
/// lease reports written while the hub is unreachable are delivered when it is back. Signed messages are
/// signed when queued.
/// </summary>
public sealed class HubChannel(RequestSigner signer)
{
    private readonly Channel<ChannelMessage> _outbox = Channel.CreateUnbounded<ChannelMessage>(new UnboundedChannelOptions { SingleReader = true });

    /// <summary>Queues a message whose body is signed by the provider.</summary>
    public void SendSigned<T>(string channelType, string messageType, T payload) =>
        Send(channelType, signer.Sign(messageType, payload));

    /// <summary>Queues a message.</summary>
    public void Send<T>(string channelType, T body) =>
        _outbox.Writer.TryWrite(ChannelFraming.Create(channelType, body));

    /// <summary>Connects, answers the challenge, and returns the hub's welcome; the connection is then pumped by <see cref="PumpAsync"/>.</summary>
    public async Task<(ClientWebSocket Socket, ChannelWelcome Welcome)> ConnectAsync(Uri channelUri, CancellationToken cancellationToken)
    {
        var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(15);
        try
        {
            using var connectTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connectTimeout.CancelAfter(TimeSpan.FromSeconds(15));
            await socket.ConnectAsync(channelUri, connectTimeout.Token);
            ChannelMessage challengeMessage = await ChannelFraming.ReceiveAsync(socket, connectTimeout.Token) ?? throw new WebSocketException("hub closed the channel before its challenge");
            ChannelChallenge challenge = Expect<ChannelChallenge>(challengeMessage, ChannelMessageTypes.Challenge);
            await ChannelFraming.SendAsync(socket, ChannelFraming.Create(ChannelMessageTypes.Hello,
                signer.Sign(MessageTypes.ChannelHello, new ChannelHello(challenge.Nonce))), connectTimeout.Token);
            ChannelMessage welcomeMessage = await ChannelFraming.ReceiveAsync(socket, connectTimeout.Token) ?? throw new WebSocketException("hub closed the channel after the hello");
            return (socket, Expect<ChannelWelcome>(welcomeMessage, ChannelMessageTypes.Welcome));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends queued messages and hands received ones to <paramref name="onMessage"/> until the connection ends.</summary>
    public async Task PumpAsync(ClientWebSocket socket, Func<ChannelMessage, Task> onMessage, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task sending = SendLoopAsync(socket, linked.Token);
        Task receiving = ReceiveLoopAsync(socket, onMessage, linked.Token);
        Task first = await Task.WhenAny(sending, receiving);
        await linked.CancelAsync();
        try
        {
            await Task.WhenAll(sending, receiving);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The other loop, stopped because this connection ended.
        }

        await first; // surface the error that ended the connection
    }

    private async Task SendLoopAsync(ClientWebSocket socket, CancellationToken cancellationToken)
    {
        while (await _outbox.Reader.WaitToReadAsync(cancellationToken))
        {
            while (_outbox.Reader.TryPeek(out ChannelMessage? message))
            {
                await ChannelFraming.SendAsync(socket, message, cancellationToken);
                _outbox.Reader.TryRead(out _); // only dequeue once it went out
            }
        }
    }

    private static async Task ReceiveLoopAsync(ClientWebSocket socket, Func<ChannelMessage, Task> onMessage, CancellationToken cancellationToken)
    {
        while (true)
        {
            ChannelMessage? message = await ChannelFraming.ReceiveAsync(socket, cancellationToken);
            if (message is null)
            {
                throw new WebSocketException("the hub closed the control channel");
            }

            await onMessage(message);
        }
    }

    private static T Expect<T>(ChannelMessage message, string type)
    {
        if (message.Type == ChannelMessageTypes.Error)
        {
            ChannelError error = message.Body.Deserialize<ChannelError>(KumoJson.Options)!;
            throw new HubRefusedException(error.Code, error.Message);
        }

        if (message.Type != type)
        {
            throw new WebSocketException($"expected '{type}' from the hub, got '{message.Type}'");
        }

        return message.Body.Deserialize<T>(KumoJson.Options)!;
    }
}

/// <summary>The hub refused the channel handshake.</summary>
public sealed class HubRefusedException(string code, string message) : Exception(message)
{
    public string Code { get; } = code;
}
