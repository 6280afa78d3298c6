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
    private const string JobColumns = "id, seq, tenant, name, state, spec_json, submission_envelope, created_at, updated_at, failure_reason, failure_detail, next_log_seq, excluded_providers, refunded, attempt, failovers, order_opened_at, explanation";
    private const string LeaseColumns = "id, job_id, provider_id, state, allocation_json, price_per_hour_micros, simulated_gpus, offered_at, accepted_at, started_at, first_log_at, closed_at, close_reason, close_detail, exit_code, acceptance_envelope, result_envelope, log_lines_received, ledger_phase, attempt, node_rank, bid_id, replica_of, replication_fee_bps";
    private const string BidColumns = "id, job_id, attempt, provider_id, state, price_per_hour_micros, nodes_json, envelope, received_at, expires_at, detail";
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

    public async Task<IReadOnlyList<JobRecord>> ListOpenOrdersAsync(int limit) =>
        [.. (await Query<JobRow>(
            $"SELECT {JobColumns} FROM jobs WHERE state IN (@queued, @bidding) ORDER BY seq LIMIT @limit",
            new { queued = (int)JobState.Queued, bidding = (int)JobState.Bidding, limit })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyDictionary<JobState, long>> CountJobsByStateAsync() =>
        (await Query<(long State, long Count)>("SELECT state, COUNT(*) FROM jobs GROUP BY state")).ToDictionary(r => (JobState)r.State, r => r.Count);

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

    public async Task<byte[]?> GetLedgerGenesisAsync() =>
        (await Query<byte[]>("SELECT body FROM ledger_genesis WHERE id = 1")).FirstOrDefault();

    public async Task<IReadOnlyList<(LedgerBlockRow Block, IReadOnlyList<byte[]> Transactions)>> ListLedgerBlocksAsync(long afterHeight, int limit)
    {
        List<LedgerBlockRow> blocks = [.. await Query<LedgerBlockRow>(
            "SELECT height AS Height, time AS Time, hash AS Hash, tx_count AS TxCount, header AS Header FROM ledger_blocks WHERE height > @afterHeight ORDER BY height LIMIT @limit",
            new { afterHeight, limit })];
        if (blocks.Count == 0)
        {
            return [];
        }

        ILookup<long, byte[]> txs = (await Query<(long Height, long Idx, byte[] Body)>(
                "SELECT height, idx, body FROM ledger_txs WHERE height > @from AND height <= @to ORDER BY height, idx",
                new { from = afterHeight, to = blocks[^1].Height }))
            .ToLookup(t => t.Height, t => t.Body);
        return [.. blocks.Select(b => (b, (IReadOnlyList<byte[]>)[.. txs[b.Height]]))];
    }

    public async Task<IReadOnlyList<LedgerBlockRow>> ListLedgerHeadersAsync(long? beforeHeight, int limit) =>
        [.. await Query<LedgerBlockRow>(
            "SELECT height AS Height, time AS Time, hash AS Hash, tx_count AS TxCount, header AS Header FROM ledger_blocks WHERE (@beforeHeight IS NULL OR height < @beforeHeight) ORDER BY height DESC LIMIT @limit",
            new { beforeHeight, limit })];

    public async Task<IReadOnlyList<LedgerTxRow>> ListLedgerTxsAsync(long height) =>
        [.. await Query<LedgerTxRow>(
            "SELECT height AS Height, idx AS \"Index\", hash AS Hash, kind AS Kind, signer AS Signer, body AS Body FROM ledger_txs WHERE height = @height ORDER BY idx",
            new { height })];

    public async Task<LedgerTxRow?> GetLedgerTxAsync(string hash) =>
        (await Query<LedgerTxRow>(
            "SELECT height AS Height, idx AS \"Index\", hash AS Hash, kind AS Kind, signer AS Signer, body AS Body FROM ledger_txs WHERE hash = @hash LIMIT 1",
            new { hash })).FirstOrDefault();

    public async Task<IReadOnlyList<LedgerPostingRow>> ListPostingsAsync(string account, int limit) =>
        [.. await Query<LedgerPostingRow>(
            """
            SELECT p.account AS Account, p.height AS Height, p.idx AS "Index", p.delta AS Delta, t.hash AS TxHash, t.kind AS Kind, b.time AS Time
            FROM ledger_postings p
            JOIN ledger_txs t ON t.height = p.height AND t.idx = p.idx
            JOIN ledger_blocks b ON b.height = p.height
            WHERE p.account = @account
            ORDER BY p.height DESC, p.idx DESC LIMIT @limit
            """,
            new { account, limit })];

    public async Task<IReadOnlyList<string>> ListLedgerStateLinesAsync() =>
        [.. (await Query<string>("SELECT line FROM ledger_state")).Order(StringComparer.Ordinal)];

    public async Task<IReadOnlyList<LeaseRecord>> ListLeasesForLedgerAsync() =>
        [.. (await Query<LeaseRow>(
            $"SELECT {LeaseColumns} FROM leases WHERE ledger_phase < @closed AND accepted_at IS NOT NULL ORDER BY accepted_at, id",
            new { closed = LedgerPhases.Closed })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<JobRecord>> ListJobsToRefundAsync() =>
        [.. (await Query<JobRow>(
            $"SELECT {JobColumns} FROM jobs WHERE refunded = 0 AND state IN (@succeeded, @failed, @cancelled, @expired) ORDER BY seq",
            new { succeeded = (int)JobState.Succeeded, failed = (int)JobState.Failed, cancelled = (int)JobState.Cancelled, expired = (int)JobState.Expired })).Select(r => r.ToRecord())];

    public async Task<BidRecord?> GetBidAsync(string id) =>
        (await Query<BidRow>($"SELECT {BidColumns} FROM bids WHERE id = @id", new { id })).FirstOrDefault()?.ToRecord();

    public async Task<IReadOnlyList<BidRecord>> ListBidsAsync(string jobId) =>
        [.. (await Query<BidRow>($"SELECT {BidColumns} FROM bids WHERE job_id = @jobId ORDER BY received_at, id", new { jobId })).Select(r => r.ToRecord())];

    public async Task<IReadOnlyList<BidRecord>> ListOpenBidsAsync() =>
        [.. (await Query<BidRow>($"SELECT {BidColumns} FROM bids WHERE state = @open ORDER BY received_at, id", new { open = (int)BidState.Open })).Select(r => r.ToRecord())];

    public async Task<CheckpointRecord?> GetLatestCheckpointAsync(string jobId) =>
        (await Query<CheckpointRecord>(
            "SELECT job_id AS JobId, lease_id AS LeaseId, at AS At, files_json AS FilesJson, envelope AS Envelope FROM checkpoints WHERE job_id = @jobId ORDER BY at DESC LIMIT 1",
            new { jobId })).FirstOrDefault();

    public async Task<CheckpointRecord?> GetLatestCheckpointBeforeAsync(string jobId, long atOrBefore) =>
        (await Query<CheckpointRecord>(
            "SELECT job_id AS JobId, lease_id AS LeaseId, at AS At, files_json AS FilesJson, envelope AS Envelope FROM checkpoints WHERE job_id = @jobId AND at <= @atOrBefore ORDER BY at DESC LIMIT 1",
            new { jobId, atOrBefore })).FirstOrDefault();

    public async Task<IReadOnlyList<ReputationRecord>> ListReputationAsync() =>
        [.. await Query<ReputationRecord>("SELECT provider_id AS ProviderId, successes AS Successes, failures AS Failures, outcomes AS Outcomes, updated_at AS UpdatedAt FROM reputation ORDER BY provider_id")];

    public async Task<ReputationRecord?> GetReputationAsync(string providerId) =>
        (await Query<ReputationRecord>(
            "SELECT provider_id AS ProviderId, successes AS Successes, failures AS Failures, outcomes AS Outcomes, updated_at AS UpdatedAt FROM reputation WHERE provider_id = @providerId",
            new { providerId })).FirstOrDefault();

    public async Task<IReadOnlyList<AttestationRecord>> ListAttestationsAsync() =>
        [.. await Query<AttestationRecord>("SELECT provider_id AS ProviderId, auditor AS Auditor, attributes_json AS AttributesJson, envelope AS Envelope, at AS At FROM attestations ORDER BY provider_id, auditor")];

    public async Task<IReadOnlyList<ExecTrustRecord>> ListExecTrustAsync() =>
        [.. await Query<ExecTrustRecord>("SELECT provider_id AS ProviderId, hardware_class AS HardwareClass, agreements AS Agreements, updated_at AS UpdatedAt FROM exec_trust ORDER BY provider_id, hardware_class")];

    public async Task<IReadOnlyList<TrainingStandingRecord>> ListTrainingStandingAsync() =>
        [.. await Query<TrainingStandingRecord>("SELECT provider_id AS ProviderId, delivered AS Delivered, updated_at AS UpdatedAt FROM training_standing ORDER BY provider_id")];

    public async Task<IReadOnlyList<ProviderCheckRecord>> ListProviderChecksAsync() =>
        [.. await Query<ProviderCheckRecord>("SELECT provider_id AS ProviderId, standing_json AS StandingJson, updated_at AS UpdatedAt, capacity_failures_json AS CapacityFailuresJson FROM provider_checks ORDER BY provider_id")];

    public async Task<VerificationDrawRecord?> GetVerificationDrawAsync(string jobId) =>
        (await Query<VerificationDrawRecord>("SELECT job_id AS JobId, seed AS Seed, q AS Q, at AS At FROM verification_draws WHERE job_id = @jobId", new { jobId })).FirstOrDefault();

    public async Task<IReadOnlyList<HardwareProofRecord>> ListHardwareProofsAsync() =>
        [.. await Query<HardwareProofRecord>("SELECT provider_id AS ProviderId, proof_json AS ProofJson, updated_at AS UpdatedAt FROM hardware_proofs ORDER BY provider_id")];

    public async Task<ValidatorStandingRecord?> GetValidatorStandingAsync(string validatorId) =>
        (await Query<ValidatorStandingRecord>(
            "SELECT validator_id AS ValidatorId, reputation AS Reputation, assignments AS Assignments, missed AS Missed, status AS Status, updated_at AS UpdatedAt FROM validator_standing WHERE validator_id = @validatorId",
            new { validatorId })).FirstOrDefault();

    public async Task<IReadOnlyList<LeaseRecord>> ListLeasesAcceptedSinceAsync(long since, int limit) =>
        [.. (await Query<LeaseRow>(
            $"SELECT {LeaseColumns} FROM leases WHERE accepted_at >= @since ORDER BY accepted_at DESC LIMIT @limit",
            new { since, limit })).Select(r => r.ToRecord())];

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
        INSERT INTO jobs(id, tenant, name, state, spec_json, submission_envelope, created_at, updated_at, failure_reason, failure_detail, next_log_seq, excluded_providers, attempt, failovers, order_opened_at, explanation)
        VALUES (@Id, @Tenant, @Name, @State, @SpecJson, @SubmissionEnvelope, @CreatedAt, @UpdatedAt, @FailureReason, @FailureDetail, @NextLogSeq, @ExcludedProviders, @Attempt, @Failovers, @OrderOpenedAt, @Explanation)
        """,
        JobRow.Parameters(j));

    public Task UpdateJobAsync(JobRecord j) => Execute(
        """
        UPDATE jobs SET state = @State, updated_at = @UpdatedAt, failure_reason = @FailureReason, failure_detail = @FailureDetail,
            next_log_seq = @NextLogSeq, excluded_providers = @ExcludedProviders, attempt = @Attempt, failovers = @Failovers, order_opened_at = @OrderOpenedAt,
            explanation = @Explanation
        WHERE id = @Id
        """,
        JobRow.Parameters(j));

    public Task InsertLeaseAsync(LeaseRecord l) => Execute(
        $"""
        INSERT INTO leases({LeaseColumns})
        VALUES (@Id, @JobId, @ProviderId, @State, @AllocationJson, @PricePerHourMicros, @SimulatedGpus, @OfferedAt, @AcceptedAt, @StartedAt,
                @FirstLogAt, @ClosedAt, @CloseReason, @CloseDetail, @ExitCode, @AcceptanceEnvelope, @ResultEnvelope, @LogLinesReceived, @LedgerPhase,
                @Attempt, @NodeRank, @BidId, @ReplicaOf, @ReplicationFeeBps)
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

    public async Task ReplaceOutputsAsync(string jobId, IReadOnlyList<OutputRecord> outputs)
    {
        if (outputs.Any(o => o.JobId != jobId))
        {
            throw new ArgumentException($"every output must belong to job {jobId}", nameof(outputs));
        }

        await Execute("DELETE FROM job_outputs WHERE job_id = @jobId", new { jobId });
        await InsertOutputsAsync(outputs);
    }

    public Task InsertContentAsync(ContentRecord content) => Execute(
        "INSERT INTO content(cid, size, stored_at) VALUES (@Cid, @Size, @StoredAt) ON CONFLICT(cid) DO NOTHING", content);

    public Task InsertUploadAsync(UploadRecord u) => Execute(
        "INSERT INTO uploads(id, cid, size, leaves_json, owner, created_at) VALUES (@Id, @Cid, @Size, @LeavesJson, @Owner, @CreatedAt)", u);

    public Task MarkChunkReceivedAsync(string uploadId, int index) => Execute(
        "INSERT INTO upload_chunks(upload_id, idx) VALUES (@uploadId, @index) ON CONFLICT DO NOTHING", new { uploadId, index });

    public Task DeleteUploadAsync(string uploadId) => Execute(
        "DELETE FROM upload_chunks WHERE upload_id = @uploadId; DELETE FROM uploads WHERE id = @uploadId;", new { uploadId });

    public Task SetLedgerGenesisAsync(byte[] genesis) => Execute(
        "INSERT INTO ledger_genesis(id, body) VALUES (1, @genesis)", new { genesis });

    public Task InsertLedgerBlockAsync(LedgerBlockWrite block)
    {
        // Thousands of rows per block: one prepared command per table, reused row after row.
        connection.Execute(
            "INSERT INTO ledger_blocks(height, time, hash, tx_count, header) VALUES (@Height, @Time, @Hash, @TxCount, @Header)",
            new { block.Height, block.Time, block.Hash, TxCount = block.Transactions.Count, block.Header }, transaction);

        using (SqliteCommand txInsert = Prepare("INSERT INTO ledger_txs(height, idx, hash, kind, signer, body) VALUES ($h, $i, $hash, $kind, $signer, $body)", "$h", "$i", "$hash", "$kind", "$signer", "$body"))
        using (SqliteCommand postingInsert = Prepare("INSERT INTO ledger_postings(account, height, idx, delta) VALUES ($a, $h, $i, $d)", "$a", "$h", "$i", "$d"))
        {
            foreach (LedgerTxWrite tx in block.Transactions)
            {
                Run(txInsert, block.Height, tx.Index, tx.Hash, tx.Kind, (object?)tx.Signer ?? DBNull.Value, tx.Body);
                foreach ((string account, long delta) in tx.NetPostings)
                {
                    Run(postingInsert, account, block.Height, tx.Index, delta);
                }
            }
        }

        using (SqliteCommand remove = Prepare("DELETE FROM ledger_state WHERE line = $l", "$l"))
        {
            foreach (string line in block.RemovedStateLines)
            {
                Run(remove, line);
            }
        }

        using (SqliteCommand add = Prepare("INSERT INTO ledger_state(line) VALUES ($l)", "$l"))
        {
            foreach (string line in block.AddedStateLines)
            {
                Run(add, line);
            }
        }

        return Task.CompletedTask;
    }

    public Task SetLeaseLedgerPhaseAsync(string leaseId, int phase) => Execute(
        "UPDATE leases SET ledger_phase = @phase WHERE id = @leaseId", new { leaseId, phase });

    public Task MarkJobRefundedAsync(string jobId) => Execute(
        "UPDATE jobs SET refunded = 1 WHERE id = @jobId", new { jobId });

    public Task InsertBidAsync(BidRecord b) => Execute(
        $"""
        INSERT INTO bids({BidColumns})
        VALUES (@Id, @JobId, @Attempt, @ProviderId, @State, @PricePerHourMicros, @NodesJson, @Envelope, @ReceivedAt, @ExpiresAt, @Detail)
        """,
        new { b.Id, b.JobId, b.Attempt, b.ProviderId, State = (int)b.State, b.PricePerHourMicros, b.NodesJson, b.Envelope, b.ReceivedAt, b.ExpiresAt, b.Detail });

    public Task UpdateBidStateAsync(string id, BidState state, string detail) => Execute(
        "UPDATE bids SET state = @state, detail = @detail WHERE id = @id", new { id, state = (int)state, detail });

    public Task InsertCheckpointAsync(CheckpointRecord c) => Execute(
        "INSERT INTO checkpoints(job_id, lease_id, at, files_json, envelope) VALUES (@JobId, @LeaseId, @At, @FilesJson, @Envelope) ON CONFLICT DO NOTHING", c);

    public Task UpsertReputationAsync(ReputationRecord r) => Execute(
        """
        INSERT INTO reputation(provider_id, successes, failures, outcomes, updated_at) VALUES (@ProviderId, @Successes, @Failures, @Outcomes, @UpdatedAt)
        ON CONFLICT(provider_id) DO UPDATE SET successes = excluded.successes, failures = excluded.failures,
            outcomes = excluded.outcomes, updated_at = excluded.updated_at
        """, r);

    public Task UpsertExecTrustAsync(ExecTrustRecord t) => Execute(
        """
        INSERT INTO exec_trust(provider_id, hardware_class, agreements, updated_at) VALUES (@ProviderId, @HardwareClass, @Agreements, @UpdatedAt)
        ON CONFLICT(provider_id, hardware_class) DO UPDATE SET agreements = excluded.agreements, updated_at = excluded.updated_at
        """, t);

    public Task UpsertTrainingStandingAsync(TrainingStandingRecord t) => Execute(
        """
        INSERT INTO training_standing(provider_id, delivered, updated_at) VALUES (@ProviderId, @Delivered, @UpdatedAt)
        ON CONFLICT(provider_id) DO UPDATE SET delivered = excluded.delivered, updated_at = excluded.updated_at
        """, t);

    public Task UpsertProviderCheckAsync(ProviderCheckRecord c) => Execute(
        """
        INSERT INTO provider_checks(provider_id, standing_json, updated_at, capacity_failures_json)
        VALUES (@ProviderId, @StandingJson, @UpdatedAt, @CapacityFailuresJson)
        ON CONFLICT(provider_id) DO UPDATE SET standing_json = excluded.standing_json, updated_at = excluded.updated_at,
            capacity_failures_json = excluded.capacity_failures_json
        """, c);

    public Task InsertVerificationDrawAsync(VerificationDrawRecord d) => Execute(
        "INSERT INTO verification_draws(job_id, seed, q, at) VALUES (@JobId, @Seed, @Q, @At) ON CONFLICT(job_id) DO NOTHING", d);

    public Task UpsertHardwareProofAsync(HardwareProofRecord h) => Execute(
        """
        INSERT INTO hardware_proofs(provider_id, proof_json, updated_at) VALUES (@ProviderId, @ProofJson, @UpdatedAt)
        ON CONFLICT(provider_id) DO UPDATE SET proof_json = excluded.proof_json, updated_at = excluded.updated_at
        """, h);

    public Task UpsertValidatorStandingAsync(ValidatorStandingRecord v) => Execute(
        """
        INSERT INTO validator_standing(validator_id, reputation, assignments, missed, status, updated_at)
        VALUES (@ValidatorId, @Reputation, @Assignments, @Missed, @Status, @UpdatedAt)
        ON CONFLICT(validator_id) DO UPDATE SET reputation = excluded.reputation, assignments = excluded.assignments,
            missed = excluded.missed, status = excluded.status, updated_at = excluded.updated_at
        """, v);

    public Task UpsertAttestationAsync(AttestationRecord a) => Execute(
        """
        INSERT INTO attestations(provider_id, auditor, attributes_json, envelope, at) VALUES (@ProviderId, @Auditor, @AttributesJson, @Envelope, @At)
        ON CONFLICT(provider_id, auditor) DO UPDATE SET attributes_json = excluded.attributes_json, envelope = excluded.envelope, at = excluded.at
        """, a);

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

    private SqliteCommand Prepare(string sql, params string[] names)
    {
        SqliteCommand command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (string name in names)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }

        command.Prepare();
        return command;
    }

    private static void Run(SqliteCommand command, params object?[] values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        command.ExecuteNonQuery();
    }

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

    private sealed record JobRow(string Id, long Seq, string Tenant, string Name, long State, string SpecJson, string SubmissionEnvelope, long CreatedAt, long UpdatedAt, long? FailureReason, string? FailureDetail, long NextLogSeq, string ExcludedProviders, long Refunded, long Attempt, long Failovers, long OrderOpenedAt, string? Explanation)
    {
        public JobRecord ToRecord() => new()
        {
            Id = Id, Seq = Seq, Tenant = Tenant, Name = Name, State = (JobState)State, SpecJson = SpecJson,
            SubmissionEnvelope = SubmissionEnvelope, CreatedAt = CreatedAt, UpdatedAt = UpdatedAt,
            FailureReason = FailureReason is null ? null : (CloseReason)FailureReason, FailureDetail = FailureDetail,
            NextLogSeq = NextLogSeq, ExcludedProviders = ExcludedProviders, Refunded = Refunded != 0,
            Attempt = (int)Attempt, Failovers = (int)Failovers, OrderOpenedAt = OrderOpenedAt, Explanation = Explanation,
        };

        public static object Parameters(JobRecord j) => new
        {
            j.Id, j.Tenant, j.Name, State = (int)j.State, j.SpecJson, j.SubmissionEnvelope, j.CreatedAt, j.UpdatedAt,
            FailureReason = (int?)j.FailureReason, j.FailureDetail, j.NextLogSeq, j.ExcludedProviders,
            j.Attempt, j.Failovers, j.OrderOpenedAt, j.Explanation,
        };
    }

    private sealed record LeaseRow(string Id, string JobId, string ProviderId, long State, string AllocationJson, long PricePerHourMicros, long SimulatedGpus, long OfferedAt, long? AcceptedAt, long? StartedAt, long? FirstLogAt, long? ClosedAt, long CloseReason, string? CloseDetail, long? ExitCode, string? AcceptanceEnvelope, string? ResultEnvelope, long LogLinesReceived, long LedgerPhase, long Attempt, long NodeRank, string? BidId, string? ReplicaOf, long ReplicationFeeBps)
    {
        public LeaseRecord ToRecord() => new()
        {
            Id = Id, JobId = JobId, ProviderId = ProviderId, State = (LeaseState)State, AllocationJson = AllocationJson,
            PricePerHourMicros = PricePerHourMicros, SimulatedGpus = SimulatedGpus != 0, OfferedAt = OfferedAt,
            AcceptedAt = AcceptedAt, StartedAt = StartedAt, FirstLogAt = FirstLogAt, ClosedAt = ClosedAt,
            CloseReason = (Kumo.Leases.CloseReason)CloseReason, CloseDetail = CloseDetail, ExitCode = (int?)ExitCode,
            AcceptanceEnvelope = AcceptanceEnvelope, ResultEnvelope = ResultEnvelope, LogLinesReceived = LogLinesReceived,
            LedgerPhase = (int)LedgerPhase, Attempt = (int)Attempt, NodeRank = (int)NodeRank, BidId = BidId, ReplicaOf = ReplicaOf,
            ReplicationFeeBps = (int)ReplicationFeeBps,
        };

        public static object Parameters(LeaseRecord l) => new
        {
            l.Id, l.JobId, l.ProviderId, State = (int)l.State, l.AllocationJson, l.PricePerHourMicros,
            SimulatedGpus = l.SimulatedGpus ? 1 : 0, l.OfferedAt, l.AcceptedAt, l.StartedAt, l.FirstLogAt, l.ClosedAt,
            CloseReason = (int)l.CloseReason, l.CloseDetail, l.ExitCode, l.AcceptanceEnvelope, l.ResultEnvelope, l.LogLinesReceived, l.LedgerPhase,
            l.Attempt, l.NodeRank, l.BidId, l.ReplicaOf, l.ReplicationFeeBps,
        };
    }

    private sealed record BidRow(string Id, string JobId, long Attempt, string ProviderId, long State, long PricePerHourMicros, string NodesJson, string? Envelope, long ReceivedAt, long ExpiresAt, string Detail)
    {
        public BidRecord ToRecord() => new()
        {
            Id = Id, JobId = JobId, Attempt = (int)Attempt, ProviderId = ProviderId, State = (BidState)State,
            PricePerHourMicros = PricePerHourMicros, NodesJson = NodesJson, Envelope = Envelope, ReceivedAt = ReceivedAt,
            ExpiresAt = ExpiresAt, Detail = Detail,
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
