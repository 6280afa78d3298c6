using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Leases;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Ledger;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Hub.Jobs;

/// <summary>Tenant-facing job operations: submit, cancel, read.</summary>
public sealed class JobService(
    IHubStore store,
    EnvelopeAuthenticator auth,
    ContentStore content,
    Market.MarketService market,
    LeaseCoordinator leases,
    LedgerService ledger,
    HubSignals signals,
    TimeProvider time)
{
    /// <summary>
    /// Accepts a signed submission: the spec must be valid, its inputs stored here, and some registered
    /// provider able to run it at all. Then the job is queued for the scheduler.
    /// </summary>
    public async Task<JobAccepted> SubmitAsync(SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        JobSubmission submission = envelope.ReadPayload<JobSubmission>();
        JobSpec spec = ParseSpec(submission.Spec.GetRawText());
        await CheckInputsAsync(spec, cancellationToken);
        await CheckFeasibleAsync(spec, cancellationToken);

        // The submission is also the tenant's signed deposit: the ledger locks max price × timeout in the order's
        // escrow, and the job row is written in the same store transaction as the block that does it.
        string digest = envelope.Digest();
        string jobId = OrderIds.FromSubmissionDigest(digest);
        string specJson = JobSpecWriter.ToJson(spec);
        string submissionJson = envelope.ToJson();
        try
        {
            await ledger.SubmitAsync(at => LedgerTx.FromSigned(envelope, at), async (tx, _) =>
            {
                long now = time.GetUtcNow().ToUnixTimeMilliseconds();
                await tx.InsertJobAsync(new JobRecord
                {
                    Id = jobId,
                    Tenant = envelope.Signer.Value,
                    Name = spec.Name,
                    State = JobState.Queued,
                    SpecJson = specJson,
                    SubmissionEnvelope = submissionJson,
                    CreatedAt = now,
                    UpdatedAt = now,
                });
                long locked = SettlementMath.EscrowFor(spec.MaxPricePerHourMicros, (long)spec.Timeout.TotalMilliseconds);
                await tx.AddJobEventAsync(new JobEventRecord(jobId, now, "submitted", $"submitted by {envelope.Signer}; {Amounts.Format(locked)} locked in escrow"));
            }, cancellationToken);
        }
        catch (LedgerRefusedException e)
        {
            throw LedgerProblems.From(e);
        }

        signals.WakeScheduler();
        return new JobAccepted(jobId, JobState.Queued);
    }

    /// <summary>Cancels a job on its tenant's signed request: open leases close as <c>tenant_cancelled</c> and their providers kill the workload.</summary>
    public async Task<JobView> CancelAsync(string jobId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        JobCancellation cancellation = envelope.ReadPayload<JobCancellation>();
        if (cancellation.JobId != jobId)
        {
            throw ApiProblem.BadRequest("job_mismatch", $"the signed cancellation is for {cancellation.JobId}, not {jobId}", "payload.jobId");
        }

        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        var closed = new List<LeaseRecord>();
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            JobRecord job = await tx.GetJobAsync(jobId) ?? throw ApiProblem.NotFound("unknown_job", $"no job {jobId}");
            if (job.Tenant != envelope.Signer.Value)
            {
                throw ApiProblem.Forbidden("not_your_job", $"job {jobId} belongs to {job.Tenant}; only its tenant can cancel it");
            }

            if (job.State.IsFinal())
            {
                throw ApiProblem.Conflict("job_finished", $"job {jobId} already ended ({Names.Of(job.State)})");
            }

            await auth.RecordNonceAsync(tx, envelope);
            foreach (LeaseRecord lease in (await tx.ListLeasesForJobAsync(jobId)).Where(l => l.State.IsOpen()))
            {
                closed.Add(await leases.CloseInAsync(tx, lease, LeaseEvent.Cancel, CloseReason.TenantCancelled, "cancelled by the tenant", null, now, closed));
            }

            JobRecord after = (await tx.GetJobAsync(jobId))!;
            if (!after.State.IsFinal())
            {
                await tx.UpdateJobAsync(after with { State = JobState.Cancelled, UpdatedAt = now });
                await tx.AddJobEventAsync(new JobEventRecord(jobId, now, "cancelled", "cancelled by the tenant before it was placed"));
            }

            await tx.CommitAsync();
        }

        foreach (LeaseRecord lease in closed)
        {
            leases.AfterClose(lease);
        }

        signals.JobChanged(jobId);
        signals.WakeLedger(); // refund what the order has not spent
        return await GetAsync(jobId, cancellationToken);
    }

    public async Task<JobView> GetAsync(string jobId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        JobRecord job = await reader.GetJobAsync(jobId) ?? throw ApiProblem.NotFound("unknown_job", $"no job {jobId}");
        return await ToViewAsync(reader, job, withEvents: true);
    }

    public async Task<IReadOnlyList<JobView>> ListAsync(string? tenant, int limit, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        var views = new List<JobView>();
        foreach (JobRecord job in await reader.ListJobsAsync(tenant, Math.Clamp(limit, 1, 500)))
        {
            views.Add(await ToViewAsync(reader, job, withEvents: false));
        }

        return views;
    }

    /// <summary>Log lines after <paramref name="afterSeq"/>; and whether the job has ended (so a follower can stop once drained).</summary>
    public async Task<(IReadOnlyList<LogEntry> Lines, JobState State)> ReadLogsAsync(string jobId, long afterSeq, int limit, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        JobRecord job = await reader.GetJobAsync(jobId) ?? throw ApiProblem.NotFound("unknown_job", $"no job {jobId}");
        IReadOnlyList<LogRecord> lines = await reader.ListLogsAsync(jobId, afterSeq, limit);
        return ([.. lines.Select(l => new LogEntry(l.Seq, l.LeaseId, l.Stream, DateTimeOffset.FromUnixTimeMilliseconds(l.Timestamp), l.Text))], job.State);
    }

    internal static JobSpec ParseSpec(string specJson)
    {
        JobSpecReadResult read = JobSpecReader.ReadWireForm(specJson, "spec");
        if (!read.Succeeded)
        {
            SpecError first = read.Errors[0];
            throw ApiProblem.Unprocessable(
                "invalid_spec",
                read.Errors.Count == 1 ? $"{first.Path}: {first.Message}" : $"{read.Errors.Count} problems, first: {first.Path}: {first.Message}",
                "payload.spec." + first.Path,
                new { errors = read.Errors.Select(e => new { e.Path, e.Line, e.Column, e.Message }) });
        }

        return read.Spec;
    }

    private async Task CheckInputsAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        for (int i = 0; i < spec.Workload.Inputs.Count; i++)
        {
            JobInput input = spec.Workload.Inputs[i];
            string field = $"payload.spec.workload.inputs[{i}]";
            if (input.Cid is null)
            {
                throw ApiProblem.Unprocessable("input_not_uploaded", $"input '{input.Name}' has no cid; upload the file and send its CID (the kumo CLI does this)", field);
            }

            string cid = ContentStore.ParseCid(input.Cid, field + ".cid").ToString();
            if (!await content.ExistsAsync(cid, cancellationToken))
            {
                throw ApiProblem.Unprocessable("unknown_cid", $"input '{input.Name}': no content {cid} is stored on this hub; upload it first", field + ".cid");
            }
        }
    }

    /// <summary>
    /// Feasibility before money: a job nobody registered could run even when idle (no such GPU, too little of
    /// something, a region or attestation nobody has) is refused before any escrow is locked, with the count of
    /// providers each constraint excluded.
    /// </summary>
    private async Task CheckFeasibleAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        (bool possible, PlanView plan) = await market.CheckPossibleAsync(spec, cancellationToken);
        if (!possible)
        {
            string detail = plan.Providers == 0
                ? "no provider has registered with this hub yet, so nothing could run the job"
                : $"no registered provider could run this job even when idle: {plan.Explanation}";
            throw ApiProblem.Unprocessable("infeasible", detail, "payload.spec.resources",
                new { exclusions = plan.Exclusions, providers = plan.Providers });
        }
    }

    private static async Task<JobView> ToViewAsync(IHubReader reader, JobRecord job, bool withEvents)
    {
        IReadOnlyList<LeaseRecord> leaseRecords = await reader.ListLeasesForJobAsync(job.Id);
        var leaseViews = new List<LeaseView>();
        foreach (LeaseRecord lease in leaseRecords)
        {
            ProviderRecord? provider = await reader.GetProviderAsync(lease.ProviderId);
            leaseViews.Add(ToView(lease, provider?.Name ?? "?"));
        }

        IReadOnlyList<OutputRecord> outputs = await reader.ListOutputsAsync(job.Id);
        IReadOnlyList<JobEventRecord> events = withEvents ? await reader.ListJobEventsAsync(job.Id) : [];
        return new JobView(
            job.Id,
            job.Name,
            Kumo.Crypto.AccountId.Parse(job.Tenant),
            job.State,
            DateTimeOffset.FromUnixTimeMilliseconds(job.CreatedAt),
            DateTimeOffset.FromUnixTimeMilliseconds(job.UpdatedAt),
            JsonDocument.Parse(job.SpecJson).RootElement.Clone(),
            leaseViews,
            [.. outputs.Select(o => new OutputFile(o.Path, o.Cid, o.Size))],
            job.FailureReason is { } reason ? new JobFailure(reason, reason.Party(), job.FailureDetail ?? "") : null,
            [.. events.Select(e => new JobEvent(DateTimeOffset.FromUnixTimeMilliseconds(e.At), e.Kind, e.Detail))])
        {
            Attempt = job.Attempt,
            Failovers = job.Failovers,
            Explanation = job.Explanation,
        };
    }

    private static LeaseView ToView(LeaseRecord l, string providerName) => new(
        l.Id,
        l.JobId,
        Kumo.Crypto.AccountId.Parse(l.ProviderId),
        providerName,
        l.State,
        JsonSerializer.Deserialize<Allocation>(l.AllocationJson, KumoJson.Options)!,
        l.PricePerHourMicros,
        l.SimulatedGpus,
        FromMs(l.OfferedAt)!.Value,
        FromMs(l.AcceptedAt),
        FromMs(l.StartedAt),
        FromMs(l.FirstLogAt),
        FromMs(l.ClosedAt),
        l.CloseReason,
        l.State == LeaseState.Closed ? l.CloseReason.Party() : null,
        l.CloseDetail,
        l.ExitCode)
    {
        Attempt = l.Attempt,
        NodeRank = l.NodeRank,
        ReplicaOf = l.ReplicaOf,
        BidId = l.BidId,
        ReplicationFeeBps = l.ReplicationFeeBps,
    };

    private static DateTimeOffset? FromMs(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}
