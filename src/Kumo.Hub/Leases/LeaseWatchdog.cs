using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Control;
using Kumo.Hub.Jobs;
using Kumo.Hub.Storage;
using Kumo.Leases;
using Kumo.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Leases;

/// <summary>
/// Enforces the clocks: a provider silent past the heartbeat timeout goes offline and its leases close as
/// <c>provider_heartbeat_lost</c>; an offer not accepted in time is withdrawn; a lease running past its job's
/// timeout (plus grace, in case the provider did not stop it) closes as <c>workload_timed_out</c>.
/// </summary>
public sealed class LeaseWatchdog(
    IHubStore store,
    LeaseCoordinator leases,
    EnvelopeAuthenticator auth,
    ProviderSessions sessions,
    ContentStore content,
    HubOptions options,
    TimeProvider time,
    ILogger<LeaseWatchdog> logger) : BackgroundService
{
    private long _lastUploadSweep;
    private long _lastNonceSweep;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.SweepInterval, time);
        while (await WaitTickAsync(timer, stoppingToken))
        {
            try
            {
                await SweepAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "watchdog sweep failed");
            }
        }
    }

    /// <summary>One look at every clock. Public so tests can drive it with a fake <see cref="TimeProvider"/>.</summary>
    public async Task SweepAsync(CancellationToken cancellationToken)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await ExpireSilentProvidersAsync(now, cancellationToken);
        await ExpireOffersAndOverrunsAsync(now, cancellationToken);
        if (now - _lastNonceSweep > 60_000)
        {
            _lastNonceSweep = now;
            await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
            await tx.PruneNoncesAsync(now - (long)auth.NonceRetention.TotalMilliseconds);
            await tx.CommitAsync();
        }

        if (now - _lastUploadSweep > 600_000)
        {
            _lastUploadSweep = now;
            int deleted = await content.DeleteExpiredUploadsAsync(cancellationToken);
            if (deleted > 0)
            {
                logger.LogInformation("deleted {Count} expired unfinished upload(s)", deleted);
            }
        }
    }

    private async Task ExpireSilentProvidersAsync(long now, CancellationToken cancellationToken)
    {
        long cutoff = now - (long)options.HeartbeatTimeout.TotalMilliseconds;
        IReadOnlyList<ProviderRecord> silent;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            silent = [.. (await reader.ListProvidersAsync()).Where(p => p.Status == ProviderStatus.Online && (p.LastHeartbeatAt ?? 0) < cutoff)];
        }

        foreach (ProviderRecord provider in silent)
        {
            // The channel it has now: the one to close once it is marked offline. A reconnect after that mark opens a newer
            // channel, which is left alone (it set the provider online again).
            ProviderSession? channel = sessions.SessionOf(provider.Id);
            var closed = new List<LeaseRecord>();
            var siblings = new List<LeaseRecord>(); // other nodes of its clusters, on providers that are still there
            await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
            {
                ProviderRecord? current = await tx.GetProviderAsync(provider.Id);
                if (current is null || current.Status != ProviderStatus.Online || (current.LastHeartbeatAt ?? 0) >= cutoff)
                {
                    continue; // it spoke up meanwhile
                }

                await tx.UpdateProviderLivenessAsync(provider.Id, ProviderStatus.Offline, current.LastHeartbeatAt, current.LastHeartbeatSeq);
                string detail = $"no heartbeat from {provider.Name} for {options.HeartbeatTimeout.TotalSeconds:0} s";
                foreach (LeaseRecord lease in await tx.ListOpenLeasesAsync(provider.Id))
                {
                    closed.Add(await leases.CloseInAsync(tx, lease, LeaseEvent.HeartbeatLost, CloseReason.ProviderHeartbeatLost, detail, null, now, siblings));
                }

                await tx.CommitAsync();
            }

            logger.LogWarning("provider {Provider} ({Name}) is offline: heartbeat lost; {Count} lease(s) closed", provider.Id, provider.Name, closed.Count);
            if (channel is not null)
            {
                await sessions.DropAsync(channel, "heartbeat lost");
            }
            foreach (LeaseRecord lease in closed)
            {
                leases.AfterClose(lease, notifyProvider: false);
            }

            foreach (LeaseRecord lease in siblings.Where(s => s.ProviderId != provider.Id))
            {
                leases.AfterClose(lease);
            }
        }
    }

    private async Task ExpireOffersAndOverrunsAsync(long now, CancellationToken cancellationToken)
    {
        IReadOnlyList<LeaseRecord> open;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            open = await reader.ListOpenLeasesAsync(null);
        }

        foreach (LeaseRecord lease in open)
        {
            (LeaseEvent Event, CloseReason Reason, string Detail)? verdict = null;
            if (lease.State == LeaseState.Offered && now - lease.OfferedAt > options.OfferTimeout.TotalMilliseconds)
            {
                verdict = (LeaseEvent.OfferExpired, CloseReason.ProviderOfferExpired, $"not accepted within {options.OfferTimeout.TotalSeconds:0} s");
            }
            else if (lease.State is LeaseState.Accepted or LeaseState.Running)
            {
                TimeSpan timeout = await TimeoutOfAsync(lease.JobId, cancellationToken);
                long since = lease.StartedAt ?? lease.AcceptedAt ?? lease.OfferedAt;
                if (now - since > (timeout + options.TimeoutGrace).TotalMilliseconds)
                {
                    verdict = (LeaseEvent.Fail, CloseReason.WorkloadTimedOut, $"still running {timeout.TotalSeconds:0} s after start plus {options.TimeoutGrace.TotalSeconds:0} s grace; closed by the hub");
                }
            }

            if (verdict is not { } v)
            {
                continue;
            }

            LeaseRecord? closed = null;
            var siblings = new List<LeaseRecord>();
            await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
            {
                LeaseRecord? current = await tx.GetLeaseAsync(lease.Id);
                if (current is not null && current.State == lease.State)
                {
                    closed = await leases.CloseInAsync(tx, current, v.Event, v.Reason, v.Detail, null, now, siblings);
                    await tx.CommitAsync();
                }
            }

            if (closed is not null)
            {
                logger.LogInformation("lease {Lease} closed by the watchdog: {Reason}", closed.Id, v.Reason);
                leases.AfterClose(closed);
                siblings.ForEach(s => leases.AfterClose(s));
            }
        }
    }

    private async Task<TimeSpan> TimeoutOfAsync(string jobId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        JobRecord? job = await reader.GetJobAsync(jobId);
        return job is null ? TimeSpan.Zero : JobService.ParseSpec(job.SpecJson).Timeout;
    }

    private static async Task<bool> WaitTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
