using System.Collections.Concurrent;
using Kumo.Hub.Control;
using Kumo.Hub.Jobs;
using Kumo.Hub.Leases;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Scheduling;

/// <summary>
/// Places queued jobs, oldest first, on connected providers through the <see cref="ILeaseMatcher"/>. Runs when
/// woken (a job submitted, a lease closed, a provider connected) and on every sweep interval.
/// </summary>
public sealed class Scheduler(
    IHubStore store,
    ILeaseMatcher matcher,
    LeaseCoordinator leases,
    Ledger.LedgerService ledger,
    ProviderSessions sessions,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<Scheduler> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<string, JobSpec> _specs = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "scheduling pass failed");
            }

            await WaitAsync(stoppingToken);
        }
    }

    /// <summary>One pass over the queue. Returns how many leases were offered.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<JobRecord> queued;
        List<ProviderCapacity> capacities;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            queued = await reader.ListQueuedJobsAsync(500);
            if (queued.Count == 0)
            {
                _specs.Clear();
                return 0;
            }

            ILookup<string, LeaseRecord> open = (await reader.ListOpenLeasesAsync(null)).ToLookup(l => l.ProviderId, StringComparer.Ordinal);
            capacities = [.. (await reader.ListProvidersAsync())
                .Where(p => p.Status == ProviderStatus.Online && sessions.IsConnected(p.Id))
                .Select(p => ProviderCapacity.From(p, open[p.Id]).WithStake(ledger))];
        }

        // Forget parsed specs of jobs that left the queue some other way (cancelled while waiting).
        var stillQueued = queued.Select(j => j.Id).ToHashSet(StringComparer.Ordinal);
        foreach (string id in _specs.Keys.Where(id => !stillQueued.Contains(id)))
        {
            _specs.TryRemove(id, out _);
        }

        int offered = 0;
        foreach (JobRecord job in queued)
        {
            JobSpec spec = _specs.GetOrAdd(job.Id, _ => JobService.ParseSpec(job.SpecJson));
            var excluded = job.ExcludedProviders.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
            List<ProviderCapacity> candidates = [.. capacities.Where(c => !excluded.Contains(c.ProviderId))];
            Match match = matcher.Find(spec, candidates);
            if (match.Placement is not { } placement)
            {
                continue;
            }

            if (await leases.OfferAsync(job.Id, placement, cancellationToken) is not null)
            {
                offered++;
                int index = capacities.FindIndex(c => c.ProviderId == placement.Provider.ProviderId);
                capacities[index] = capacities[index].With(placement.Allocation);
                _specs.TryRemove(job.Id, out _);
            }
        }

        return offered;
    }

    private async Task WaitAsync(CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task delay = Task.Delay(options.SweepInterval, time, wait.Token);
        Task wake = signals.WaitForSchedulerWakeAsync(wait.Token).AsTask();
        await Task.WhenAny(delay, wake);
        await wait.CancelAsync();
        try
        {
            await Task.WhenAll(delay, wake);
        }
        catch (OperationCanceledException)
        {
            // The other waiter, cancelled on purpose.
        }
    }
}
