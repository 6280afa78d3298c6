using Kumo.Crypto;
using Kumo.Jobs;

namespace Kumo.Hub.Storage;

/// <summary>
/// The hub's durable state. SQLite (one file, WAL) is the embedded default; a PostgreSQL store implements the
/// same contract for several hub replicas. Every multi-step change happens inside one <see cref="IHubTransaction"/>:
/// either all of it is stored or none of it.
/// </summary>
public interface IHubStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema. Idempotent; run at start.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    /// <summary>The schema version after migration.</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken);

    /// <summary>Starts a write transaction. Writers are serialized; dispose without commit to roll back.</summary>
    Task<IHubTransaction> BeginAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in a write transaction shared with other callers' work (group commit): one
    /// commit for many small writes. Each piece of work runs in its own savepoint, so one that throws is rolled
    /// back alone and its exception reaches its caller; the result is returned only after the commit. The work
    /// must not commit, start another transaction, or cause side effects outside the store.
    /// </summary>
    Task<T> WriteBatchedAsync<T>(Func<IHubTransaction, Task<T>> work, CancellationToken cancellationToken);

    /// <summary>Opens a read-only view (a consistent snapshot for its lifetime).</summary>
    Task<IHubReader> OpenReaderAsync(CancellationToken cancellationToken);
}

/// <summary>Queries. Each returns null or empty when nothing matches.</summary>
public interface IHubReader : IAsyncDisposable
{
    Task<ProviderRecord?> GetProviderAsync(string id);

    Task<IReadOnlyList<ProviderRecord>> ListProvidersAsync();

    Task<JobRecord?> GetJobAsync(string id);

    /// <summary>Newest first; all tenants when <paramref name="tenant"/> is null.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsAsync(string? tenant, int limit);

    /// <summary>Jobs waiting for a provider, oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListQueuedJobsAsync(int limit);

    /// <summary>Jobs whose order is open (queued or bidding), oldest first.</summary>
    Task<IReadOnlyList<JobRecord>> ListOpenOrdersAsync(int limit);

    /// <summary>How many jobs are in each state.</summary>
    Task<IReadOnlyDictionary<JobState, long>> CountJobsByStateAsync();

    Task<LeaseRecord?> GetLeaseAsync(string id);

    Task<IReadOnlyList<LeaseRecord>> ListLeasesForJobAsync(string jobId);

    /// <summary>Leases not yet closed, optionally of one provider.</summary>
    Task<IReadOnlyList<LeaseRecord>> ListOpenLeasesAsync(string? providerId);

    /// <summary>Id, state and acceptance time of a provider's open leases: the heartbeat's cheap check.</summary>
    Task<IReadOnlyList<OpenLease>> ListOpenLeaseStatesAsync(string providerId);

    Task<IReadOnlyList<JobEventRecord>> ListJobEventsAsync(string jobId);

    /// <summary>Log lines with seq &gt; <paramref name="afterSeq"/>, in order.</summary>
    Task<IReadOnlyList<LogRecord>> ListLogsAsync(string jobId, long afterSeq, int limit);

    Task<IReadOnlyList<OutputRecord>> ListOutputsAsync(string jobId);

    Task<ContentRecord?> GetContentAsync(string cid);

    Task<UploadRecord?> GetUploadAsync(string id);

    Task<UploadRecord?> FindUploadByCidAsync(string cid);

    Task<IReadOnlyList<int>> ListReceivedChunksAsync(string uploadId);

    Task<IReadOnlyList<UploadRecord>> ListUploadsCreatedBeforeAsync(long before);

    // ---- ledger ----

    Task<byte[]?> GetLedgerGenesisAsync();

    /// <summary>Blocks with height &gt; <paramref name="afterHeight"/>, in order, with their transactions' stored bytes.</summary>
    Task<IReadOnlyList<(LedgerBlockRow Block, IReadOnlyList<byte[]> Transactions)>> ListLedgerBlocksAsync(long afterHeight, int limit);

    /// <summary>Newest first, below <paramref name="beforeHeight"/> when given.</summary>
    Task<IReadOnlyList<LedgerBlockRow>> ListLedgerHeadersAsync(long? beforeHeight, int limit);

    Task<IReadOnlyList<LedgerTxRow>> ListLedgerTxsAsync(long height);

    Task<LedgerTxRow?> GetLedgerTxAsync(string hash);

    /// <summary>An account's postings, newest first.</summary>
    Task<IReadOnlyList<LedgerPostingRow>> ListPostingsAsync(string account, int limit);

    /// <summary>The state the hub materialized after its last block (<c>LedgerState.StateLines</c>), sorted.</summary>
    Task<IReadOnlyList<string>> ListLedgerStateLinesAsync();

    /// <summary>Leases the ledger has yet to open or close: accepted ones whose <c>ledger_phase</c> is below closed.</summary>
    Task<IReadOnlyList<LeaseRecord>> ListLeasesForLedgerAsync();

    /// <summary>Ended jobs whose escrow is not refunded yet.</summary>
    Task<IReadOnlyList<JobRecord>> ListJobsToRefundAsync();

    // ---- market ----

    Task<BidRecord?> GetBidAsync(string id);

    /// <summary>A job's bids and declines, all attempts, oldest first.</summary>
    Task<IReadOnlyList<BidRecord>> ListBidsAsync(string jobId);

    /// <summary>Bids still open, of every job (the market's outstanding promises).</summary>
    Task<IReadOnlyList<BidRecord>> ListOpenBidsAsync();

