using System.Threading.Channels;
using Dapper;
using Microsoft.Data.Sqlite;

namespace Kumo.Hub.Storage.Sqlite;

/// <summary>
/// The embedded store: one SQLite file in WAL mode. One connection writes (SQLite allows one writer at a
/// time; a semaphore queues writers in-process instead of letting them spin on SQLITE_BUSY); readers use
/// their own pooled connections and see the last committed state.
/// </summary>
public sealed class SqliteHubStore : IHubStore
{
    private readonly string _connectionString;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SqliteConnection _writer;

    // Set while this async flow holds the writer: a nested BeginAsync would wait on itself forever, so it throws.
    private readonly AsyncLocal<bool> _writing = new();

    private const int MaxBatch = 256;
    private readonly Channel<BatchItem> _batch = Channel.CreateUnbounded<BatchItem>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _batchWriter;

    static SqliteHubStore()
    {
        SQLitePCL.Batteries_V2.Init();
        DefaultTypeMap.MatchNamesWithUnderscores = true;
    }

    /// <param name="path">The database file; its directory must exist.</param>
    public SqliteHubStore(string path)
    {
        Path = path;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
        }.ToString();
        _writer = Open();
        // WAL: readers never block the writer; NORMAL sync is durable at every checkpoint and never corrupts.
        _writer.Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;");
        _batchWriter = Task.Run(WriteBatchesAsync);
    }

    public string Path { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            _writer.Execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)");
            long current = _writer.ExecuteScalar<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0;
            foreach ((int version, string description, string sql) in SqliteSchema.Migrations)
            {
                if (version <= current)
                {
                    continue;
                }

                using SqliteTransaction tx = _writer.BeginTransaction();
                _writer.Execute(sql, transaction: tx);
                _writer.Execute(
                    "INSERT INTO schema_migrations(version, description, applied_at) VALUES (@version, @description, @at)",
                    new { version, description, at = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() },
                    tx);
                tx.Commit();
            }
        }
        finally
        {
            _writeLock.Release();
        }
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using SqliteConnection connection = Open();
        return (int)(await connection.ExecuteScalarAsync<long?>("SELECT MAX(version) FROM schema_migrations") ?? 0);
    }

    public Task<IHubTransaction> BeginAsync(CancellationToken cancellationToken)
    {
        // Not async on purpose: an AsyncLocal set here lands in the caller's flow (one set inside an async
        // method would vanish when it returns), so a nested BeginAsync in that flow is caught, not deadlocked.
        if (_writing.Value)
        {
            throw new InvalidOperationException("a write transaction is already open in this flow; close it before starting another (it would wait on itself)");
        }

        _writing.Value = true;
        return BeginCoreAsync(cancellationToken);
    }

    private async Task<IHubTransaction> BeginCoreAsync(CancellationToken cancellationToken)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            SqliteTransaction tx = _writer.BeginTransaction(deferred: false);
            return new SqliteHubSession(_writer, tx, onDispose: () =>
            {
                _writing.Value = false;
                _writeLock.Release();
            });
        }
        catch
        {
            _writeLock.Release();
            throw;
        }
    }

    public async Task<T> WriteBatchedAsync<T>(Func<IHubTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        var item = new BatchItem(async tx => await work(tx));
        if (!_batch.Writer.TryWrite(item))
        {
            throw new ObjectDisposedException(nameof(SqliteHubStore));
        }

        return (T)(await item.Completion.Task.WaitAsync(cancellationToken))!;
    }

    /// <summary>The group-commit loop: takes whatever work is waiting, runs it in one transaction, commits once.</summary>
    private async Task WriteBatchesAsync()
    {
        _writing.Value = true; // work run here must not open transactions of its own
        var done = new List<(BatchItem Item, object? Result, Exception? Error)>(MaxBatch);
        while (await _batch.Reader.WaitToReadAsync())
        {
            await _writeLock.WaitAsync();
            try
            {
                using SqliteTransaction tx = _writer.BeginTransaction(deferred: false);
                var session = new SqliteHubSession(_writer, tx, onDispose: () => { }, batched: true);
                while (done.Count < MaxBatch && _batch.Reader.TryRead(out BatchItem? item))
                {
                    _writer.Execute("SAVEPOINT item", transaction: tx);
                    try
                    {
                        object? result = await item.Work(session);
                        _writer.Execute("RELEASE item", transaction: tx);
                        done.Add((item, result, null));
                    }
                    catch (Exception e)
                    {
                        _writer.Execute("ROLLBACK TO item; RELEASE item", transaction: tx);
                        done.Add((item, null, e));
                    }
                }

                tx.Commit();
                foreach ((BatchItem item, object? result, Exception? error) in done)
                {
                    if (error is null)
                    {
                        item.Completion.TrySetResult(result);
                    }
                    else
                    {
                        item.Completion.TrySetException(error);
                    }
                }
            }
            catch (Exception e)
            {
                // The commit itself failed: nothing of this batch is stored, and every caller hears so.
                foreach ((BatchItem item, _, _) in done)
                {
                    item.Completion.TrySetException(e);
                }
            }
            finally
            {
                done.Clear();
                _writeLock.Release();
            }
        }
    }

    private sealed record BatchItem(Func<IHubTransaction, Task<object?>> Work)
    {
        public TaskCompletionSource<object?> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    public Task<IHubReader> OpenReaderAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = Open();
        return Task.FromResult<IHubReader>(new SqliteHubSession(connection, null, onDispose: connection.Dispose));
    }

    public async ValueTask DisposeAsync()
    {
        _batch.Writer.TryComplete();
        await _batchWriter;
        await _writeLock.WaitAsync();
        _writer.Dispose();
        _writeLock.Dispose();
        SqliteConnection.ClearAllPools();
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        connection.Execute("PRAGMA foreign_keys=ON; PRAGMA busy_timeout=10000;");
        return connection;
    }
}
