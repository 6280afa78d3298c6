using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Control;
using Kumo.Hub.Scheduling;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Leases;

/// <summary>
/// Applies every lease transition and its consequence for the job, in one store transaction each, following
/// <see cref="LeaseStateMachine"/>. Provider messages arrive here from the control channel; the scheduler,
/// the watchdog and tenant cancellations come here too. Notifications (to providers, log followers, the
/// scheduler) go out only after the transaction commits.
/// </summary>
public sealed class LeaseCoordinator(
    IHubStore store,
    EnvelopeAuthenticator auth,
    TimeProvider time,
    HubOptions options,
    HubSignals signals,
    ProviderSessions sessions,
    ILogger<LeaseCoordinator> logger)
{
    /// <summary>Offers a queued job to the provider the matcher chose. Returns null if the job moved on meanwhile.</summary>
    public async Task<LeaseRecord?> OfferAsync(string jobId, Placement placement, CancellationToken cancellationToken)
    {
        long now = Now();
        LeaseRecord lease;
        JobRecord job;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            JobRecord? current = await tx.GetJobAsync(jobId);
            if (current is null || current.State != JobState.Queued)
            {
                return null;
            }

            lease = new LeaseRecord
            {
                Id = "l-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                JobId = jobId,
                ProviderId = placement.Provider.ProviderId,
                State = LeaseState.Offered,
                AllocationJson = JsonSerializer.Serialize(placement.Allocation, KumoJson.Options),
                PricePerHourMicros = placement.PricePerHourMicros,
                SimulatedGpus = placement.SimulatedGpus,
                OfferedAt = now,
            };
            await tx.InsertLeaseAsync(lease);
            job = current with { State = JobState.Leased, UpdatedAt = now };
            await tx.UpdateJobAsync(job);
            string gpus = placement.Allocation.GpuUuids.Count == 0 ? "" :
                $", {placement.Allocation.GpuUuids.Count}× {placement.Allocation.GpuModel}{(placement.SimulatedGpus ? " (simulated)" : "")}";
            await tx.AddJobEventAsync(new JobEventRecord(jobId, now, "offered",
                $"lease {lease.Id} offered to {placement.Provider.Name} ({placement.Provider.ProviderId}){gpus} at {placement.PricePerHourMicros} µKUMO/h"));
            await tx.CommitAsync();
        }

        signals.JobChanged(jobId);
        SignedEnvelope submission = JsonSerializer.Deserialize<SignedEnvelope>(job.SubmissionEnvelope, KumoJson.Options)!;
        var offer = new LeaseOffer(lease.Id, jobId, submission, placement.Allocation, lease.PricePerHourMicros, (int)options.OfferTimeout.TotalMilliseconds);
        if (!await sessions.TrySendAsync(lease.ProviderId, ChannelMessageTypes.LeaseOffer, offer, cancellationToken))
        {
            logger.LogWarning("could not deliver offer {Lease} to {Provider}; it will expire", lease.Id, lease.ProviderId);
        }

        return lease;
    }

    /// <summary>The provider signed its acceptance.</summary>
    public async Task AcceptAsync(string providerId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        auth.Verify(envelope, MessageTypes.LeaseAccept);
        RequireSigner(envelope, providerId);
        LeaseAcceptance acceptance = envelope.ReadPayload<LeaseAcceptance>();
        long now = Now();
        bool stale = false;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            LeaseRecord lease = await RequireLeaseAsync(tx, acceptance.LeaseId, providerId);
            JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
            if (!LeaseStateMachine.TryTransition(lease.State, LeaseEvent.Accept, out LeaseState next))
            {
                stale = true;
            }
            else
            {
                SignedEnvelope submission = JsonSerializer.Deserialize<SignedEnvelope>(job.SubmissionEnvelope, KumoJson.Options)!;
                if (acceptance.SubmissionDigest != submission.Digest() || acceptance.PricePerHourMicros != lease.PricePerHourMicros || acceptance.JobId != lease.JobId)
                {
                    throw ApiProblem.BadRequest("acceptance_mismatch", "the acceptance does not match the offer (job, submission digest or price differ)");
                }

                await tx.UpdateLeaseAsync(lease with { State = next, AcceptedAt = now, AcceptanceEnvelope = envelope.ToJson() });
                await tx.AddJobEventAsync(new JobEventRecord(lease.JobId, now, "accepted", $"lease {lease.Id} accepted by the provider"));
                await tx.CommitAsync();
                signals.JobChanged(lease.JobId);
                signals.WakeLedger(); // billing starts: the ledger opens the lease
                return;
            }
        }

        if (stale)
        {
            // The offer expired or was cancelled before the acceptance arrived: tell the provider to stand down.
            await sessions.TrySendAsync(providerId, ChannelMessageTypes.LeaseCancel,
                new LeaseCancel(acceptance.LeaseId, CloseReason.ProviderOfferExpired, "the offer was withdrawn before the acceptance arrived"), cancellationToken);
        }
    }

    /// <summary>The provider declined the offer: the job goes back to the queue, not to this provider.</summary>
    public async Task RejectAsync(string providerId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        auth.Verify(envelope, MessageTypes.LeaseReject);
        RequireSigner(envelope, providerId);
        LeaseRejection rejection = envelope.ReadPayload<LeaseRejection>();
        LeaseRecord? closed = null;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            LeaseRecord lease = await RequireLeaseAsync(tx, rejection.LeaseId, providerId);
            if (lease.State == LeaseState.Offered)
            {
                closed = await CloseInAsync(tx, lease, LeaseEvent.Reject, CloseReason.ProviderRejected, Shorten(rejection.Reason), null, Now());
            }

            await tx.CommitAsync();
        }

        if (closed is not null)
        {
            AfterClose(closed, notifyProvider: false);
        }
    }

    /// <summary>The workload is running in its sandbox.</summary>
    public async Task StartedAsync(string providerId, LeaseStarted started, CancellationToken cancellationToken)
    {
        long now = Now();
        await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
        LeaseRecord lease = await RequireLeaseAsync(tx, started.LeaseId, providerId);
        if (!LeaseStateMachine.TryTransition(lease.State, LeaseEvent.Start, out LeaseState next))
        {
            return;
        }

        await tx.UpdateLeaseAsync(lease with { State = next, StartedAt = now });
        JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
        if (!job.State.IsFinal())
        {
            await tx.UpdateJobAsync(job with { State = JobState.Running, UpdatedAt = now });
        }

        await tx.AddJobEventAsync(new JobEventRecord(lease.JobId, now, "started", "workload started in the sandbox"));
        await tx.CommitAsync();
        signals.JobChanged(lease.JobId);
    }

    /// <summary>Appends a batch of output lines, dropping any already received (after a reconnect).</summary>
    public async Task AppendLogsAsync(string providerId, LeaseLogBatch batch, CancellationToken cancellationToken)
    {
        if (batch.Lines.Count == 0)
        {
            return;
        }

        long now = Now();
        // Log batches are frequent and small: they share transactions (group commit).
        string jobId = await store.WriteBatchedAsync(async tx =>
        {
            LeaseRecord lease = await RequireLeaseAsync(tx, batch.LeaseId, providerId);
            JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
            long skip = Math.Max(0, lease.LogLinesReceived - batch.FirstSeq);
            IEnumerable<LeaseLogLine> fresh = batch.Lines.Skip((int)Math.Min(skip, batch.Lines.Count));
            long seq = job.NextLogSeq;
            var records = new List<LogRecord>();
            foreach (LeaseLogLine line in fresh)
            {
                if (seq > options.MaxLogLinesPerJob)
                {
                    if (seq == options.MaxLogLinesPerJob + 1)
                    {
                        records.Add(new LogRecord(job.Id, seq++, lease.Id, LogStream.System, now,
                            $"[kumo] log limit of {options.MaxLogLinesPerJob} lines reached; later lines are dropped"));
                    }

                    break;
                }

                string text = line.Text.Length > 16_384 ? line.Text[..16_384] : line.Text;
                records.Add(new LogRecord(job.Id, seq++, lease.Id, line.Stream, line.TimestampMs, text));
            }

            bool firstWorkloadLine = lease.FirstLogAt is null && records.Any(r => r.Stream != LogStream.System);
            await tx.AppendLogsAsync(records);
            await tx.UpdateLeaseAsync(lease with
            {
                LogLinesReceived = Math.Max(lease.LogLinesReceived, batch.FirstSeq + batch.Lines.Count),
                FirstLogAt = firstWorkloadLine ? now : lease.FirstLogAt,
            });
            await tx.UpdateJobAsync(job with { NextLogSeq = seq });
            return job.Id;
        }, cancellationToken);

        signals.JobChanged(jobId);
    }

    /// <summary>The provider's signed report of how the workload ended and what it produced.</summary>
    public async Task ResultAsync(string providerId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        auth.Verify(envelope, MessageTypes.LeaseResult);
        RequireSigner(envelope, providerId);
        LeaseResult result = envelope.ReadPayload<LeaseResult>();
        if (result.Reason.Party() == FaultParty.Network || result.Reason is CloseReason.ProviderHeartbeatLost or CloseReason.ProviderRejected or CloseReason.ProviderOfferExpired or CloseReason.None)
        {
            throw ApiProblem.BadRequest("invalid_result", $"a provider cannot close a lease with reason {result.Reason}");
        }

        foreach (OutputFile output in result.Outputs)
        {
            CheckOutput(output);
        }

        LeaseRecord? closed = null;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            LeaseRecord lease = await RequireLeaseAsync(tx, result.LeaseId, providerId);
            if (LeaseStateMachine.TryTransition(lease.State, LeaseEvent.Finish, out _))
            {
                if (result.Reason == CloseReason.Completed)
                {
                    await tx.InsertOutputsAsync([.. result.Outputs.Select(o => new OutputRecord(lease.JobId, o.Path, o.Cid, o.Size))]);
                }

                closed = await CloseInAsync(tx, lease with { ResultEnvelope = envelope.ToJson() }, LeaseEvent.Finish, result.Reason,
                    Shorten(result.Detail), result.ExitCode, Now());
            }
            else
            {
                logger.LogInformation("result for lease {Lease} in state {State} ignored", lease.Id, lease.State);
            }

            await tx.CommitAsync();
        }

        if (closed is not null)
        {
            AfterClose(closed, notifyProvider: false);
        }
    }

    /// <summary>
    /// Closes <paramref name="lease"/> inside <paramref name="tx"/> and moves its job on: success, back to the
    /// queue (when another provider may do better), cancelled, or failed with the lease's reason.
    /// </summary>
    public async Task<LeaseRecord> CloseInAsync(IHubTransaction tx, LeaseRecord lease, LeaseEvent @event, CloseReason reason, string detail, int? exitCode, long now)
    {
        LeaseStateMachine.Transition(lease.State, @event);
        LeaseRecord closed = lease with
        {
            State = LeaseState.Closed,
            ClosedAt = now,
            CloseReason = reason,
            CloseDetail = detail,
            ExitCode = exitCode,
        };
        await tx.UpdateLeaseAsync(closed);
        await tx.AddJobEventAsync(new JobEventRecord(lease.JobId, now, "lease_closed",
            $"lease {lease.Id} closed: {Names.Of(reason)} ({reason.Party().ToString().ToLowerInvariant()} side){(detail.Length > 0 ? ": " + detail : "")}"));

        JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
        if (job.State.IsFinal())
        {
            return closed;
        }

        JobRecord next;
        string kind;
        if (reason == CloseReason.Completed)
        {
            (next, kind) = (job with { State = JobState.Succeeded }, "succeeded");
        }
        else if (reason == CloseReason.TenantCancelled)
        {
            (next, kind) = (job with { State = JobState.Cancelled }, "cancelled");
        }
        else if (reason.IsRetryableElsewhere())
        {
            string excluded = string.IsNullOrEmpty(job.ExcludedProviders) ? lease.ProviderId : job.ExcludedProviders + "," + lease.ProviderId;
            (next, kind) = (job with { State = JobState.Queued, ExcludedProviders = excluded }, "requeued");
        }
        else
        {
            (next, kind) = (job with { State = JobState.Failed, FailureReason = reason, FailureDetail = detail }, "failed");
        }

        await tx.UpdateJobAsync(next with { UpdatedAt = now });
        await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, kind, kind == "requeued" ? "offering the job to another provider" : Names.Of(reason)));
        return closed;
    }

    /// <summary>After the closing transaction committed: wake followers and the scheduler, and stop the provider if it did not end the lease itself.</summary>
    public void AfterClose(LeaseRecord closed, bool notifyProvider = true)
    {
        signals.JobChanged(closed.JobId);
        signals.WakeScheduler();
        signals.WakeLedger(); // final settlement, and the refund if the job ended
        if (notifyProvider)
        {
            _ = sessions.TrySendAsync(closed.ProviderId, ChannelMessageTypes.LeaseCancel,
                new LeaseCancel(closed.Id, closed.CloseReason, closed.CloseDetail ?? ""), CancellationToken.None);
        }
    }

    /// <summary>An output must be a plain relative path (it becomes a file name on the tenant's machine) with a valid CID.</summary>
    private static void CheckOutput(OutputFile output)
    {
        string[] segments = output.Path.Split('/');
        if (output.Path.Length is 0 or > 1024 || output.Path.StartsWith('/') || output.Path.Contains('\\', StringComparison.Ordinal)
            || segments.Any(s => s.Length == 0 || s == "." || s == "..") || output.Path.Any(char.IsControl))
        {
            throw ApiProblem.BadRequest("invalid_output", $"output path '{output.Path}' must be relative, without '.', '..' or empty segments");
        }

        if (output.Size < 0)
        {
            throw ApiProblem.BadRequest("invalid_output", $"output '{output.Path}' has a negative size");
        }

        Content.ContentStore.ParseCid(output.Cid, "outputs");
    }

    private static async Task<LeaseRecord> RequireLeaseAsync(IHubReader reader, string leaseId, string providerId)
    {
        LeaseRecord? lease = await reader.GetLeaseAsync(leaseId);
        if (lease is null || lease.ProviderId != providerId)
        {
            throw ApiProblem.NotFound("unknown_lease", $"no lease {leaseId} belongs to provider {providerId}");
        }

        return lease;
    }

    private static void RequireSigner(SignedEnvelope envelope, string providerId)
    {
        if (envelope.Signer.Value != providerId)
        {
            throw ApiProblem.Forbidden("wrong_signer", $"message signed by {envelope.Signer} on the channel of {providerId}");
        }
    }

    private static string Shorten(string text) => text.Length > 2000 ? text[..2000] + "…" : text;

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}

/// <summary>Wire names of enum values (snake_case), for messages and events.</summary>
public static class Names
{
    public static string Of<T>(T value) where T : struct, Enum =>
        JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());
}
