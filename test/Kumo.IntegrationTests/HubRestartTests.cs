using Kumo.Cli.Commands;
using Kumo.Cli.Devnet;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>A real hub killed and restarted under a real agent: verification state comes back from the store.</summary>
public class HubRestartTests
{
    /// <summary>The hub's log from line <paramref name="from"/> on (a restarted hub appends to the same file).</summary>
    private static string LogFrom(KumoProcess hub, int from)
    {
        using var reader = new StreamReader(new FileStream(hub.LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        return string.Join('\n', reader.ReadToEnd().Split('\n').Skip(from));
    }

    private static int Lines(KumoProcess hub) => LogFrom(hub, 0).Split('\n').Length;

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_hub_killed_and_restarted_keeps_its_providers_hardware_proofs_and_offers_work_without_proving_anyone_again()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-restart-" + Guid.NewGuid().ToString("N")[..8]);
        string hubDirectory = Path.Combine(directory, "hub");
        string listen = $"http://127.0.0.1:{HubProcess.FreePort()}";
        (KumoProcess hub, HubClient client) = await HubProcess.StartAsync(hubDirectory, listen: listen);
        KumoProcess agent = KumoProcess.Start("agent",
            ["provider", "start", "--hub", client.BaseAddress.ToString(), "--data", Path.Combine(directory, "agent"), "--name", "restart-agent", "--bond", "--faucet"],
            Path.Combine(directory, "agent.log"));
        await using (agent)
        {
            ProviderView proven;
            await using (hub)
            using (client)
            {
                proven = (await Eventually.Until(() => client.ListProvidersAsync(), list => list.Count == 1 && list[0].HardwareProof == "passed",
                    "the agent to join and pass its hardware proof", seconds: 60)).Single();
                Assert.Equal(1, Count(hub.Tail(500), "hardware challenge hwc-"));
                // The hub stores a verdict before it tells the agent: once the agent logs it, a kill cannot lose it.
                await Eventually.Until(() => Task.FromResult(agent.Tail(200)), log => log.Contains("the hub offers this machine work", StringComparison.Ordinal),
                    "the agent to be told its verdict", seconds: 15);
                hub.Kill(); // SIGKILL: nothing is flushed on the way out
                await hub.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token);
            }

            int firstRun = Lines(hub);

            (hub, client) = await HubProcess.StartAsync(hubDirectory, listen: listen);
            await using (hub)
            using (client)
            {
                // Restored before the agent is even back: the verdict and tier the store kept.
                ProviderView restored = (await client.ListProvidersAsync()).Single();
                Assert.Equal("passed", restored.HardwareProof);
                Assert.Equal(proven.MeasuredTier, restored.MeasuredTier);
                await Eventually.Until(() => client.GetHealthAsync(), h => h.ConnectedProviders == 1, "the agent to reconnect", seconds: 30);
                Assert.Contains("1 provider standing(s) restored from the store, 0 round(s) cut short", LogFrom(hub, firstRun), StringComparison.Ordinal);

                // It gets work at once, on the proof from before the restart.
                using var tenantKey = AccountKey.Create();
                var tenant = new RequestSigner(tenantKey);
                await client.SubmitLedgerAsync(tenant, Kumo.Ledger.Transactions.LedgerMessageTypes.Faucet, new Kumo.Ledger.Transactions.FaucetPayload(100 * Kumo.Ledger.Amounts.MicrosPerKumo));
                string spec = Path.Combine(directory, "after.yaml");
                await File.WriteAllTextAsync(spec, DevnetFixture.ExecSpec("after-restart", "echo back"));
                (JobAccepted accepted, _) = await new JobSubmitter(client, tenant).SubmitAsync(spec, null, CancellationToken.None);
                JobView done = await Eventually.Until(() => client.GetJobAsync(accepted.JobId), j => j.State.IsFinal(), "the job after the restart", seconds: 60);
                Assert.True(done.State == JobState.Succeeded, $"{done.State}: {done.Failure?.Detail}\nhub:\n{hub.Tail(40)}\nagent:\n{agent.Tail(40)}");
                Assert.Equal(0, Count(LogFrom(hub, firstRun), "hardware challenge hwc-")); // nobody proven again
            }
        }

        Directory.Delete(directory, recursive: true);
    }
}
