using Kumo.IntegrationTests.Support;

namespace Kumo.IntegrationTests;

public class DemoTests
{
    [Fact]
    public async Task Devnet_up_demo_runs_every_example_and_exits_zero()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-demo-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            KumoCli.Result result = await KumoCli.RunAsync(
                ["devnet", "up", "--demo", "--dir", directory, "--examples", Path.Combine(Repository.Root, "examples")],
                timeout: TimeSpan.FromMinutes(3));

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("all 7 example jobs succeeded and their outputs match expected/", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("simulated", result.Stdout, StringComparison.Ordinal); // the GPU job ran on a simulated H100, and says so
            Assert.Equal("hello, kumo\n", await File.ReadAllTextAsync(Path.Combine(directory, "demo", "hello", "out", "hello.txt")));

            // The same devnet after an upgrade that changed a stored format: the old state is moved aside (not
            // deleted), the demo starts afresh and still passes.
            await MakeLedgerUnreadableAsync(Path.Combine(directory, "hub", "hub.db"));
            KumoCli.Result again = await KumoCli.RunAsync(
                ["devnet", "up", "--demo", "--dir", directory, "--examples", Path.Combine(Repository.Root, "examples")],
                timeout: TimeSpan.FromMinutes(3));
            Assert.True(again.ExitCode == 0, again.ToString());
            Assert.Contains("written by another version of Kumo", again.ToString(), StringComparison.Ordinal);
            string aside = Assert.Single(Directory.GetDirectories(Path.GetDirectoryName(directory)!, Path.GetFileName(directory) + ".old-*"));
            Assert.True(File.Exists(Path.Combine(aside, "hub", "hub.db")));
            TryDelete(aside);
        }
        finally
        {
            TryDelete(directory);
        }
    }

    private static async Task MakeLedgerUnreadableAsync(string db)
    {
        SQLitePCL.Batteries_V2.Init();
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "UPDATE ledger_txs SET body = CAST('{ ' || substr(CAST(body AS TEXT), 2) AS BLOB) " +
            "WHERE (height, idx) = (SELECT height, idx FROM ledger_txs ORDER BY height, idx LIMIT 1)";
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Temp files.
        }
    }
}
