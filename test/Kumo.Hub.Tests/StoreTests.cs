using Kumo.Crypto;
using Kumo.Hub.Storage;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Jobs;

namespace Kumo.Hub.Tests;

public sealed class StoreTests : IAsyncLifetime
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "kumo-store-" + Guid.NewGuid().ToString("N")[..8]);
    private SqliteHubStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_directory);
        _store = new SqliteHubStore(Path.Combine(_directory, "hub.db"));
        await _store.MigrateAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await _store.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static JobRecord Job(string id) => new()
    {
        Id = id, Tenant = "t", Name = "n", State = JobState.Queued, SpecJson = "{}", SubmissionEnvelope = "{}", CreatedAt = 1, UpdatedAt = 1,
    };

    [Fact]
    public async Task Migrating_twice_is_harmless_and_reports_the_version()
    {
        await _store.MigrateAsync(CancellationToken.None);
        Assert.Equal(11, await _store.GetSchemaVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task The_database_file_is_in_wal_mode()
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_store.Path}");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await command.ExecuteScalarAsync());
    }

    [Fact]
    public async Task A_transaction_disposed_without_commit_leaves_nothing_behind()
    {
        await using (IHubTransaction tx = await _store.BeginAsync(CancellationToken.None))
        {
            await tx.InsertJobAsync(Job("j-1"));
            await tx.AddJobEventAsync(new JobEventRecord("j-1", 1, "submitted", ""));
            Assert.NotNull(await tx.GetJobAsync("j-1")); // visible inside
        }

        await using IHubReader reader = await _store.OpenReaderAsync(CancellationToken.None);
        Assert.Null(await reader.GetJobAsync("j-1"));
        Assert.Empty(await reader.ListJobEventsAsync("j-1"));
    }

    [Fact]
    public async Task A_nonce_is_accepted_once_per_account()
    {
        using var a = AccountKey.Create();
        using var b = AccountKey.Create();
        await using IHubTransaction tx = await _store.BeginAsync(CancellationToken.None);
        Assert.True(await tx.TryRecordNonceAsync(a.AccountId, 42, 1));
        Assert.False(await tx.TryRecordNonceAsync(a.AccountId, 42, 2));
        Assert.True(await tx.TryRecordNonceAsync(b.AccountId, 42, 2));
        Assert.True(await tx.TryRecordNonceAsync(a.AccountId, 41, 3)); // order does not matter, uniqueness does
        Assert.Equal(3, await tx.PruneNoncesAsync(before: 10));
        await tx.CommitAsync();
    }

    [Fact]
    public async Task A_nested_write_transaction_in_one_flow_fails_fast_instead_of_deadlocking()
    {
        await using IHubTransaction outer = await _store.BeginAsync(CancellationToken.None);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => _store.BeginAsync(CancellationToken.None));
        Assert.Contains("already open", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writers_from_different_flows_queue_instead_of_failing()
    {
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            await using IHubTransaction tx = await _store.BeginAsync(CancellationToken.None);
            await tx.InsertJobAsync(Job($"j-{i}"));
            await tx.CommitAsync();
        })));
        await using IHubReader reader = await _store.OpenReaderAsync(CancellationToken.None);
        Assert.Equal(20, (await reader.ListJobsAsync(null, 100)).Count);
    }

    [Fact]
    public async Task Batched_writes_from_many_callers_all_commit_and_return_their_results()
    {
        int[] results = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => _store.WriteBatchedAsync(async tx =>
        {
            await tx.InsertJobAsync(Job($"j-{i}"));
            return i * 2;
        }, CancellationToken.None)));

        Assert.Equal(Enumerable.Range(0, 500).Select(i => i * 2), results);
        await using IHubReader reader = await _store.OpenReaderAsync(CancellationToken.None);
        Assert.Equal(500, (await reader.ListJobsAsync(null, 1000)).Count);
    }

    [Fact]
    public async Task A_failing_piece_of_a_batch_is_rolled_back_alone_and_its_caller_gets_the_error()
    {
        Task<int> good1 = _store.WriteBatchedAsync(async tx => { await tx.InsertJobAsync(Job("ok-1")); return 1; }, CancellationToken.None);
        Task<int> bad = _store.WriteBatchedAsync<int>(async tx =>
        {
            await tx.InsertJobAsync(Job("half-written"));
            throw new InvalidOperationException("refused halfway");
        }, CancellationToken.None);
        Task<int> good2 = _store.WriteBatchedAsync(async tx => { await tx.InsertJobAsync(Job("ok-2")); return 2; }, CancellationToken.None);

        Assert.Equal(1, await good1);
        Assert.Equal(2, await good2);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => bad);
        Assert.Equal("refused halfway", error.Message);
        await using IHubReader reader = await _store.OpenReaderAsync(CancellationToken.None);
        Assert.NotNull(await reader.GetJobAsync("ok-1"));
        Assert.NotNull(await reader.GetJobAsync("ok-2"));
        Assert.Null(await reader.GetJobAsync("half-written"));
    }

    [Fact]
    public async Task Batched_work_may_not_commit_or_open_its_own_transaction()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.WriteBatchedAsync(async tx =>
        {
            await tx.CommitAsync();
            return 0;
        }, CancellationToken.None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => _store.WriteBatchedAsync(async tx =>
        {
            await using IHubTransaction nested = await _store.BeginAsync(CancellationToken.None);
            return 0;
        }, CancellationToken.None));
    }
}
