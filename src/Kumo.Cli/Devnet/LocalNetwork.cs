using System.Globalization;
using Kumo.Client;
using Kumo.Protocol;

namespace Kumo.Cli.Devnet;

/// <summary>What a devnet is made of.</summary>
public sealed record LocalNetworkOptions
{
    /// <summary>All state lives here: hub/, provider-N/, tenant/.</summary>
    public required string Directory { get; init; }

    public int Providers { get; init; } = 3;

    /// <summary>Simulated GPUs per provider index; providers beyond the list have none.</summary>
    public IReadOnlyList<string> SimulatedGpus { get; init; } = ["", "2xH100-80GB", "1xA100-40GB"];

    /// <summary>
    /// Fault injection per provider index ("" = honest): how its validator answers (lazy, accuser, silent). For tests and
    /// the adversarial demo; the network must catch each.
    /// </summary>
    public IReadOnlyList<string> ValidatorFaults { get; init; } = [];

    /// <summary>More <c>kumo provider start</c> arguments per provider index (tests: <c>--max-replication-fee</c>, say).</summary>
    public IReadOnlyList<IReadOnlyList<string>> ProviderArgs { get; init; } = [];

    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan HeartbeatTimeout { get; init; } = TimeSpan.FromSeconds(6);

    public TimeSpan OfferTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Delete the directory's previous state first.</summary>
    public bool Reset { get; init; }

    /// <summary>The tenant's account is topped up to this from the faucet at start (µKUMO).</summary>
    public long TenantFunds { get; init; } = 1000 * Kumo.Ledger.Amounts.MicrosPerKumo;

    /// <summary>How long to wait for the hub and every provider to come up.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A whole network on loopback: a hub process and provider processes of this same kumo binary, each with its
/// own data directory and log file, plus a tenant key. Used by `kumo devnet up`, the benchmarks and the
/// end-to-end tests.
/// </summary>
public sealed class LocalNetwork : IAsyncDisposable
{
    private readonly List<KumoProcess> _providers = [];

    private LocalNetwork(LocalNetworkOptions options, KumoProcess hub, string hubUrl)
    {
        Options = options;
        Hub = hub;
        HubUrl = hubUrl;
    }

    public LocalNetworkOptions Options { get; }

    public KumoProcess Hub { get; }

    public string HubUrl { get; }

    public IReadOnlyList<KumoProcess> Providers => _providers;

    public string TenantKeyPath => Path.Combine(Options.Directory, "tenant", "key.json");

    /// <summary>Starts the hub, then the providers, and waits until every provider is online.</summary>
    /// <param name="options">What to start, and where.</param>
    /// <param name="status">Progress, transient.</param>
    /// <param name="ct">Stops the start.</param>
    /// <param name="warning">Told what the user must know afterwards (state moved aside), unlike transient <paramref name="status"/>.</param>
    public static async Task<LocalNetwork> StartAsync(LocalNetworkOptions options, Action<string>? status, CancellationToken ct, Action<string>? warning = null)
    {
        string root = Path.GetFullPath(options.Directory);
        try
        {
            return await StartOnceAsync(options, status, ct);
        }
        catch (IncompatibleStateException e) when (!options.Reset)
        {
            // A devnet is disposable, but its state is still someone's: moved aside, never deleted.
            string aside = string.Create(CultureInfo.InvariantCulture, $"{root}.old-{DateTime.UtcNow:yyyyMMdd-HHmmss}");
            System.IO.Directory.Move(root, aside);
            (warning ?? status)?.Invoke($"the devnet state in {root} was written by another version of Kumo ({e.Message}); moved it to {aside}, starting afresh");
            try
            {
                return await StartOnceAsync(options, status, ct);
            }
            catch (IncompatibleStateException again)
            {
                throw new CliException($"the hub cannot read even a new devnet state ({again.Message}); see {Path.Combine(root, "hub", "hub.log")}");
            }
        }
        catch (IncompatibleStateException e)
        {
            throw new CliException($"the hub cannot read the devnet state ({e.Message}); see {Path.Combine(root, "hub", "hub.log")}");
        }
    }

    private static async Task<LocalNetwork> StartOnceAsync(LocalNetworkOptions options, Action<string>? status, CancellationToken ct)
    {
        string root = Path.GetFullPath(options.Directory);
        if (options.Reset && System.IO.Directory.Exists(root))
        {
            System.IO.Directory.Delete(root, recursive: true);
        }

        System.IO.Directory.CreateDirectory(root);
        string pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        string hubDirectory = Path.Combine(root, "hub");
        System.IO.Directory.CreateDirectory(hubDirectory);
        File.Delete(Path.Combine(hubDirectory, "hub.url"));
        status?.Invoke("starting hub");
        KumoProcess hub = KumoProcess.Start("hub",
        [
            "hub", "start", "--data", hubDirectory, "--listen", "http://127.0.0.1:0",
            "--heartbeat-interval", Seconds(options.HeartbeatInterval), "--heartbeat-timeout", Seconds(options.HeartbeatTimeout),
            "--offer-timeout", Seconds(options.OfferTimeout), "--probe-interval", "5s", "--proof-retry", "10s", "--parent-pid", pid, "--devnet",
        ], Path.Combine(hubDirectory, "hub.log"));

        LocalNetwork? network = null;
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(options.StartTimeout);
            string url = await WaitForHubAsync(hub, Path.Combine(hubDirectory, "hub.url"), deadline.Token);
            network = new LocalNetwork(options with { Directory = root }, hub, url);
            string tenantKey = network.TenantKeyPath;
            if (!File.Exists(tenantKey))
            {
                using var key = Kumo.Crypto.AccountKey.Create();
                KeyFile.Save(tenantKey, key);
            }

            await network.FundTenantAsync(options.TenantFunds, deadline.Token);

            for (int i = 0; i < options.Providers; i++)
            {
                network.StartProvider(i);
            }

            status?.Invoke($"waiting for {options.Providers} providers to join");
            await network.WaitForProvidersAsync(options.Providers, deadline.Token);
            return network;
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            string logs = network is null ? hub.Tail(20) : string.Join("\n", network._providers.Select(p => $"--- {p.Name}\n{p.Tail(10)}"));
            if (network is not null)
            {
                await network.DisposeAsync();
            }
            else
            {
                await hub.DisposeAsync();
            }

            throw new CliException($"the devnet did not come up within {options.StartTimeout.TotalSeconds:0} s; last log lines:\n{logs}");
        }
        catch
        {
            if (network is not null)
            {
                await network.DisposeAsync();
            }
            else
            {
                await hub.DisposeAsync();
            }

            throw;
        }
    }

