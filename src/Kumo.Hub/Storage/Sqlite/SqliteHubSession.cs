using Dapper;
using Kumo.Crypto;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Microsoft.Data.Sqlite;

namespace Kumo.Hub.Storage.Sqlite;

/// <summary>A connection, and a transaction when writing. The SQL is plain enough to carry over to PostgreSQL.</summary>
internal sealed class SqliteHubSession(SqliteConnection connection, SqliteTransaction? transaction, Action onDispose, bool batched = false) : IHubTransaction
{
    private const string JobColumns = "id, seq, tenant, name, state, spec_json, submission_envelope, created_at, updated_at, failure_reason, failure_detail, next_log_seq, excluded_providers";
    private const string LeaseColumns = "id, job_id, provider_id, state, allocation_json, price_per_hour_micros, simulated_gpus, offered_at, accepted_at, started_at, first_log_at, closed_at, close_reason, close_detail, exit_code, acceptance_envelope, result_envelope, log_lines_received";
    private const string ProviderColumns = "id, name, public_key, registration_envelope, inventory_json, pricing_json, sandbox, simulated, status, registered_at, last_heartbeat_at, last_heartbeat_seq";

    private bool _committed;
    private bool _disposed;

    // ---- reads -------------------------------------------------------------------------------------------

    public async Task<ProviderRecord?> GetProviderAsync(string id) =>
        (await Query<ProviderRow>($"SELECT {ProviderColumns} FROM providers WHERE id = @id", new { id })).FirstOrDefault()?.ToRecord();

    public async Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync() =>
        [.. (await Query<ProviderRow>($"SELECT {ProviderColumns} FROM providers ORDER BY registered_at, id")).Select(r => r.ToRecord())];

    public async Task<JobRecord?> GetJobAsync(string id) =>
        (await Query<JobRow>($"SELECT {JobColumns} FROM jobs WHERE id = @id", new { id })).FirstOrDefault()?.ToRecord();

