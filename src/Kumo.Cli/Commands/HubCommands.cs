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
        start.Options.Add(data);
        start.Options.Add(listen);
        start.Options.Add(heartbeatInterval);
        start.Options.Add(heartbeatTimeout);
        start.Options.Add(offerTimeout);
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
        return hub;
    }
}
