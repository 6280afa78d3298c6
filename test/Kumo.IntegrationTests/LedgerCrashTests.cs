using Kumo.Cli.Devnet;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage.Sqlite;
using Kumo.IntegrationTests.Support;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Transactions;

namespace Kumo.IntegrationTests;

public class LedgerCrashTests
{
    private const long K = Amounts.MicrosPerKumo;

    [Fact]
    public async Task A_hub_killed_while_writing_a_block_restarts_at_the_last_committed_block_and_audits_clean()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-crash-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        using var aliceKey = AccountKey.Create();
        var alice = new RequestSigner(aliceKey);
        AccountId bob = AccountKey.Create().AccountId;

        // Block 1: the faucet. Blocks 2-4: one transfer each (each waits for its block). Block 5 dies mid-write.
        (KumoProcess hub, HubClient client) = await HubProcess.StartAsync(directory, new Dictionary<string, string> { [LedgerService.CrashDuringBlockVariable] = "5" });
        await using (hub)
        using (client)
        {
            await client.SubmitLedgerAsync(alice, LedgerMessageTypes.Faucet, new FaucetPayload(1000 * K));
            for (int i = 0; i < 3; i++)
            {
                await client.SubmitLedgerAsync(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.Value, K));
            }

            Exception lost = await Assert.ThrowsAnyAsync<Exception>(() =>
                client.SubmitLedgerAsync(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.Value, 7 * K)));
            Assert.True(lost is HubUnreachableException or HttpRequestException or IOException, lost.ToString());
            await hub.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            Assert.Contains("injected fault", hub.Tail(50), StringComparison.Ordinal);
        }

        // The database holds exactly blocks 1-4; the audit agrees.
        using (var source = new SqliteLedgerSource(Path.Combine(directory, "hub.db")))
        {
            AuditReport report = new Auditor().Run(source);
            Assert.True(report.Ok, report.ToString());
            Assert.Equal(4, report.Blocks);
        }

        KumoCli.Result audit = await KumoCli.RunAsync(["audit", "--data", directory]);
        Assert.True(audit.ExitCode == 0, audit.ToString());
        Assert.Contains("audit ok", audit.Stdout, StringComparison.Ordinal);

        // Restarted without the fault, the hub is at block 4: the unconfirmed transfer never happened, and can be sent again.
        (hub, client) = await HubProcess.StartAsync(directory);
        await using (hub)
        using (client)
        {
            Assert.Equal(4, (await client.GetLedgerSummaryAsync()).Height);
            Assert.Equal(997 * K, (await client.GetAccountAsync(alice.AccountId.Value)).Balance);
            Assert.Equal(3 * K, (await client.GetAccountAsync(bob.Value)).Balance);
            TxReceiptView retried = await client.SubmitLedgerAsync(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.Value, 7 * K));
            Assert.Equal(5, retried.Height);
            Assert.Equal(10 * K, (await client.GetAccountAsync(bob.Value)).Balance);
        }

        using (var source = new SqliteLedgerSource(Path.Combine(directory, "hub.db")))
        {
            Assert.True(new Auditor().Run(source).Ok);
        }

        Directory.Delete(directory, recursive: true);
    }
}
