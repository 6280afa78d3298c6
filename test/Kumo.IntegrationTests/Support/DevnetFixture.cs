using Kumo.Cli.Devnet;
using Kumo.Client;

namespace Kumo.IntegrationTests.Support;

/// <summary>One devnet (hub + providers as real processes) shared by the tests of a class.</summary>
public class DevnetFixture : IAsyncLifetime
{
    public LocalNetwork Network { get; private set; } = null!;

    public HubClient Client { get; private set; } = null!;

    public RequestSigner Tenant { get; private set; } = null!;

    public string Directory { get; } = Path.Combine(Path.GetTempPath(), "kumo-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    protected virtual LocalNetworkOptions Options => new()
    {
        Directory = Directory,
        Providers = 2,
        SimulatedGpus = ["", "1xH100-80GB"],
        HeartbeatInterval = TimeSpan.FromMilliseconds(500),
        HeartbeatTimeout = TimeSpan.FromSeconds(4),
    };

    /// <summary>Environment for CLI processes that should talk to this devnet as its tenant.</summary>
    public IDictionary<string, string> Environment => new Dictionary<string, string>
    {
        ["KUMO_HUB"] = Network.HubUrl,
        ["KUMO_KEY"] = Network.TenantKeyPath,
    };

    public async Task InitializeAsync()
    {
        Network = await LocalNetwork.StartAsync(Options, status: null, CancellationToken.None);
        Client = HubClient.Create(Network.HubUrl);
        Tenant = new RequestSigner(KeyFile.Load(Network.TenantKeyPath));
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Network.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // Temp files.
        }
        catch (UnauthorizedAccessException)
        {
            // Lease directories owned by the sandbox user; the OS cleans /tmp.
        }
    }

    /// <summary>Writes a spec file into the devnet directory and returns its path.</summary>
    public string Spec(string name, string yaml)
    {
        string path = Path.Combine(Directory, "specs", name + ".yaml");
        System.IO.Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, yaml);
        return path;
    }

    public static string ExecSpec(string name, string script, string timeout = "1m", string extra = "") => $"""
        version: kumo/v1
        name: {name}
        resources:
          cpu: 0.5
          memory: 128Mi
          disk: 64Mi
        workload:
          exec:
            command: /bin/sh
            args:
              - -c
              - |
        {string.Join('\n', script.Split('\n').Select(l => "            " + l))}
        {extra}
        price:
          maxPerHour: 1
        timeout: {timeout}
        """;
}
