using System.Diagnostics;
using Kumo.Cli.Devnet;
using Kumo.Client;

namespace Kumo.IntegrationTests.Support;

/// <summary>A devnet hub started as its own `kumo hub start` process on a free loopback port.</summary>
internal static class HubProcess
{
    /// <summary>Starts the hub on <paramref name="directory"/> and waits until it answers.</summary>
    public static async Task<(KumoProcess Hub, HubClient Client)> StartAsync(string directory, IReadOnlyDictionary<string, string>? environment = null,
        string listen = "http://127.0.0.1:0")
    {
        Directory.CreateDirectory(directory);
        string urlFile = Path.Combine(directory, "hub.url");
        File.Delete(urlFile);
        KumoProcess hub = KumoProcess.Start("hub", ["hub", "start", "--data", directory, "--listen", listen, "--devnet", "--proof-retry", "10s"],
            Path.Combine(directory, "hub.log"), environment);
        var clock = Stopwatch.StartNew();
        while (!File.Exists(urlFile))
        {
            if (hub.HasExited || clock.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException("the hub did not start:\n" + hub.Tail(20));
            }

            await Task.Delay(50);
        }

        var client = HubClient.Create(await File.ReadAllTextAsync(urlFile));
        await client.GetHealthAsync();
        return (hub, client);
    }

    /// <summary>A loopback port free now: for a hub that must come back on the same address after a restart.</summary>
    public static int FreePort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        int port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