    /// <summary>(Re)starts provider <paramref name="index"/> with its persistent data directory and key.</summary>
    public KumoProcess StartProvider(int index)
    {
        string name = $"devnet-{index + 1}";
        string directory = Path.Combine(Options.Directory, $"provider-{index + 1}");
        var args = new List<string>
        {
            "provider", "start", "--hub", HubUrl, "--data", directory, "--name", name, "--bond", "--faucet",
            "--region", "local", "--zone", "devnet", "--address", $"127.0.0.1:{7100 + index}",
            "--probe-address", "127.0.0.1:0", "--validate",
            "--parent-pid", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (index < Options.SimulatedGpus.Count && Options.SimulatedGpus[index].Length > 0)
        {
            args.AddRange(["--simulate-gpus", Options.SimulatedGpus[index]]);
        }

        if (index < Options.ValidatorFaults.Count && Options.ValidatorFaults[index].Length > 0)
        {
            args.AddRange(["--validator-fault", Options.ValidatorFaults[index]]);
        }

        if (index < Options.ProviderArgs.Count)
        {
            args.AddRange(Options.ProviderArgs[index]);
        }

        KumoProcess process = KumoProcess.Start(name, args, Path.Combine(directory, "agent.log"));
        if (index < _providers.Count)
        {
            _providers[index] = process;
        }
        else
        {
            _providers.Add(process);
        }

        return process;
    }

    /// <summary>Tops the tenant's account up to <paramref name="micros"/> from the devnet faucet.</summary>
    public async Task FundTenantAsync(long micros, CancellationToken ct)
    {
        using var client = HubClient.Create(HubUrl);
        var tenant = new RequestSigner(KeyFile.Load(TenantKeyPath));
        Kumo.Ledger.AccountView account = await client.GetAccountAsync(tenant.AccountId.Value, ct);
        if (account.Balance < micros)
        {
            await client.SubmitLedgerAsync(tenant, Kumo.Ledger.Transactions.LedgerMessageTypes.Faucet,
                new Kumo.Ledger.Transactions.FaucetPayload(micros - account.Balance), ct);
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> providers are online and connected.</summary>
    public async Task<IReadOnlyList<ProviderView>> WaitForProvidersAsync(int count, CancellationToken ct)
    {
        using var client = HubClient.Create(HubUrl);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            foreach (KumoProcess p in _providers.Where(p => p.HasExited))
            {
                throw new CliException($"provider {p.Name} exited during start; its log ({p.LogPath}) ends with:\n{p.Tail(15)}");
            }

            IReadOnlyList<ProviderView> providers = await client.ListProvidersAsync(ct);
            if (providers.Count(p => p.Status == ProviderStatus.Online) >= count && (await client.GetHealthAsync(ct)).ConnectedProviders >= count)
            {
                return providers;
            }

            await Task.Delay(100, ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_providers.Select(p => p.DisposeAsync().AsTask()));
        await Hub.DisposeAsync();
    }

    private static async Task<string> WaitForHubAsync(KumoProcess hub, string urlFile, CancellationToken ct)
    {
        while (true)
        {
            if (hub.HasExited)
            {
                if (hub.ExitCode == ExitCodes.InvalidInput && hub.Tail(15).Contains("cannot be read by this version", StringComparison.Ordinal))
                {
                    throw new IncompatibleStateException("its ledger cannot be read by this version");
                }

                throw new CliException($"the hub exited during start; its log ({hub.LogPath}) ends with:\n{hub.Tail(15)}");
            }

            if (File.Exists(urlFile))
            {
                string url = (await File.ReadAllTextAsync(urlFile, ct)).Trim();
                if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? parsed) || parsed.Scheme != Uri.UriSchemeHttp)
                {
                    throw new CliException($"the hub wrote an unusable address '{url}' to {urlFile}");
                }

                using var client = HubClient.Create(url);
                try
                {
                    await client.GetHealthAsync(ct);
                    return url;
                }
                catch (HubUnreachableException)
                {
                    // Bound but not serving yet.
                }
            }

            await Task.Delay(100, ct);
        }
    }

    private static string Seconds(TimeSpan t) => $"{t.TotalMilliseconds:0}ms";

    /// <summary>The hub refused the devnet's stored state as written by another version.</summary>
    private sealed class IncompatibleStateException(string message) : Exception(message);
}
