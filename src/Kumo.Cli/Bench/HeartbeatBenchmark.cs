using System.Diagnostics;
using System.Net;
using System.Text;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Hardware;
using Kumo.Hub;
using Kumo.Protocol;
using Kumo.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Kumo.Cli.Bench;

/// <summary>
/// How many signed heartbeats a hub accepts per second on loopback, against the same hub answering an
/// unsigned no-op endpoint in the same run. Heartbeats are signed before the clock starts (signing is the
/// providers' cost, not the hub's); each one the hub verifies, checks for replay, and records in its store.
/// </summary>
public static class HeartbeatBenchmark
{
    public sealed record Result(
        string Scenario,
        int Requests,
        int Concurrency,
        int Providers,
        double SignedHeartbeatsPerS,
        double NoopPerS,
        double Ratio,
        double RawVerifyPerS,
        int Errors);

    public static async Task<Result> RunAsync(int requests, int concurrency, int providers, CancellationToken ct)
    {
        string data = Path.Combine(Path.GetTempPath(), "kumo-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var options = new HubOptions { DataDirectory = data, Urls = "http://127.0.0.1:0", ClockSkew = TimeSpan.FromMinutes(30) };
        WebApplication app = HubHost.Build(options, configureLogging: l => l.SetMinimumLevel(LogLevel.Warning));
        try
        {
            await HubHost.StartAsync(app, ct);
            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var client = HubClient.Create(url);

            var signers = new List<RequestSigner>();
            for (int i = 0; i < providers; i++)
            {
                var signer = new RequestSigner(AccountKey.Create());
                var inventory = new HardwareInventory(new CpuInfo("bench", 8, 4), 16L << 30, 100L << 30, [], "bench", "x64");
                await client.RegisterProviderAsync(signer, new ProviderRegistration($"bench-{i}", inventory, "none", ProviderPricing.Default, "bench"), ct);
                signers.Add(signer);
            }

            int warmup = Math.Min(2000, requests / 5);
            (string Path, byte[] Body)[] heartbeats = Sign(signers, warmup + requests);
            (string Path, byte[] Body)[] noops = [.. Enumerable.Repeat(("v1/noop", Array.Empty<byte>()), warmup + requests)];

            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
            {
                BaseAddress = new Uri(url.TrimEnd('/') + "/"),
            };

            // Warm both paths, then measure each; noop last so neither gets a colder JIT.
            await FireAsync(http, heartbeats[..warmup], concurrency, ct);
            await FireAsync(http, noops[..warmup], concurrency, ct);
            (double heartbeatRate, int heartbeatErrors) = await FireAsync(http, heartbeats[warmup..], concurrency, ct);
            (double noopRate, int noopErrors) = await FireAsync(http, noops[warmup..], concurrency, ct);
            double verify = RawVerifyRate(TimeSpan.FromSeconds(1));
            return new Result("heartbeat", requests, concurrency, providers, Math.Round(heartbeatRate), Math.Round(noopRate),
                Math.Round(heartbeatRate / noopRate, 3), Math.Round(verify), heartbeatErrors + noopErrors);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            TryDelete(data);
        }
    }

    private static (string Path, byte[] Body)[] Sign(List<RequestSigner> signers, int count)
    {
        var result = new (string, byte[])[count];
        for (int i = 0; i < count; i++)
        {
            RequestSigner signer = signers[i % signers.Count];
            SignedEnvelope envelope = signer.Sign(MessageTypes.ProviderHeartbeat, new Heartbeat(i + 1, []));
            result[i] = ($"v1/providers/{signer.AccountId}/heartbeats", Encoding.UTF8.GetBytes(envelope.ToJson()));
        }

        return result;
    }

    private static async Task<(double PerSecond, int Errors)> FireAsync(HttpClient http, (string Path, byte[] Body)[] requests, int concurrency, CancellationToken ct)
    {
        int next = -1, errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < requests.Length)
            {
                using var content = new ByteArrayContent(requests[i].Body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using HttpResponseMessage response = await http.PostAsync(requests[i].Path, content, ct);
                if (response.StatusCode != HttpStatusCode.NoContent)
                {
                    Interlocked.Increment(ref errors);
                }
            }
        }));
        return (requests.Length / clock.Elapsed.TotalSeconds, errors);
    }

    /// <summary>ECDSA P-256 verifications per second on one thread: what signature checking costs at best.</summary>
    internal static double RawVerifyRate(TimeSpan duration)
    {
        using var key = AccountKey.Create();
        byte[] message = new byte[300];
        byte[] signature = key.Sign(message);
        PublicKey verifier = key.PublicKey;
        int n = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            for (int i = 0; i < 100; i++)
            {
                verifier.Verify(message, signature);
            }

            n += 100;
        }

        return n / clock.Elapsed.TotalSeconds;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp directory; the OS cleans it eventually.
        }
    }

}
