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

    public Task<IHubReader> OpenReaderAsync(CancellationToken cancellationToken)
    {
        SqliteConnection connection = Open();
        return Task.FromResult<IHubReader>(new SqliteHubSession(connection, null, onDispose: connection.Dispose));
    }

    public async ValueTask DisposeAsync()
    {
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