    public async Task<IReadOnlyList<JobRecord>> ListJobsAsync(string? tenant, int limit) =>
        [.. (await Query<JobRow>(
            $"SELECT {JobColumns} FROM jobs WHERE (@tenant IS NULL OR tenant = @tenant) ORDER BY seq DESC LIMIT @limit",
            new { tenant, limit })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<JobRecord>> ListQueuedJobsAsync(int limit) =>
        [.. (await Query<JobRow>(
            $"SELECT {JobColumns} FROM jobs WHERE state = @state ORDER BY seq LIMIT @limit",
            new { state = (int)JobState.Queued, limit })).Select(r => r.ToRecord())];

    public async Task<LeaseRecord?> GetLeaseAsync(string id) =>
        (await Query<LeaseRow>($"SELECT {LeaseColumns} FROM leases WHERE id = @id", new { id })).FirstOrDefault()?.ToRecord();

    public async Task<IReadOnlyList<LeaseRecord>> ListLeasesForJobAsync(string jobId) =>
        [.. (await Query<LeaseRow>($"SELECT {LeaseColumns} FROM leases WHERE job_id = @jobId ORDER BY offered_at, id", new { jobId })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<LeaseRecord>> ListOpenLeasesAsync(string? providerId) =>
        [.. (await Query<LeaseRow>(
            $"SELECT {LeaseColumns} FROM leases WHERE state <> @closed AND (@providerId IS NULL OR provider_id = @providerId) ORDER BY offered_at, id",
            new { closed = (int)LeaseState.Closed, providerId })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<OpenLease>> ListOpenLeaseStatesAsync(string providerId) =>
        [.. (await Query<(string Id, long State, long? AcceptedAt)>(
            "SELECT id, state, accepted_at FROM leases WHERE provider_id = @providerId AND state <> @closed",
            new { providerId, closed = (int)LeaseState.Closed })).Select(r => new OpenLease(r.Id, (LeaseState)r.State, r.AcceptedAt))];

    public async Task<IReadOnlyList<JobEventRecord>> ListJobEventsAsync(string jobId) =>
        [.. await Query<JobEventRecord>("SELECT job_id AS JobId, at AS At, kind AS Kind, detail AS Detail FROM job_events WHERE job_id = @jobId ORDER BY id", new { jobId })];

    public async Task<IReadOnlyList<LogRecord>> ListLogsAsync(string jobId, long afterSeq, int limit) =>
        [.. (await Query<LogRow>(
            "SELECT job_id, seq, lease_id, stream, timestamp, text FROM job_logs WHERE job_id = @jobId AND seq > @afterSeq ORDER BY seq LIMIT @limit",
            new { jobId, afterSeq, limit })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<OutputRecord>> ListOutputsAsync(string jobId) =>
        [.. await Query<OutputRecord>("SELECT job_id AS JobId, path AS Path, cid AS Cid, size AS Size FROM job_outputs WHERE job_id = @jobId ORDER BY path", new { jobId })];

    public async Task<ContentRecord?> GetContentAsync(string cid) =>
        (await Query<ContentRecord>("SELECT cid AS Cid, size AS Size, stored_at AS StoredAt FROM content WHERE cid = @cid", new { cid })).FirstOrDefault();

    public async Task<UploadRecord?> GetUploadAsync(string id) =>
        (await Query<UploadRow>("SELECT id, cid, size, leaves_json, owner, created_at FROM uploads WHERE id = @id", new { id })).FirstOrDefault()?.ToRecord();

    public async Task<UploadRecord?> FindUploadByCidAsync(string cid) =>
        (await Query<UploadRow>("SELECT id, cid, size, leaves_json, owner, created_at FROM uploads WHERE cid = @cid ORDER BY created_at DESC LIMIT 1", new { cid })).FirstOrDefault()?.ToRecord();

    public async Task<IReadOnlyList<int>> ListReceivedChunksAsync(string uploadId) =>
        [.. (await Query<long>("SELECT idx FROM upload_chunks WHERE upload_id = @uploadId ORDER BY idx", new { uploadId })).Select(i => (int)i)];

    public async Task<IReadOnlyList<UploadRecord>> ListUploadsCreatedBeforeAsync(long before) =>
        [.. (await Query<UploadRow>("SELECT id, cid, size, leaves_json, owner, created_at FROM uploads WHERE created_at < @before", new { before })).Select(r => r.ToRecord())];

    // ---- writes ------------------------------------------------------------------------------------------

    public async Task<bool> TryRecordNonceAsync(AccountId account, long nonce, long at) =>
        await Execute(
            "INSERT INTO seen_nonces(account, nonce, seen_at) VALUES (@account, @nonce, @at) ON CONFLICT DO NOTHING",
            new { account = account.Value, nonce, at }) == 1;

    public Task<int> PruneNoncesAsync(long before) =>
        Execute("DELETE FROM seen_nonces WHERE seen_at < @before", new { before });

    public Task UpsertProviderAsync(ProviderRecord p) => Execute(
        $"""
        INSERT INTO providers({ProviderColumns})
        VALUES (@Id, @Name, @PublicKey, @RegistrationEnvelope, @InventoryJson, @PricingJson, @Sandbox, @Simulated, @Status, @RegisteredAt, @LastHeartbeatAt, @LastHeartbeatSeq)
        ON CONFLICT(id) DO UPDATE SET name = excluded.name, public_key = excluded.public_key,
            registration_envelope = excluded.registration_envelope, inventory_json = excluded.inventory_json,
            pricing_json = excluded.pricing_json, sandbox = excluded.sandbox, simulated = excluded.simulated,
            status = excluded.status, last_heartbeat_at = excluded.last_heartbeat_at, last_heartbeat_seq = excluded.last_heartbeat_seq
        """,
        new
        {
            p.Id, p.Name, p.PublicKey, p.RegistrationEnvelope, p.InventoryJson, p.PricingJson, p.Sandbox,
            Simulated = p.Simulated ? 1 : 0, Status = (int)p.Status, p.RegisteredAt, p.LastHeartbeatAt, p.LastHeartbeatSeq,
        });

    public Task UpdateProviderLivenessAsync(string id, ProviderStatus status, long? lastHeartbeatAt, long lastHeartbeatSeq) => Execute(
        "UPDATE providers SET status = @status, last_heartbeat_at = @lastHeartbeatAt, last_heartbeat_seq = @lastHeartbeatSeq WHERE id = @id",
        new { id, status = (int)status, lastHeartbeatAt, lastHeartbeatSeq });

    public async Task<ProviderStatus?> TouchProviderAsync(string id, long at, long sequence)
    {
        long? before = (await Query<long?>("SELECT status FROM providers WHERE id = @id", new { id })).FirstOrDefault();
        if (before is null)
        {
            return null;
        }

        await Execute(
            "UPDATE providers SET status = @online, last_heartbeat_at = @at, last_heartbeat_seq = @sequence WHERE id = @id",
            new { id, at, sequence, online = (int)ProviderStatus.Online });
        return (ProviderStatus)before.Value;
    }

    public Task InsertJobAsync(JobRecord j) => Execute(
        """
        INSERT INTO jobs(id, tenant, name, state, spec_json, submission_envelope, created_at, updated_at, failure_reason, failure_detail, next_log_seq, excluded_providers)
        VALUES (@Id, @Tenant, @Name, @State, @SpecJson, @SubmissionEnvelope, @CreatedAt, @UpdatedAt, @FailureReason, @FailureDetail, @NextLogSeq, @ExcludedProviders)
        """,
        JobRow.Parameters(j));

    public Task UpdateJobAsync(JobRecord j) => Execute(
        """
        UPDATE jobs SET state = @State, updated_at = @UpdatedAt, failure_reason = @FailureReason, failure_detail = @FailureDetail,
            next_log_seq = @NextLogSeq, excluded_providers = @ExcludedProviders
        WHERE id = @Id
        """,
        JobRow.Parameters(j));

    public Task InsertLeaseAsync(LeaseRecord l) => Execute(
        $"""
        INSERT INTO leases({LeaseColumns})
        VALUES (@Id, @JobId, @ProviderId, @State, @AllocationJson, @PricePerHourMicros, @SimulatedGpus, @OfferedAt, @AcceptedAt, @StartedAt,
                @FirstLogAt, @ClosedAt, @CloseReason, @CloseDetail, @ExitCode, @AcceptanceEnvelope, @ResultEnvelope, @LogLinesReceived)
        """,
        LeaseRow.Parameters(l));

    public Task UpdateLeaseAsync(LeaseRecord l) => Execute(
        """
        UPDATE leases SET state = @State, accepted_at = @AcceptedAt, started_at = @StartedAt, first_log_at = @FirstLogAt,
            closed_at = @ClosedAt, close_reason = @CloseReason, close_detail = @CloseDetail, exit_code = @ExitCode,
            acceptance_envelope = @AcceptanceEnvelope, result_envelope = @ResultEnvelope, log_lines_received = @LogLinesReceived
        WHERE id = @Id
        """,
        LeaseRow.Parameters(l));

    public Task AddJobEventAsync(JobEventRecord e) => Execute(
        "INSERT INTO job_events(job_id, at, kind, detail) VALUES (@JobId, @At, @Kind, @Detail)", e);

    public Task AppendLogsAsync(IReadOnlyList<LogRecord> lines) => Execute(
        "INSERT INTO job_logs(job_id, seq, lease_id, stream, timestamp, text) VALUES (@JobId, @Seq, @LeaseId, @Stream, @Timestamp, @Text)",
        lines.Select(l => new { l.JobId, l.Seq, l.LeaseId, Stream = (int)l.Stream, l.Timestamp, l.Text }));

    public Task InsertOutputsAsync(IReadOnlyList<OutputRecord> outputs) => Execute(
        "INSERT INTO job_outputs(job_id, path, cid, size) VALUES (@JobId, @Path, @Cid, @Size)", outputs);

    public Task InsertContentAsync(ContentRecord content) => Execute(
        "INSERT INTO content(cid, size, stored_at) VALUES (@Cid, @Size, @StoredAt) ON CONFLICT(cid) DO NOTHING", content);

    public Task InsertUploadAsync(UploadRecord u) => Execute(
        "INSERT INTO uploads(id, cid, size, leaves_json, owner, created_at) VALUES (@Id, @Cid, @Size, @LeavesJson, @Owner, @CreatedAt)", u);

    public Task MarkChunkReceivedAsync(string uploadId, int index) => Execute(
        "INSERT INTO upload_chunks(upload_id, idx) VALUES (@uploadId, @index) ON CONFLICT DO NOTHING", new { uploadId, index });

    public Task DeleteUploadAsync(string uploadId) => Execute(
        "DELETE FROM upload_chunks WHERE upload_id = @uploadId; DELETE FROM uploads WHERE id = @uploadId;", new { uploadId });

    public Task CommitAsync()
    {
        if (transaction is null)
        {
            throw new InvalidOperationException("a read-only session cannot commit");
        }

        if (batched)
        {
            throw new InvalidOperationException("batched work is committed by the batch, not by the work");
        }

        transaction.Commit();
        _committed = true;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return ValueTask.CompletedTask;
        }

        _disposed = true;
        try
        {
            if (transaction is not null && !_committed)
            {
                transaction.Rollback();
            }

            transaction?.Dispose();
        }
        finally
        {
            onDispose();
        }

        return ValueTask.CompletedTask;
    }

    // ---- plumbing ----------------------------------------------------------------------------------------

    private Task<IEnumerable<T>> Query<T>(string sql, object? parameters = null) =>
        connection.QueryAsync<T>(sql, parameters, transaction);

    private Task<int> Execute(string sql, object? parameters = null) =>
        connection.ExecuteAsync(sql, parameters, transaction);

    // Row types mirror columns with primitive types; conversion to records happens here, not in Dapper.
    private sealed record ProviderRow(string Id, string Name, string PublicKey, string RegistrationEnvelope, string InventoryJson, string PricingJson, string Sandbox, long Simulated, long Status, long RegisteredAt, long? LastHeartbeatAt, long LastHeartbeatSeq)
    {
        public ProviderRecord ToRecord() => new()
        {
            Id = Id, Name = Name, PublicKey = PublicKey, RegistrationEnvelope = RegistrationEnvelope, InventoryJson = InventoryJson,
            PricingJson = PricingJson, Sandbox = Sandbox, Simulated = Simulated != 0, Status = (ProviderStatus)Status,
            RegisteredAt = RegisteredAt, LastHeartbeatAt = LastHeartbeatAt, LastHeartbeatSeq = LastHeartbeatSeq,
        };
    }

    private sealed record JobRow(string Id, long Seq, string Tenant, string Name, long State, string SpecJson, string SubmissionEnvelope, long CreatedAt, long UpdatedAt, long? FailureReason, string? FailureDetail, long NextLogSeq, string ExcludedProviders)
    {
        public JobRecord ToRecord() => new()
        {
            Id = Id, Seq = Seq, Tenant = Tenant, Name = Name, State = (JobState)State, SpecJson = SpecJson,
            SubmissionEnvelope = SubmissionEnvelope, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt,
            FailureReason = FailureReason is null ? null : (CloseReason)FailureReason, FailureDetail = FailureDetail,
            NextLogSeq = NextLogSeq, ExcludedProviders = ExcludedProviders,
        };

        public static object Parameters(JobRecord j) => new
        {
            j.Id, j.Tenant, j.Name, State = (int)j.State, j.SpecJson, j.SubmissionEnvelope, j.CreatedAt, j.UpdatedAt,
            FailureReason = (int?)j.FailureReason, j.FailureDetail, j.NextLogSeq, j.ExcludedProviders,
        };
    }

    private sealed record LeaseRow(string Id, string JobId, string ProviderId, long State, string AllocationJson, long PricePerHourMicros, long SimulatedGpus, long OfferedAt, long? AcceptedAt, long? StartedAt, long? FirstLogAt, long? ClosedAt, long CloseReason, string? CloseDetail, long? ExitCode, string? AcceptanceEnvelope, string? ResultEnvelope, long LogLinesReceived)
    {
        public LeaseRecord ToRecord() => new()
        {
            Id = Id, JobId = JobId, ProviderId = ProviderId, State = (LeaseState)State, AllocationJson = AllocationJson,
            PricePerHourMicros = PricePerHourMicros, SimulatedGpus = SimulatedGpus != 0, OfferedAt = OfferedAt,
            AcceptedAt = AcceptedAt, StartedAt = StartedAt, FirstLogAt = FirstLogAt, ClosedAt = ClosedAt,
            CloseReason = (Kumo.Leases.CloseReason)CloseReason, CloseDetail = CloseDetail, ExitCode = (int?)ExitCode,
            AcceptanceEnvelope = AcceptanceEnvelope, ResultEnvelope = ResultEnvelope, LogLinesReceived = LogLinesReceived,
        };

        public static object Parameters(LeaseRecord l) => new
        {
            l.Id, l.JobId, l.ProviderId, State = (int)l.State, l.AllocationJson, l.PricePerHourMicros,
            SimulatedGpus = l.SimulatedGpus ? 1 : 0, l.OfferedAt, l.AcceptedAt, l.StartedAt, l.FirstLogAt, l.ClosedAt,
            CloseReason = (int)l.CloseReason, l.CloseDetail, l.ExitCode, l.AcceptanceEnvelope, l.ResultEnvelope, l.LogLinesReceived,
        };
    }

    private sealed record LogRow(string JobId, long Seq, string LeaseId, long Stream, long Timestamp, string Text)
    {
        public LogRecord ToRecord() => new(JobId, Seq, LeaseId, (LogStream)Stream, Timestamp, Text);
    }

    private sealed record UploadRow(string Id, string Cid, long Size, string LeavesJson, string Owner, long CreatedAt)
    {
        public UploadRecord ToRecord() => new() { Id = Id, Cid = Cid, Size = Size, LeavesJson = LeavesJson, Owner = Owner, CreatedAt = CreatedAt };
    }
}
