using System.Text.Json;
using Kumo.Hub.Leases;
using Kumo.Hub.Storage;
using Kumo.Leases;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Ledger;

/// <summary>
/// Makes the ledger follow the leases: a lease the provider accepted is opened in the ledger (billing from the
/// acceptance time), settled at least every settlement interval, closed at the time it ended; an order whose job
/// ended is refunded. Each step's hook records the step in the lease or job row within the same store
/// transaction as its block, so after any interruption the reconciler resumes exactly where it stopped.
/// When a settlement finds the escrow dry, the lease is closed with <c>network_insufficient_funds</c> in that same
/// transaction and its provider told to stop.
/// </summary>
public sealed class LedgerReconciler(
    IHubStore store,
    LedgerService ledger,
    LeaseCoordinator leases,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<LedgerReconciler> logger) : BackgroundService
{
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
                logger.LogError(e, "ledger reconciliation failed");
            }

            await signals.WaitForLedgerWakeAsync(options.SweepInterval, time, stoppingToken);
        }
    }

    /// <summary>One pass: open, settle, close and refund whatever is due.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<LeaseRecord> pending;
        IReadOnlyList<JobRecord> ended;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            pending = await reader.ListLeasesForLedgerAsync();
            ended = await reader.ListJobsToRefundAsync();
        }

        foreach (LeaseRecord lease in pending)
        {
            await FollowLeaseAsync(lease, cancellationToken);
        }

        foreach (JobRecord job in ended)
        {
            await RefundAsync(job, cancellationToken);
        }

        // Leases the ledger closed for a provider fault cost the provider its fault share of stake (to the tenant).
        foreach (string leaseId in ledger.Read(s => s.PendingFaults.ToList()))
        {
            await TrySubmitAsync(ProtocolTypes.FaultSlash, new FaultSlashBody(leaseId), (_, _) => Task.CompletedTask, leaseId, cancellationToken);
        }
    }

    private async Task FollowLeaseAsync(LeaseRecord lease, CancellationToken cancellationToken)
    {
        (bool open, bool closed, long settledUntil) = ledger.Read(s => (s.Lease(lease.Id) is not null, s.IsLeaseClosed(lease.Id), s.Lease(lease.Id)?.SettledUntil ?? 0));
        if (lease.LedgerPhase == LedgerPhases.None && !open && !closed)
        {
            SignedEnvelope acceptance = JsonSerializer.Deserialize<SignedEnvelope>(lease.AcceptanceEnvelope!, KumoJson.Options)!;
            var body = new LeaseOpenBody(lease.JobId, lease.Id, lease.AcceptedAt!.Value, acceptance);
            if (!await TrySubmitAsync(ProtocolTypes.LeaseOpen, body, (tx, _) => tx.SetLeaseLedgerPhaseAsync(lease.Id, LedgerPhases.Opened), lease.Id, cancellationToken))
            {
                return;
            }

            open = true;
        }
        else if (closed && lease.LedgerPhase != LedgerPhases.Closed)
        {
            // The ledger closed it (its escrow ran dry) but the row did not hear: record it.
            await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
            await tx.SetLeaseLedgerPhaseAsync(lease.Id, LedgerPhases.Closed);
            await tx.CommitAsync();
            return;
        }

        if (!open)
        {
            return;
        }

        if (lease.State == LeaseState.Closed)
        {
            var close = new LeaseCloseBody(lease.Id, await BillableUntilAsync(lease, cancellationToken), Names.Of(lease.CloseReason));
            await TrySubmitAsync(ProtocolTypes.LeaseClose, close, (tx, _) => tx.SetLeaseLedgerPhaseAsync(lease.Id, LedgerPhases.Closed), lease.Id, cancellationToken);
            signals.WakeLedger(); // its order may now be refundable
            return;
        }

        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (now - settledUntil >= ledger.Genesis.SettlementIntervalMs)
        {
            // A job that checkpoints is paid for checkpointed progress only: what a provider fault would lose is never billed.
            long? until = null;
            if (await CheckpointsAsync(lease, cancellationToken))
            {
                until = (await LatestCheckpointAsync(lease, lease.AcceptedAt!.Value, now, cancellationToken))?.At;
                if (until is null || until <= settledUntil)
                {
                    return;
                }
            }

            var exhausted = new List<LeaseRecord>();
            await TrySubmitAsync(ProtocolTypes.Settle, new SettleBody(lease.Id, until), async (tx, result) =>
            {
                if (result.Effects.OfType<LeaseExhausted>().Any())
                {
                    LeaseRecord current = (await tx.GetLeaseAsync(lease.Id))!;
                    if (current.State.IsOpen())
                    {
                        exhausted.Add(await leases.CloseInAsync(tx, current, LeaseEvent.Fail, CloseReason.NetworkInsufficientFunds,
                            $"the escrow of {lease.JobId} ran dry; top it up with `kumo wallet escrow-topup {lease.JobId} AMOUNT`", null, now, exhausted));
                    }

                    await tx.SetLeaseLedgerPhaseAsync(lease.Id, LedgerPhases.Closed);
                }
            }, lease.Id, cancellationToken);
            foreach (LeaseRecord closedLease in exhausted)
            {
                leases.AfterClose(closedLease);
            }
        }
    }

    /// <summary>
    /// Until when a closed lease is billed: its close time, except when it ended in a provider fault (or was stopped
    /// because another node of its cluster did): then only up to the job's last checkpoint taken during the lease —
    /// the failover restarts from there — or nothing beyond what was settled when there was none.
    /// </summary>
    private async Task<long> BillableUntilAsync(LeaseRecord lease, CancellationToken cancellationToken)
    {
        long closedAt = lease.ClosedAt ?? time.GetUtcNow().ToUnixTimeMilliseconds();
        if (!lease.CloseReason.IsProviderFault() && lease.CloseReason != CloseReason.NetworkClusterFailover)
        {
            return closedAt;
        }

        long acceptedAt = lease.AcceptedAt ?? closedAt;
        return (await LatestCheckpointAsync(lease, acceptedAt, closedAt, cancellationToken))?.At ?? acceptedAt;
    }

    private async Task<CheckpointRecord?> LatestCheckpointAsync(LeaseRecord lease, long from, long to, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        CheckpointRecord? latest = await reader.GetLatestCheckpointBeforeAsync(lease.JobId, to);
        return latest is not null && latest.At >= from ? latest : null;
    }

    private async Task<bool> CheckpointsAsync(LeaseRecord lease, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        JobRecord? job = await reader.GetJobAsync(lease.JobId);
        return job is not null && Jobs.JobService.ParseSpec(job.SpecJson).Checkpoint is not null;
    }

    private async Task RefundAsync(JobRecord job, CancellationToken cancellationToken)
    {
        (bool exists, bool closed, int openLeases) = ledger.Read(s => s.Escrow(job.Id) is { } e ? (true, e.Closed, e.OpenLeaseIds.Count) : (false, false, 0));
        if (openLeases > 0)
        {
            return; // its last leases are still being closed
        }

        if (!exists || closed)
        {
            // No escrow (a job from before the ledger) or already refunded: only the row needs to know.
            await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
            await tx.MarkJobRefundedAsync(job.Id);
            await tx.CommitAsync();
            return;
        }

        await TrySubmitAsync(ProtocolTypes.Refund, new RefundBody(job.Id), (tx, _) => tx.MarkJobRefundedAsync(job.Id), job.Id, cancellationToken);
    }

    private async Task<bool> TrySubmitAsync<T>(string type, T body, Func<IHubTransaction, ApplyResult, Task> hook, string subject, CancellationToken cancellationToken)
    {
        try
        {
            await ledger.SubmitAsync(at => LedgerTx.FromProtocol(type, body, at), hook, cancellationToken);
            return true;
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("ledger refused {Type} for {Subject}: {Reason}", type, subject, e.Message);
            return false;
        }
    }
}
