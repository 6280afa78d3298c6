using System.Diagnostics;
using System.Net;
using System.Text;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hub;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Transactions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kumo.Cli.Bench;

/// <summary>
/// Signed transfers per second a hub applies end to end — HTTP, signature, rules, block sealed and committed to
/// SQLite before the answer — and audit replay speed over the resulting chain, both against the raw ECDSA P-256
/// verifications per second of one thread, measured in the same run.
/// </summary>
public static class LedgerBenchmark
{
    public sealed record Result(
        string Scenario,
        int Transfers,
        int Concurrency,
        int Batch,
        int Accounts,
        int BlockIntervalMs,
        double TransfersPerS,
        double RawVerifyPerS,
        double TransferRatio,
        long Blocks,
        long AuditedTransactions,
        double AuditTxPerS,
        double AuditRatio,
        int Errors);

    public static async Task<Result> RunAsync(int transfers, int concurrency, int batch, int accounts, TimeSpan blockInterval, Action<string>? status, CancellationToken ct)
    {
        string data = Path.Combine(Path.GetTempPath(), "kumo-bench-ledger-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new HubOptions
        {
            DataDirectory = data,
            Urls = "http://127.0.0.1:0",
            ClockSkew = TimeSpan.FromMinutes(30),
            BlockInterval = blockInterval,
            Genesis = Genesis.Devnet(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) with { ClockSkewMs = 1_800_000 },
        };
        WebApplication app = HubHost.Build(options, configureLogging: l => l.SetMinimumLevel(LogLevel.Warning));
        try
        {
            await HubHost.StartAsync(app, ct);
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = HubClient.Create(url);

            status?.Invoke($"funding {accounts} accounts");
            var signers = Enumerable.Range(0, accounts).Select(_ => new RequestSigner(AccountKey.Create())).ToList();
            await Task.WhenAll(signers.Select(s => client.SubmitLedgerAsync(s, LedgerMessageTypes.Faucet, new FaucetPayload(1000 * Amounts.MicrosPerKumo), ct)));

            status?.Invoke($"signing {transfers} transfers");
            int warmup = Math.Min(2000, transfers / 5);
            string[] signed = new string[warmup + transfers];
            for (int i = 0; i < signed.Length; i++)
            {
                RequestSigner from = signers[i % accounts];
                AccountId to = signers[(i + 1) % accounts].AccountId;
                signed[i] = from.Sign(LedgerMessageTypes.Transfer, new TransferPayload(to.Value, 1 + (i % 97))).ToJson();
            }

            // One transfer per request to POST /transactions, or `batch` of them per request to POST /transactions/batch.
            (byte[] Body, int Count)[] Requests(string[] envelopes) => batch <= 1
                ? [.. envelopes.Select(e => (Encoding.UTF8.GetBytes(e), 1))]
                : [.. envelopes.Chunk(batch).Select(c => (Encoding.UTF8.GetBytes("[" + string.Join(',', c) + "]"), c.Length))];
            (byte[] Body, int Count)[] warm = Requests(signed[..warmup]);
            (byte[] Body, int Count)[] measured = Requests(signed[warmup..]);

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = new Uri(url.TrimEnd('/') + "/"),
                Timeout = TimeSpan.FromMinutes(2),
            };
            status?.Invoke("warming up");
            // The anchor is measured before and after the load; the higher is used, so the ratios are conservative.
            double verifyBefore = HeartbeatBenchmark.RawVerifyRate(TimeSpan.FromSeconds(1));
            string path = batch <= 1 ? "v1/ledger/transactions" : "v1/ledger/transactions/batch";
            await FireAsync(http, path, warm, concurrency, ct);
            status?.Invoke($"sending {transfers} transfers, {concurrency} requests in flight, {Math.Max(1, batch)} per request");
            (double rate, int errors) = await FireAsync(http, path, measured, concurrency, ct);

            double verify = Math.Max(verifyBefore, HeartbeatBenchmark.RawVerifyRate(TimeSpan.FromSeconds(1)));
            await app.StopAsync(CancellationToken.None); // the audit reads a quiet database

            status?.Invoke("auditing the chain");
            AuditReport report;
            using (var source = new SqliteLedgerSource(Path.Combine(data, "hub.db")))
            {
                report = new Auditor().Run(source);
            }

            if (!report.Ok)
            {
                throw new CliException("the benchmark's own chain failed its audit: " + report);
            }

            double auditRate = report.Transactions / report.Elapsed.TotalSeconds;
            return new Result("ledger", transfers, concurrency, Math.Max(1, batch), accounts, (int)blockInterval.TotalMilliseconds,
                Math.Round(rate), Math.Round(verify), Math.Round(rate / verify, 3), report.Blocks, report.Transactions,
                Math.Round(auditRate), Math.Round(auditRate / verify, 3), errors);
        }
        finally
        {
            await app.DisposeAsync();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (IOException)
            {
                // A temp directory.
            }
        }
    }

    private static async Task<(double PerSecond, int Errors)> FireAsync(HttpClient http, string path, (byte[] Body, int Count)[] requests, int concurrency, CancellationToken ct)
    {
        int next = -1, errors = 0, sent = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests.Length)
            {
                using var content = new ByteArrayContent(requests[i].Body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using HttpResponseMessage response = await http.PostAsync(path, content, ct);
                Interlocked.Add(ref sent, requests[i].Count);
                if (response.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Add(ref errors, requests[i].Count);
                }
                else if (requests[i].Count > 1)
                {
                    // A batch answers 200 with a result per transaction; refusals carry a code.
                    string answer = await response.Content.ReadAsStringAsync(ct);
                    Interlocked.Add(ref errors, CountOccurrences(answer, "\"code\":\""));
                }
            }
        }));
        return (sent / clock.Elapsed.TotalSeconds, errors);
    }

    private static int CountOccurrences(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }
}
