using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Control;
using Kumo.Hub.Jobs;
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
    Market.ReputationKeeper reputation,
    Verification.ReplicationFees replicationFees,
    ILogger<LeaseCoordinator> logger)
{
    /// <summary>
    /// Offers the nodes of a job's order to the providers whose bids won, in one store transaction: one lease per node
    /// (ranked, all of the same attempt), the winning bids marked won and <paramref name="lostBids"/> lost, the job
    /// leased. Every node's offer names its peers and carries the job's last checkpoint (after a failover). Returns
    /// null, changing nothing, when the job's order is no longer open at <paramref name="attempt"/>.
    /// </summary>
    public async Task<IReadOnlyList<LeaseRecord>?> OfferGroupAsync(string jobId, int attempt, IReadOnlyList<Market.NodeOffer> nodes,
        IReadOnlyList<(string BidId, string Reason)> lostBids, CancellationToken cancellationToken)
    {
        long now = Now();
        var created = new List<LeaseRecord>();
        var feeReasons = new List<string>();
        JobRecord job;
        IReadOnlyList<OutputFile> checkpoint = [];
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            JobRecord? current = await tx.GetJobAsync(jobId);
            if (current is null || !current.State.IsOrderOpen() || current.Attempt != attempt)
            {
                return null;
            }

            JobSpec spec = JobService.ParseSpec(current.SpecJson);
            foreach (Market.NodeOffer node in nodes)
            {
                (int feeBps, string feeReason) = await replicationFees.QuoteAsync(tx, spec, nodes.Count, node.ProviderId, node.Allocation);
                feeReasons.Add(feeReason);
                var lease = new LeaseRecord
                {
                    Id = node.LeaseId,
                    JobId = jobId,
                    ProviderId = node.ProviderId,
                    State = LeaseState.Offered,
                    AllocationJson = JsonSerializer.Serialize(node.Allocation, KumoJson.Options),
                    PricePerHourMicros = node.PricePerHourMicros,
                    SimulatedGpus = node.SimulatedGpus,
                    OfferedAt = now,
                    Attempt = attempt,
                    NodeRank = node.Rank,
                    BidId = node.BidId,
                    ReplicationFeeBps = feeBps,
                };
                await tx.InsertLeaseAsync(lease);
                created.Add(lease);
                string gpus = node.Allocation.GpuUuids.Count == 0 ? "" :
                    $", {node.Allocation.GpuUuids.Count}× {node.Allocation.GpuModel}{(node.SimulatedGpus ? " (simulated)" : "")}";
                string rank = nodes.Count > 1 ? $"node {node.Rank}: " : "";
                await tx.AddJobEventAsync(new JobEventRecord(jobId, now, "offered",
                    $"{rank}lease {lease.Id} offered to {node.ProviderName} ({node.ProviderId}){gpus} at {node.PricePerHourMicros} µKUMO/h (bid {node.BidId})" +
                    (feeBps == 0 ? "" : $"; replication fee {feeBps / 100.0:0.##}% of its pay, {feeReason}")));
            }

            foreach (string bidId in nodes.Select(n => n.BidId).Distinct(StringComparer.Ordinal))
            {
                await tx.UpdateBidStateAsync(bidId, BidState.Won, "");
            }

            foreach ((string bidId, string reason) in lostBids)
            {
                await tx.UpdateBidStateAsync(bidId, BidState.Lost, reason);
            }

            job = current with { State = JobState.Leased, UpdatedAt = now, Explanation = null };
            await tx.UpdateJobAsync(job);
            if (await tx.GetLatestCheckpointAsync(jobId) is { } latest && JobService.ParseSpec(job.SpecJson).Checkpoint is not null)
            {
                checkpoint = JsonSerializer.Deserialize<List<OutputFile>>(latest.FilesJson, KumoJson.Options)!;
            }

            await tx.CommitAsync();
        }

        signals.JobChanged(jobId);
        SignedEnvelope submission = JsonSerializer.Deserialize<SignedEnvelope>(job.SubmissionEnvelope, KumoJson.Options)!;
        List<ClusterPeer> peers = nodes.Count > 1 ? [.. nodes.Select(n => new ClusterPeer(n.Rank, n.LeaseId, n.ProviderId, n.Address))] : [];
        foreach (((LeaseRecord lease, Market.NodeOffer node), string feeReason) in created.Zip(nodes).Zip(feeReasons))
        {
            var offer = new LeaseOffer(lease.Id, jobId, submission, node.Allocation, lease.PricePerHourMicros, (int)options.OfferTimeout.TotalMilliseconds)
            {
                NodeRank = node.Rank,
                Peers = peers,
                Checkpoint = checkpoint,
                BidId = node.BidId,
                ReplicationFeeBps = lease.ReplicationFeeBps,
                ReplicationFeeReason = feeReason,
            };
            if (!await sessions.TrySendAsync(lease.ProviderId, ChannelMessageTypes.LeaseOffer, offer, cancellationToken))
            {
                logger.LogWarning("could not deliver offer {Lease} to {Provider}; it will expire", lease.Id, lease.ProviderId);
            }
        }

        return created;
    }

    /// <summary>
    /// Offers a replica of a succeeded single-node job — the same tenant-signed submission — to another provider, to check
    /// the outputs of lease <paramref name="primaryLeaseId"/> (docs/REPLICATION.md). The replica lease is of the job's current attempt
    /// but never moves the job (<see cref="LeaseRecord.ReplicaOf"/>); it is offered at price 0 without a bid and the
    /// ledger never follows it (marked closed for the ledger from the start): replicas are not billed. Returns null,
    /// changing nothing, when the job is not succeeded any more or the primary is unknown.
    /// </summary>
    public async Task<LeaseRecord?> OfferReplicaAsync(string jobId, string primaryLeaseId, string providerId, string providerName, Allocation allocation,
        bool simulatedGpus, string detail, CancellationToken cancellationToken)
    {
        long now = Now();
        JobRecord? job;
        var lease = new LeaseRecord
        {
            Id = "l-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)),
            JobId = jobId,
            ProviderId = providerId,
            State = LeaseState.Offered,
            AllocationJson = JsonSerializer.Serialize(allocation, KumoJson.Options),
            PricePerHourMicros = 0,
            SimulatedGpus = simulatedGpus,
            OfferedAt = now,
            LedgerPhase = LedgerPhases.Closed,
            ReplicaOf = primaryLeaseId,
        };
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            job = await tx.GetJobAsync(jobId);
            if (job is null || job.State != JobState.Succeeded || await tx.GetLeaseAsync(primaryLeaseId) is null)
            {
                return null;
            }

            lease = lease with { Attempt = job.Attempt };
            await tx.InsertLeaseAsync(lease);
            await tx.AddJobEventAsync(new JobEventRecord(jobId, now, "replicated",
                $"replica lease {lease.Id} offered to {providerName} ({providerId}) at no price to the job, to check the outputs of lease {primaryLeaseId}: {detail}"));
            await tx.CommitAsync();
        }

        signals.JobChanged(jobId);
        signals.WakeScheduler(); // the market's book adopts the replica's allocation
        SignedEnvelope submission = JsonSerializer.Deserialize<SignedEnvelope>(job.SubmissionEnvelope, KumoJson.Options)!;
        var offer = new LeaseOffer(lease.Id, jobId, submission, allocation, 0, (int)options.OfferTimeout.TotalMilliseconds);
        if (!await sessions.TrySendAsync(providerId, ChannelMessageTypes.LeaseOffer, offer, cancellationToken))
        {
            logger.LogWarning("could not deliver replica offer {Lease} to {Provider}; it will expire", lease.Id, providerId);
        }

        return lease;
    }

    /// <summary>
    /// A node's signed checkpoint: the files under the job's checkpoint path as uploaded to this hub. Kept as the job's
    /// latest checkpoint (what a failover restarts from, and how far a failed lease is billed).
    /// </summary>
    public async Task CheckpointAsync(string providerId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        auth.Verify(envelope, MessageTypes.LeaseCheckpoint);
        RequireSigner(envelope, providerId);
        LeaseCheckpointReport report = envelope.ReadPayload<LeaseCheckpointReport>();
        if (report.Files is null || report.Files.Count is 0 or > 1000)
        {
            throw ApiProblem.BadRequest("invalid_checkpoint", "a checkpoint lists 1 to 1000 files");
        }

        long now = Now();
        await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
        await auth.RecordNonceAsync(tx, envelope);
        LeaseRecord lease = await RequireLeaseAsync(tx, report.LeaseId, providerId);
        if (lease.State is not (LeaseState.Accepted or LeaseState.Running))
        {
            throw ApiProblem.Conflict("lease_not_running", $"lease {lease.Id} is {Names.Of(lease.State)}; only a running lease checkpoints");
        }

        JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
        CheckpointPolicy policy = JobService.ParseSpec(job.SpecJson).Checkpoint
            ?? throw ApiProblem.BadRequest("no_checkpoint_path", $"job {job.Id} declares no checkpoint path");
        foreach (OutputFile file in report.Files)
        {
            CheckOutput(file);
            if (!file.Path.StartsWith(policy.Path + "/", StringComparison.Ordinal))
            {
                throw ApiProblem.BadRequest("invalid_checkpoint", $"checkpoint file '{file.Path}' is not under the job's checkpoint path '{policy.Path}'");
            }

            if (await tx.GetContentAsync(file.Cid) is null)
            {
                throw ApiProblem.BadRequest("unknown_cid", $"checkpoint file '{file.Path}': no content {file.Cid} is stored on this hub; upload it first");
            }
        }

        // The hub's clock, not the provider's, says when the checkpoint existed: billing after a failover stops here.
        await tx.InsertCheckpointAsync(new CheckpointRecord(job.Id, lease.Id, now, JsonSerializer.Serialize(report.Files, KumoJson.Options), envelope.ToJson()));
        await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "checkpoint",
            $"node {lease.NodeRank} checkpointed {report.Files.Count} file(s), {report.Files.Sum(f => f.Size)} bytes"));
        await tx.CommitAsync();
        signals.JobChanged(job.Id);
        signals.WakeLedger(); // checkpointed time can be settled
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

                if ((acceptance.ReplicationFeeBps ?? 0) != lease.ReplicationFeeBps)
                {
                    throw ApiProblem.BadRequest("acceptance_mismatch",
                        $"the acceptance signs a replication fee of {acceptance.ReplicationFeeBps ?? 0} bps; the offer's is {lease.ReplicationFeeBps} bps");
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
        var siblings = new List<LeaseRecord>();
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            LeaseRecord lease = await RequireLeaseAsync(tx, rejection.LeaseId, providerId);
            if (lease.State == LeaseState.Offered)
            {
                closed = await CloseInAsync(tx, lease, LeaseEvent.Reject, CloseReason.ProviderRejected, Shorten(rejection.Reason), null, Now(), siblings);
            }

            await tx.CommitAsync();
        }

        if (closed is not null)
        {
            AfterClose(closed, notifyProvider: false);
            siblings.ForEach(s => AfterClose(s));
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
            if (lease.ReplicaOf is not null)
            {
                // A replica's output is not the tenant's run: its lines are not kept in the job's log.
                await tx.UpdateLeaseAsync(lease with { LogLinesReceived = Math.Max(lease.LogLinesReceived, batch.FirstSeq + batch.Lines.Count) });
                return lease.JobId;
            }

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
        var siblings = new List<LeaseRecord>();
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            LeaseRecord lease = await RequireLeaseAsync(tx, result.LeaseId, providerId);
            if (LeaseStateMachine.TryTransition(lease.State, LeaseEvent.Finish, out _))
            {
                if (result.Reason == CloseReason.Completed && lease.ReplicaOf is null)
                {
                    // A replica's outputs are only compared with the job's (in its signed result), never made the job's.
                    // A cluster's nodes may write the same file names: node 0's outputs keep their paths, node N's go under node-N/.
                    string prefix = lease.NodeRank == 0 ? "" : $"node-{lease.NodeRank}/";
                    await tx.InsertOutputsAsync([.. result.Outputs.Select(o => new OutputRecord(lease.JobId, prefix + o.Path, o.Cid, o.Size))]);
                }

                closed = await CloseInAsync(tx, lease with { ResultEnvelope = envelope.ToJson() }, LeaseEvent.Finish, result.Reason,
                    Shorten(result.Detail), result.ExitCode, Now(), siblings);
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
            siblings.ForEach(s => AfterClose(s));
        }
    }

    /// <summary>
    /// Closes <paramref name="lease"/> inside <paramref name="tx"/> and moves its job on, treating the leases of one
    /// order attempt as one group (a cluster: all nodes or none):
    /// <list type="bullet">
    /// <item>completed: the job succeeds when every node of the group has completed;</item>
    /// <item>cancelled by the tenant: the job is cancelled;</item>
    /// <item>a provider fault (heartbeat lost, unstable, sandbox or upload failure, an accepted offer left to expire):
    /// failover — the other nodes stop and the whole group is re-ordered from the last checkpoint, up to the spec's
    /// retries; after that the job fails with the story of every fault;</item>
    /// <item>a provider turning its offer down: the other nodes' offers are withdrawn and the order re-opens without it;</item>
    /// <item>anything else (the workload failed, the escrow ran dry): the job fails and the other nodes stop.</item>
    /// </list>
    /// Other nodes closed here are returned through <paramref name="alsoClosed"/> so the caller can tell their providers.
    /// </summary>
    public async Task<LeaseRecord> CloseInAsync(IHubTransaction tx, LeaseRecord lease, LeaseEvent @event, CloseReason reason, string detail, int? exitCode, long now,
        List<LeaseRecord>? alsoClosed = null)
    {
        if (await tx.GetLeaseAsync(lease.Id) is { State: LeaseState.Closed } already)
        {
            return already; // closed earlier in this transaction with another node of its cluster
        }

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
        await reputation.RecordInAsync(tx, closed, now);

        JobRecord job = (await tx.GetJobAsync(lease.JobId))!;
        if (job.State.IsFinal() || lease.Attempt != job.Attempt || lease.ReplicaOf is not null)
        {
            return closed; // a lease of an earlier attempt, of a job that already ended, or a replica (it never moves its job)
        }

        List<LeaseRecord> group = [.. (await tx.ListLeasesForJobAsync(job.Id)).Where(l => l.Attempt == job.Attempt && l.Id != lease.Id && l.ReplicaOf is null)];
        if (reason == CloseReason.Completed)
        {
            if (group.All(l => l.State == LeaseState.Closed && l.CloseReason == CloseReason.Completed))
            {
                await tx.UpdateJobAsync(job with { State = JobState.Succeeded, UpdatedAt = now });
                await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "succeeded", group.Count == 0 ? "completed" : $"all {group.Count + 1} nodes completed"));
            }

            return closed;
        }

        if (reason == CloseReason.TenantCancelled)
        {
            await CloseSiblingsAsync(tx, group, CloseReason.TenantCancelled, "cancelled by the tenant", now, alsoClosed);
            await tx.UpdateJobAsync(job with { State = JobState.Cancelled, UpdatedAt = now });
            await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "cancelled", Names.Of(reason)));
            return closed;
        }

        JobSpec spec = JobService.ParseSpec(job.SpecJson);
        string excluded = string.IsNullOrEmpty(job.ExcludedProviders) ? lease.ProviderId : job.ExcludedProviders + "," + lease.ProviderId;
        if (reason.IsRetryableElsewhere())
        {
            // The winner turned its offer down (or never answered): the order re-opens without it.
            await CloseSiblingsAsync(tx, group, CloseReason.NetworkClusterEnded, $"node {lease.NodeRank}'s provider did not take its offer", now, alsoClosed);
            await tx.UpdateJobAsync(job with { State = JobState.Queued, Attempt = job.Attempt + 1, OrderOpenedAt = now, ExcludedProviders = excluded, UpdatedAt = now });
            await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "reordered", $"the order re-opens without {lease.ProviderId} ({Names.Of(reason)})"));
            return closed;
        }

        if (reason.IsProviderFault())
        {
            await CloseSiblingsAsync(tx, group, CloseReason.NetworkClusterFailover, $"node {lease.NodeRank} failed on its provider's side; the group is re-ordered", now, alsoClosed);
            if (job.Failovers < spec.Retries)
            {
                CheckpointRecord? checkpoint = spec.Checkpoint is null ? null : await tx.GetLatestCheckpointAsync(job.Id);
                string from = checkpoint is null
                    ? spec.Checkpoint is null ? "from the start (the job declares no checkpoint)" : "from the start (no checkpoint was taken yet)"
                    : $"from the checkpoint of {DateTimeOffset.FromUnixTimeMilliseconds(checkpoint.At):u}";
                await tx.UpdateJobAsync(job with
                {
                    State = JobState.Queued,
                    Attempt = job.Attempt + 1,
                    Failovers = job.Failovers + 1,
                    OrderOpenedAt = now,
                    ExcludedProviders = excluded,
                    UpdatedAt = now,
                });
                await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "failover",
                    $"failover {job.Failovers + 1} of {spec.Retries}: {group.Count + 1} node(s) re-ordered {from}, without {lease.ProviderId}"));
                return closed;
            }

            string story = await FailoverStoryAsync(tx, job.Id);
            string failure = $"gave up after {job.Failovers + 1} provider fault(s) (retries: {spec.Retries}): {story}";
            await tx.UpdateJobAsync(job with { State = JobState.Failed, FailureReason = reason, FailureDetail = Shorten(failure), UpdatedAt = now });
            await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "failed", Shorten(failure)));
            return closed;
        }

        await CloseSiblingsAsync(tx, group, CloseReason.NetworkClusterEnded, $"node {lease.NodeRank} ended the job: {Names.Of(reason)}", now, alsoClosed);
        await tx.UpdateJobAsync(job with { State = JobState.Failed, FailureReason = reason, FailureDetail = detail, UpdatedAt = now });
        await tx.AddJobEventAsync(new JobEventRecord(job.Id, now, "failed", Names.Of(reason)));
        return closed;
    }

    private async Task CloseSiblingsAsync(IHubTransaction tx, List<LeaseRecord> group, CloseReason reason, string detail, long now, List<LeaseRecord>? alsoClosed)
    {
        foreach (LeaseRecord sibling in group.Where(l => l.State.IsOpen()))
        {
            LeaseRecord closed = sibling with { State = LeaseState.Closed, ClosedAt = now, CloseReason = reason, CloseDetail = detail };
            LeaseStateMachine.Transition(sibling.State, LeaseEvent.Cancel);
            await tx.UpdateLeaseAsync(closed);
            await tx.AddJobEventAsync(new JobEventRecord(sibling.JobId, now, "lease_closed", $"lease {sibling.Id} closed: {Names.Of(reason)}: {detail}"));
            alsoClosed?.Add(closed);
        }
    }

    /// <summary>"attempt 1: l-… on kumo1… closed provider_heartbeat_lost (…); attempt 2: …".</summary>
    private static async Task<string> FailoverStoryAsync(IHubReader reader, string jobId)
    {
        IEnumerable<string> faults = (await reader.ListLeasesForJobAsync(jobId))
            .Where(l => l.State == LeaseState.Closed && l.CloseReason.IsProviderFault())
            .OrderBy(l => l.ClosedAt)
            .Select(l => $"attempt {l.Attempt + 1}: lease {l.Id} on {l.ProviderId} closed {Names.Of(l.CloseReason)}{(string.IsNullOrEmpty(l.CloseDetail) ? "" : $" ({l.CloseDetail})")}");
        return string.Join("; ", faults);
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
