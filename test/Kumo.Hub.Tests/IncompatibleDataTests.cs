using Kumo.Hub.Storage;
using Kumo.Hub.Tests.Support;
using Kumo.Ledger;
using Kumo.Ledger.Transactions;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>A data directory written by another version (or edited) stops the hub at start, with what to do, and is left as it was.</summary>
public class IncompatibleDataTests
{
    [Fact]
    public async Task A_ledger_this_version_cannot_read_stops_the_hub_with_what_to_do_and_nothing_is_changed()
    {
        string data = Path.Combine(Path.GetTempPath(), "kumo-hub-test-" + Guid.NewGuid().ToString("N")[..10]);
        var options = new HubOptions
        {
            DataDirectory = data,
            Urls = "http://127.0.0.1:0",
            SweepInterval = TimeSpan.FromHours(1),
            ProbeInterval = TimeSpan.Zero,
            BlockInterval = TimeSpan.FromMilliseconds(20),
            Genesis = Genesis.Devnet(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000),
        };
        try
        {
            await using (var first = HubHost.Build(options))
            {
                await HubHost.StartAsync(first);
                string url = first.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
                    .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.First();
                using var client = new Kumo.Client.HubClient(new Uri(url));
                await client.SubmitLedgerAsync(HubFixture.NewSigner(), LedgerMessageTypes.Faucet, new FaucetPayload(Amounts.MicrosPerKumo));
                await first.StopAsync();
            }

            // A stored transaction in a form this version would not write (as after a format change between versions).
            string db = Path.Combine(data, "hub.db");
            byte[] stored = await ExecuteAsync(db, "SELECT body FROM ledger_txs ORDER BY height, idx LIMIT 1", null);
            byte[] changed = [(byte)'{', (byte)' ', .. stored.AsSpan(1)];
            await ExecuteAsync(db, "UPDATE ledger_txs SET body = $b WHERE (height, idx) = (SELECT height, idx FROM ledger_txs ORDER BY height, idx LIMIT 1)", changed);

            await using var second = HubHost.Build(options);
            IncompatibleDataException refused = await Assert.ThrowsAsync<IncompatibleDataException>(() => HubHost.StartAsync(second));

            Assert.Contains($"the ledger in {data} cannot be read by this version of Kumo", refused.Message, StringComparison.Ordinal);
            Assert.Contains("not in canonical form", refused.Message, StringComparison.Ordinal);
            Assert.Contains("kumo devnet up --reset", refused.Message, StringComparison.Ordinal);
            Assert.Equal(changed, await ExecuteAsync(db, "SELECT body FROM ledger_txs ORDER BY height, idx LIMIT 1", null)); // left as it was
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    private static async Task<byte[]> ExecuteAsync(string db, string sql, byte[]? parameter)
    {
        await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db};Pooling=False");
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (parameter is not null)
        {
            command.Parameters.AddWithValue("$b", parameter);
            await command.ExecuteNonQueryAsync();
            return parameter;
        }

        return (byte[])(await command.ExecuteScalarAsync())!;
    }
}