    /// <summary>The job's latest checkpoint, or null.</summary>
    Task<CheckpointRecord?> GetLatestCheckpointAsync(string jobId);

    /// <summary>The job's latest checkpoint taken at or before <paramref name="atOrBefore"/>, or null.</summary>
    Task<CheckpointRecord?> GetLatestCheckpointBeforeAsync(string jobId, long atOrBefore);

    Task<IReadOnlyList<ReputationRecord>> ListReputationAsync();

    Task<ReputationRecord?> GetReputationAsync(string providerId);

    Task<IReadOnlyList<AttestationRecord>> ListAttestationsAsync();

    /// <summary>Every provider's consecutive agreeing replicated <c>exec</c> results, per hardware class.</summary>
    Task<IReadOnlyList<ExecTrustRecord>> ListExecTrustAsync();

    /// <summary>Every provider's proof-of-learning standing (segments delivered since it joined or was last caught).</summary>
    Task<IReadOnlyList<TrainingStandingRecord>> ListTrainingStandingAsync();

    /// <summary>Every provider's standing with the checkers, as the last pass left it.</summary>
    Task<IReadOnlyList<ProviderCheckRecord>> ListProviderChecksAsync();

    /// <summary>The draw a job's verification sampled with, or null before its first check.</summary>
    Task<VerificationDrawRecord?> GetVerificationDrawAsync(string jobId);

    /// <summary>Every provider's stored hardware-proof standing.</summary>
    Task<IReadOnlyList<HardwareProofRecord>> ListHardwareProofsAsync();

    /// <summary>A validator's stored standing in the validator pool, or null if it never joined.</summary>
    Task<ValidatorStandingRecord?> GetValidatorStandingAsync(string validatorId);

    /// <summary>Accepted leases since <paramref name="since"/> (clearing prices for statistics and plans), newest first.</summary>
    Task<IReadOnlyList<LeaseRecord>> ListLeasesAcceptedSinceAsync(long since, int limit);
}

/// <summary>A write transaction. Reads inside it see its own writes.</summary>
public interface IHubTransaction : IHubReader
{
    /// <summary>
    /// Records that <paramref name="account"/> used <paramref name="nonce"/>. Returns false (and changes nothing)
    /// when it was used before: the request is a replay.
    /// </summary>
    Task<bool> TryRecordNonceAsync(AccountId account, long nonce, long at);

    /// <summary>Forgets nonces seen before <paramref name="before"/> (requests that old fail the timestamp check anyway).</summary>
    Task<int> PruneNoncesAsync(long before);

    Task UpsertProviderAsync(ProviderRecord provider);

    Task UpdateProviderLivenessAsync(string id, Protocol.ProviderStatus status, long? lastHeartbeatAt, long lastHeartbeatSeq);

    /// <summary>
    /// The heartbeat's write: marks the provider online as of <paramref name="at"/> and returns its status before,
    /// or null when no such provider is registered. Reads one column, not the provider's whole row.
    /// </summary>
    Task<Protocol.ProviderStatus?> TouchProviderAsync(string id, long at, long sequence);

    Task InsertJobAsync(JobRecord job);

    Task UpdateJobAsync(JobRecord job);

    Task InsertLeaseAsync(LeaseRecord lease);

    Task UpdateLeaseAsync(LeaseRecord lease);

    Task AddJobEventAsync(JobEventRecord jobEvent);

    Task AppendLogsAsync(IReadOnlyList<LogRecord> lines);

    Task InsertOutputsAsync(IReadOnlyList<OutputRecord> outputs);

    /// <summary>Makes <paramref name="outputs"/> the job's whole set of outputs, dropping those it had.</summary>
    Task ReplaceOutputsAsync(string jobId, IReadOnlyList<OutputRecord> outputs);

    Task InsertContentAsync(ContentRecord content);

    Task InsertUploadAsync(UploadRecord upload);

    Task MarkChunkReceivedAsync(string uploadId, int index);

    Task DeleteUploadAsync(string uploadId);

    Task SetLedgerGenesisAsync(byte[] genesis);

    /// <summary>Writes a sealed block: header, transactions, postings, and the state-line changes.</summary>
    Task InsertLedgerBlockAsync(LedgerBlockWrite block);

    Task SetLeaseLedgerPhaseAsync(string leaseId, int phase);

    Task MarkJobRefundedAsync(string jobId);

    Task InsertBidAsync(BidRecord bid);

    Task UpdateBidStateAsync(string id, BidState state, string detail);

    Task InsertCheckpointAsync(CheckpointRecord checkpoint);

    Task UpsertReputationAsync(ReputationRecord reputation);

    Task UpsertAttestationAsync(AttestationRecord attestation);

    Task UpsertExecTrustAsync(ExecTrustRecord trust);

    Task UpsertTrainingStandingAsync(TrainingStandingRecord standing);

    Task UpsertProviderCheckAsync(ProviderCheckRecord check);

    Task UpsertValidatorStandingAsync(ValidatorStandingRecord standing);

    Task UpsertHardwareProofAsync(HardwareProofRecord proof);

    /// <summary>Stores a job's draw unless it has one (the first draw stands); read it back to learn which.</summary>
    Task InsertVerificationDrawAsync(VerificationDrawRecord draw);

    Task CommitAsync();
}

/// <summary>Job state constants shared by queries.</summary>
internal static class StoredNames
{
    public static string Of(JobState state) => state.ToString().ToLowerInvariant();
}
