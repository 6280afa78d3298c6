using System.CommandLine;
using Kumo.Hub;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo hub start</c>.</summary>
public static class HubCommands
{
    public static Command Create()
    {
        var hub = new Command("hub", "Run a hub: the market, store and API that providers and tenants talk to");
        var start = new Command("start", "Start a hub and serve until interrupted");
        var data = new Option<string>("--data") { Description = "Data directory (database, content)", DefaultValueFactory = _ => Path.Combine(Path.GetDirectoryName(CliContext.DefaultKeyPath())!, "hub") };
        var listen = new Option<string>("--listen") { Description = "Address to serve on; port 0 picks a free port", DefaultValueFactory = _ => "http://127.0.0.1:7070" };
        var heartbeatInterval = Durations.Option("--heartbeat-interval", "How often providers send heartbeats", TimeSpan.FromSeconds(2));
        var heartbeatTimeout = Durations.Option("--heartbeat-timeout", "Silence after which a provider is offline and its leases close", TimeSpan.FromSeconds(15));
        var offerTimeout = Durations.Option("--offer-timeout", "Time a provider has to accept an offered lease", TimeSpan.FromSeconds(15));
        var genesisFile = new Option<string?>("--genesis") { Description = "Genesis file for a new data directory (the ledger's rules; see `kumo hub genesis`)" };
        var devnet = new Option<bool>("--devnet") { Description = "For a new data directory: devnet rules (faucet, 30 s unbonding, 5 s settlement)" };
        var blockInterval = Durations.Option("--block-interval", "Ledger transactions are sealed into a block at least this often", TimeSpan.FromMilliseconds(200));
        var probeInterval = Durations.Option("--probe-interval", "How often providers measure latency and bandwidth to each other (0: never)", TimeSpan.FromMinutes(1));
        var proofRetry = Durations.Option("--proof-retry", "How soon a provider whose hardware proof failed is challenged again (it gets no work until one passes)",
            TimeSpan.FromMinutes(5));
        start.Options.Add(data);
        start.Options.Add(listen);
        start.Options.Add(heartbeatInterval);
        start.Options.Add(heartbeatTimeout);
        start.Options.Add(offerTimeout);
        start.Options.Add(genesisFile);
        start.Options.Add(devnet);
        start.Options.Add(blockInterval);
        start.Options.Add(probeInterval);
        start.Options.Add(proofRetry);
        start.Options.Add(ParentWatch.ParentPid);
        start.SetAction(async (parse, ct) =>
        {
            var options = new HubOptions
            {
                DataDirectory = Path.GetFullPath(parse.GetValue(data)!),
                Urls = parse.GetValue(listen)!,
                HeartbeatInterval = parse.GetValue(heartbeatInterval),
                HeartbeatTimeout = parse.GetValue(heartbeatTimeout),
                OfferTimeout = parse.GetValue(offerTimeout),
                BlockInterval = parse.GetValue(blockInterval),
                ProbeInterval = parse.GetValue(probeInterval),
                HardwareProofRetry = parse.GetValue(proofRetry),
                Genesis = ReadGenesis(parse.GetValue(genesisFile), parse.GetValue(devnet)),
            };
            if (options.HeartbeatTimeout <= options.HeartbeatInterval)
            {
                throw new CliException("--heartbeat-timeout must be longer than --heartbeat-interval", ExitCodes.Usage);
            }

            CancellationToken stop = ParentWatch.Link(parse, ct);
            await using WebApplication app = HubHost.Build(options);
            try
            {
                await HubHost.StartAsync(app, stop);
            }
            catch (IOException e)
            {
                throw new CliException($"cannot serve on {options.Urls}: {e.Message}", ExitCodes.Failure);
            }
            catch (Kumo.Hub.Storage.IncompatibleDataException e)
            {
                throw new CliException(e.Message, ExitCodes.InvalidInput);
            }

            string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            // Written after the port is bound, so a supervisor (the devnet) can wait for it.
            // Written whole (temp file, then rename) so a reader never sees it half-written.
            string urlFile = Path.Combine(options.DataDirectory, "hub.url");
            await File.WriteAllTextAsync(urlFile + ".tmp", url, CancellationToken.None);
            File.Move(urlFile + ".tmp", urlFile, overwrite: true);
            Console.Out.WriteLine($"kumo hub {HubInfo.Version} serving {url} (data {options.DataDirectory}); API docs at {url}/openapi/v1.json");
            try
            {
                await Task.Delay(Timeout.Infinite, stop);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or the parent went away: shut down cleanly.
            }

            await app.StopAsync(CancellationToken.None);
            File.Delete(Path.Combine(options.DataDirectory, "hub.url"));
            return ExitCodes.Success;
        });
        hub.Subcommands.Add(start);
        hub.Subcommands.Add(Genesis());
        return hub;
    }

    private static Kumo.Ledger.Genesis? ReadGenesis(string? file, bool devnet)
    {
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        if (file is null)
        {
            return devnet ? Kumo.Ledger.Genesis.Devnet(now) : null;
        }

        Kumo.Ledger.Genesis genesis;
        try
        {
            genesis = Kumo.Ledger.Genesis.FromJson(File.ReadAllText(file));
        }
        catch (Exception e) when (e is IOException or System.Text.Json.JsonException)
        {
            throw new CliException($"--genesis {file}: {e.Message}", ExitCodes.InvalidInput);
        }

        IReadOnlyList<string> errors = genesis.Validate();
        return errors.Count == 0 ? genesis : throw new CliException($"--genesis {file}: " + string.Join("; ", errors), ExitCodes.InvalidInput);
    }

    private static Command Genesis()
    {
        var chain = new Option<string>("--chain-id") { Description = "The network's name", DefaultValueFactory = _ => "kumo-net" };
        var allocate = new Option<string[]>("--allocate") { Description = "ACCOUNT=KUMO, repeatable: balances at genesis", AllowMultipleArgumentsPerToken = true };
        var devnet = new Option<bool>("--devnet") { Description = "Devnet rules: a faucet, short unbonding and settlement" };
        var command = new Command("genesis", "Print a genesis file (the ledger's rules and initial balances) to edit and pass to `hub start --genesis`") { chain, allocate, devnet };
        command.SetAction(parse =>
        {
            long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var allocations = new List<Kumo.Ledger.GenesisAllocation>();
            foreach (string entry in parse.GetValue(allocate) ?? [])
            {
                string[] parts = entry.Split('=', 2);
                if (parts.Length != 2 || !Kumo.Ledger.Amounts.TryParse(parts[1], out long micros, out string error))
                {
                    throw new CliException($"--allocate '{entry}': expected ACCOUNT=KUMO", ExitCodes.Usage);
                }

                allocations.Add(new Kumo.Ledger.GenesisAllocation(parts[0], micros));
            }

            Kumo.Ledger.Genesis genesis = parse.GetValue(devnet)
                ? Kumo.Ledger.Genesis.Devnet(now) with { ChainId = parse.GetValue(chain)!, Allocations = allocations }
                : Kumo.Ledger.Genesis.Network(parse.GetValue(chain)!, now, allocations);
            IReadOnlyList<string> errors = genesis.Validate();
            if (errors.Count > 0)
            {
                throw new CliException(string.Join("; ", errors), ExitCodes.InvalidInput);
            }

            Console.Out.WriteLine(genesis.ToJson());
            return ExitCodes.Success;
        });
        return command;
    }
}
