using Kumo.Ledger.Blocks;
using Microsoft.Data.Sqlite;

namespace Kumo.Hub.Storage.Sqlite;

/// <summary>
/// Reads a hub's ledger history straight from its database file, read-only (a running hub is not disturbed:
/// in WAL mode readers see the last committed block). Used by <c>kumo audit</c>.
/// </summary>
public sealed class SqliteLedgerSource : IBlockSource, IDisposable
{
    private readonly SqliteConnection _connection;

    public SqliteLedgerSource(string databasePath)
    {
        if (!File.Exists(databasePath))
        {
            throw new FileNotFoundException($"no hub database at {databasePath}", databasePath);
        }

        SQLitePCL.Batteries_V2.Init();
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        _connection.Open();
        using (SqliteCommand begin = _connection.CreateCommand())
        {
            // One snapshot for the whole audit, even if the hub keeps writing.
            begin.CommandText = "BEGIN";
            begin.ExecuteNonQuery();
        }

        Genesis = Scalar<byte[]>("SELECT body FROM ledger_genesis WHERE id = 1")
            ?? throw new InvalidDataException($"{databasePath} has no ledger genesis (a hub from before the ledger, or not a hub database)");
        LiveState = [.. Lines()];
    }

    public byte[] Genesis { get; }

    public IReadOnlyList<string>? LiveState { get; }

    public long BlockCount => Scalar<long>("SELECT COUNT(*) FROM ledger_blocks");

    public IEnumerable<StoredBlock> Blocks()
    {
        using SqliteCommand blocks = _connection.CreateCommand();
        blocks.CommandText = "SELECT height, header FROM ledger_blocks ORDER BY height";
        using SqliteCommand txs = _connection.CreateCommand();
        txs.CommandText = "SELECT body FROM ledger_txs WHERE height = $h ORDER BY idx";
        SqliteParameter height = txs.Parameters.Add("$h", SqliteType.Integer);
        using SqliteDataReader reader = blocks.ExecuteReader();
        while (reader.Read())
        {
            height.Value = reader.GetInt64(0);
            byte[] header = (byte[])reader.GetValue(1);
            var bodies = new List<byte[]>();
            using (SqliteDataReader t = txs.ExecuteReader())
            {
                while (t.Read())
                {
                    bodies.Add((byte[])t.GetValue(0));
                }
            }

            yield return new StoredBlock(header, bodies);
        }
    }

    public void Dispose()
    {
        using (SqliteCommand end = _connection.CreateCommand())
        {
            end.CommandText = "ROLLBACK";
            end.ExecuteNonQuery();
        }

        _connection.Dispose();
    }

    private IEnumerable<string> Lines()
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = "SELECT line FROM ledger_state";
        using SqliteDataReader reader = command.ExecuteReader();
        var lines = new List<string>();
        while (reader.Read())
        {
            lines.Add(reader.GetString(0));
        }

        lines.Sort(StringComparer.Ordinal);
        return lines;
    }

    private T? Scalar<T>(string sql)
    {
        using SqliteCommand command = _connection.CreateCommand();
        command.CommandText = sql;
        object? value = command.ExecuteScalar();
        return value is null or DBNull ? default : (T)value;
    }
}
