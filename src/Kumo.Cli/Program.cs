using System.CommandLine;
using Kumo.Cli;
using Kumo.Cli.Commands;
using Kumo.Client;
using Spectre.Console;

if (Console.IsOutputRedirected)
{
    // Piped or captured: plain text, no cursor tricks, and tables wide enough not to wrap every cell.
    AnsiConsole.Profile.Capabilities.Ansi = false;
    AnsiConsole.Profile.Capabilities.Interactive = false;
    AnsiConsole.Profile.Width = 160;
}

var root = new RootCommand("kumo — an open compute network for AI: rent GPUs and CPUs, or provide them.\n\nStart here: `kumo devnet up --demo` runs a whole network on this machine.")
{
    CliContext.Hub,
    CliContext.Key,
    CliContext.Json,
};
root.Subcommands.Add(KeyCommands.Create());
root.Subcommands.Add(HubCommands.Create());
root.Subcommands.Add(ProviderCommands.Create());
root.Subcommands.Add(JobCommands.Create());
root.Subcommands.Add(WalletCommands.Create());
root.Subcommands.Add(LedgerCommands.Create());
root.Subcommands.Add(LedgerCommands.Audit());
root.Subcommands.Add(DevnetCommands.Create());
root.Subcommands.Add(BenchCommands.Create());
root.Subcommands.Add(TensorCommands.Create());
root.Subcommands.Add(MarketCommands.Stats());
root.Subcommands.Add(VerifyCommands.AddTo(MarketCommands.Simulate()));

ParseResult parse = root.Parse(args.Length == 0 ? ["--help"] : args);
if (parse.Errors.Count > 0 && parse.Action is System.CommandLine.Invocation.ParseErrorAction)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"kumo: {error.Message}");
    }

    Console.Error.WriteLine("Run `kumo --help` (or `kumo COMMAND --help`) for usage.");
    return ExitCodes.Usage;
}

try
{
    // Errors are mapped to exit codes below, not printed as stack traces.
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = TimeSpan.FromSeconds(10) });
}
catch (CliException e)
{
    Console.Error.WriteLine($"kumo: {e.Message}");
    return e.ExitCode;
}
catch (HubApiException e)
{
    Console.Error.WriteLine($"kumo: the hub refused: {e.Message} [{e.Code}{(e.Field is null ? "" : ", field " + e.Field)}]");
    return ExitCodes.Refused;
}
catch (HubUnreachableException e)
{
    Console.Error.WriteLine($"kumo: {e.Message}");
    Console.Error.WriteLine("Is a hub running? Start one with `kumo hub start` or `kumo devnet up`, or point --hub (KUMO_HUB) at one.");
    return ExitCodes.Unreachable;
}
catch (OperationCanceledException)
{
    Console.Error.WriteLine("kumo: interrupted");
    return ExitCodes.Interrupted;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    AnsiConsole.MarkupLine($"[red]kumo:[/] {Markup.Escape(e.Message)}");
    return ExitCodes.Failure;
}
catch (Exception e)
{
    Console.Error.WriteLine($"kumo: unexpected error: {e.GetType().Name}: {e.Message}");
    Console.Error.WriteLine(Environment.GetEnvironmentVariable("KUMO_DEBUG") == "1" ? e.ToString() : "Set KUMO_DEBUG=1 for the stack trace.");
    return ExitCodes.Failure;
}
