using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Kumo.Protocol;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Network;

/// <summary>
/// Answers other providers' latency and throughput probes (<see cref="ProbeProtocol"/>) on the agent's probe address.
/// Hostile clients are bounded: a few connections at a time, each closed after a short idle time or a minute in all,
/// bulk transfers capped and read into one reused buffer.
/// </summary>
public sealed class ProbeListener : IAsyncDisposable
{
    private const int MaxConnections = 16;
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ConnectionLifetime = TimeSpan.FromMinutes(1);

    private readonly TcpListener _listener;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _slots = new(MaxConnections, MaxConnections);
    private readonly Task _accepting;

    private ProbeListener(TcpListener listener, ILogger logger)
    {
        _listener = listener;
        _logger = logger;
        _accepting = AcceptLoopAsync();
    }

    /// <summary>The bound endpoint (the port is the real one when 0 was asked for).</summary>
    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>Listens on <paramref name="address"/> (host:port; the host must be an IP address of this machine).</summary>
    /// <exception cref="ArgumentException">The address is malformed.</exception>
    /// <exception cref="SocketException">It cannot be bound (in use, not local).</exception>
    public static ProbeListener Start(string address, ILogger logger)
    {
        if (!HostPort.TryParse(address, out string host, out int port, out string? error, forListening: true))
        {
            throw new ArgumentException($"probe address: {error}", nameof(address));
        }

        if (!IPAddress.TryParse(host, out IPAddress? ip))
        {
            ip = host == "localhost" ? IPAddress.Loopback : IPAddress.Any;
        }

        var listener = new TcpListener(ip, port);
        listener.Start();
        return new ProbeListener(listener, logger);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (!_slots.Wait(0))
            {
                socket.Dispose(); // busy: the prober reports the peer as unreachable and tries again later
                continue;
            }

            _ = ServeAsync(socket);
        }
    }

    private async Task ServeAsync(Socket socket)
    {
        try
        {
            socket.NoDelay = true;
            using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            lifetime.CancelAfter(ConnectionLifetime);
            await using var stream = new NetworkStream(socket, ownsSocket: true);
            byte[] header = new byte[8];
            byte[] bulk = new byte[64 * 1024];
            while (true)
            {
                using var idle = CancellationTokenSource.CreateLinkedTokenSource(lifetime.Token);
                idle.CancelAfter(IdleTimeout);
                int op = await ReadByteAsync(stream, header, idle.Token);
                switch (op)
                {
                    case -1:
                        return;
                    case ProbeProtocol.Ping:
                        await stream.ReadExactlyAsync(header.AsMemory(0, 8), idle.Token);
                        await stream.WriteAsync(header.AsMemory(0, 8), idle.Token);
                        break;
                    case ProbeProtocol.Bulk:
                        await stream.ReadExactlyAsync(header.AsMemory(0, 4), idle.Token);
                        int length = ProbeProtocol.ReadLength(header);
                        if (length is < 1 or > ProbeProtocol.MaxBulkBytes)
                        {
                            return;
                        }

                        for (int left = length; left > 0;)
                        {
                            int read = await stream.ReadAsync(bulk.AsMemory(0, Math.Min(left, bulk.Length)), idle.Token);
                            if (read == 0)
                            {
                                return;
                            }

                            left -= read;
                        }

                        BinaryPrimitives.WriteInt64BigEndian(header, length);
                        await stream.WriteAsync(header.AsMemory(0, 8), idle.Token);
                        break;
                    default:
                        return; // not a probe: hang up
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or EndOfStreamException or ObjectDisposedException)
        {
            _logger.LogDebug("probe connection ended: {Error}", e.Message);
        }
        finally
        {
            socket.Dispose();
            _slots.Release();
        }
    }

    private static async Task<int> ReadByteAsync(NetworkStream stream, byte[] buffer, CancellationToken cancellationToken)
    {
        int read = await stream.ReadAsync(buffer.AsMemory(0, 1), cancellationToken);
        return read == 0 ? -1 : buffer[0];
    }
}
