using System.Buffers.Binary;
using System.Diagnostics;
using System.Net.Sockets;
using Kumo.Protocol;

namespace Kumo.Provider.Network;

/// <summary>
/// Measures the path to another provider's <see cref="ProbeListener"/>: the median of a few TCP round trips (after
/// one to warm the connection) and the throughput of one bulk transfer. Each target gets a bounded time; a target
/// that cannot be reached is reported with the reason, never retried in a loop.
/// </summary>
public sealed class PeerProber
{
    private const int Pings = 5;

    /// <summary>Bytes sent to measure throughput (enough to leave TCP slow start on a LAN, cheap on a WAN).</summary>
    public int BulkBytes { get; init; } = 4 << 20;

    /// <summary>The most one target may take, connecting included.</summary>
    public TimeSpan TargetTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Measures every target, a few at a time.</summary>
    public async Task<IReadOnlyList<PeerMeasurement>> MeasureAsync(IReadOnlyList<ProbeTarget> targets, CancellationToken cancellationToken)
    {
        var results = new PeerMeasurement[targets.Count];
        await Parallel.ForAsync(0, targets.Count, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken },
            async (i, token) => results[i] = await MeasureAsync(targets[i], token));
        return results;
    }

    /// <summary>Measures one target.</summary>
    public async Task<PeerMeasurement> MeasureAsync(ProbeTarget target, CancellationToken cancellationToken)
    {
        if (!HostPort.TryParse(target.Address, out string host, out int port, out string? error))
        {
            return new PeerMeasurement(target.ProviderId, null, null, error);
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TargetTimeout);
        try
        {
            using var client = new TcpClient { NoDelay = true };
            await client.ConnectAsync(host, port, timeout.Token);
            NetworkStream stream = client.GetStream();

            byte[] frame = new byte[9];
            frame[0] = ProbeProtocol.Ping;
            byte[] echo = new byte[8];
            var samples = new List<double>(Pings);
            for (int i = 0; i <= Pings; i++)
            {
                BinaryPrimitives.WriteInt64BigEndian(frame.AsSpan(1), i);
                long start = Stopwatch.GetTimestamp();
                await stream.WriteAsync(frame, timeout.Token);
                await stream.ReadExactlyAsync(echo, timeout.Token);
                double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (BinaryPrimitives.ReadInt64BigEndian(echo) != i)
                {
                    return new PeerMeasurement(target.ProviderId, null, null, "the peer answered pings with the wrong bytes");
                }

                if (i > 0)
                {
                    samples.Add(ms); // the first round trip warms the connection and is not counted
                }
            }

            samples.Sort();
            double rtt = samples[samples.Count / 2];

            byte[] header = new byte[5];
            header[0] = ProbeProtocol.Bulk;
            BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(1), BulkBytes);
            byte[] chunk = new byte[64 * 1024];
            long bulkStart = Stopwatch.GetTimestamp();
            await stream.WriteAsync(header, timeout.Token);
            for (int left = BulkBytes; left > 0; left -= chunk.Length)
            {
                await stream.WriteAsync(chunk.AsMemory(0, Math.Min(left, chunk.Length)), timeout.Token);
            }

            await stream.ReadExactlyAsync(echo, timeout.Token);
            double seconds = Stopwatch.GetElapsedTime(bulkStart).TotalSeconds;
            if (BinaryPrimitives.ReadInt64BigEndian(echo) != BulkBytes)
            {
                return new PeerMeasurement(target.ProviderId, rtt, null, "the peer acknowledged the wrong byte count");
            }

            double mbps = BulkBytes * 8.0 / 1e6 / Math.Max(seconds, 1e-6);
            return new PeerMeasurement(target.ProviderId, Math.Round(rtt, 3), Math.Round(mbps, 1), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new PeerMeasurement(target.ProviderId, null, null, $"no answer from {target.Address} within {TargetTimeout.TotalSeconds:0} s");
        }
        catch (Exception e) when (e is SocketException or IOException or EndOfStreamException)
        {
            return new PeerMeasurement(target.ProviderId, null, null, $"{target.Address}: {e.Message}");
        }
    }
}
