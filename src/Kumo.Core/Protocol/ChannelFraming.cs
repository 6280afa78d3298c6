using System.Buffers;
using System.Net.WebSockets;
using System.Text.Json;
using Kumo.Serialization;

namespace Kumo.Protocol;

/// <summary>
/// How <see cref="ChannelMessage"/>s travel on the control channel: one JSON text message per WebSocket message,
/// at most <see cref="MaxMessageBytes"/>. The same code on the hub's side and the agent's.
/// </summary>
public static class ChannelFraming
{
    public const int MaxMessageBytes = 4 << 20;

    public static ChannelMessage Create<T>(string type, T body) =>
        new(type, JsonSerializer.SerializeToElement(body, KumoJson.Options));

    /// <summary>Sends one message. A WebSocket allows one send at a time: callers serialize their sends.</summary>
    public static async Task SendAsync(WebSocket socket, ChannelMessage message, CancellationToken cancellationToken) =>
        await socket.SendAsync(JsonSerializer.SerializeToUtf8Bytes(message, KumoJson.Options), WebSocketMessageType.Text, endOfMessage: true, cancellationToken);

    /// <summary>
    /// Reads one message; null when the peer closed the channel. A message over the size limit ends the
    /// connection (<see cref="WebSocketException"/>); one that is not valid JSON throws <see cref="JsonException"/>
    /// and leaves the connection usable.
    /// </summary>
    public static async Task<ChannelMessage?> ReceiveAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new ArrayBufferWriter<byte>(8192);
        while (true)
        {
            ValueWebSocketReceiveResult result = await socket.ReceiveAsync(buffer.GetMemory(8192), cancellationToken);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Advance(result.Count);
            if (buffer.WrittenCount > MaxMessageBytes)
            {
                throw new WebSocketException($"channel message larger than {MaxMessageBytes} bytes");
            }

            if (result.EndOfMessage)
            {
                return JsonSerializer.Deserialize<ChannelMessage>(buffer.WrittenSpan, KumoJson.Options)
                    ?? throw new JsonException("channel message is null");
            }
        }
    }
}
