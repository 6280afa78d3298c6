using System.CommandLine;
using Kumo.Cli.Devnet;
using Kumo.Cli.Output;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo devnet up</c>.</summary>
public static class DevnetCommands
{
    public static Command Create()
    {
        var devnet = new Command("devnet", "A whole network on this machine, on loopback");
        var demo = new Option<bool>("--demo") { Description = "Run the example jobs, check their outputs, shut down; exit 0 only if all succeeded" };
        var directory = new Option<string>("--dir") { Description = "State directory", DefaultValueFactory = _ => Path.Combine(".kumo", "devnet") };
        var providers = new Option<int>("--providers") { Description = "How many provider processes", DefaultValueFactory = _ => 3 };
        var reset = new Option<bool>("--reset") { Description = "Delete the devnet's previous state (keys, database, content) first" };
        var examples = new Option<string?>("--examples") { Description = "Examples directory for --demo [default: examples/ of this checkout]" };
        var timeout = Durations.Option("--timeout", "Longest the demo may take", TimeSpan.FromMinutes(5));
        var up = new Command("up", "Start a hub and provider processes on loopback (state under .kumo/devnet); with --demo, run the examples") { demo, directory, providers, reset, examples, timeout };
        up.SetAction(async (parse, ct) =>
        {
            int count = parse.GetValue(providers);
            if (count is < 1 or > 32)
            {
                throw new CliException("--providers must be 1..32", ExitCodes.Usage);
            }

            var options = new LocalNetworkOptions
            {
                Directory = Path.GetFullPath(parse.GetValue(directory)!),
                Providers = count,
                Reset = parse.GetValue(reset),
            };
            string? examplesDirectory = null;
            if (parse.GetValue(demo))
            {
                examplesDirectory = parse.GetValue(examples) ?? FindExamples()
                    ?? throw new CliException("no examples/ directory found; run from the repository or pass --examples DIR", ExitCodes.InvalidInput);
            }

            LocalNetwork network = await AnsiConsole.Status().StartAsync("starting devnet…", ctx =>
                LocalNetwork.StartAsync(options, s => ctx.Status(Markup.Escape(s)), ct, w => AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(w)}[/]")));
            await using (network)
            {
                PrintNetwork(network, demo: examplesDirectory is not null);
                if (examplesDirectory is null)
                {
                    AnsiConsole.MarkupLine("[grey]Ctrl+C stops the devnet.[/]");
                    try
                    {
                        await Task.Delay(Timeout.Infinite, ct);
                    }
                    catch (OperationCanceledException)
                    {
                        AnsiConsole.MarkupLine("stopping devnet…");
                    }

                    return ExitCodes.Success;
                }

                bool passed = await new DemoRunner(network, examplesDirectory).RunAsync(parse.GetValue(timeout), ct);
                AnsiConsole.MarkupLine("stopping devnet…");
                return passed ? ExitCodes.Success : ExitCodes.Failure;
            }
        });
        devnet.Subcommands.Add(up);
        return devnet;
    }

    private static void PrintNetwork(LocalNetwork network, bool demo)
    {
        AnsiConsole.MarkupLine($"[green]devnet up[/]: hub {network.HubUrl}, {network.Providers.Count} providers, state in {Markup.Escape(network.Options.Directory)}");
        using var client = Kumo.Client.HubClient.Create(network.HubUrl);
        Display.Providers(client.ListProvidersAsync().GetAwaiter().GetResult());
        if (demo)
        {
            return;
        }

        AnsiConsole.MarkupLine("Use it from another shell:");
        AnsiConsole.WriteLine($"  export KUMO_HUB={network.HubUrl} KUMO_KEY={network.TenantKeyPath}");
        AnsiConsole.MarkupLine("  ./kumo job submit examples/hello/job.yaml -f");
        AnsiConsole.WriteLine($"Logs: {network.Hub.LogPath} and {Path.Combine(network.Options.Directory, "provider-N", "agent.log")}");
    }

    /// <summary>examples/ of the checkout: KUMO_REPO_ROOT (set by ./kumo), else the nearest ancestor of the working directory that has one.</summary>
    private static string? FindExamples()
    {
        if (Environment.GetEnvironmentVariable("KUMO_REPO_ROOT") is { Length: > 0 } root && Directory.Exists(Path.Combine(root, "examples")))
        {
            return Path.Combine(root, "examples");
        }

        for (DirectoryInfo? d = new(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            if (Directory.Exists(Path.Combine(d.FullName, "examples")))
            {
                return Path.Combine(d.FullName, "examples");
            }
        }

        return null;
    }
}
