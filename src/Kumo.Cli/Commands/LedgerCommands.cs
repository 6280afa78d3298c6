using System.CommandLine;
using System.Globalization;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.State;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo ledger summary|blocks</c> and <c>kumo audit</c>.</summary>
public static class LedgerCommands
{
    public static Command Create()
    {
        var ledger = new Command("ledger", "The network's ledger: totals and blocks");
        var summary = new Command("summary", "Totals by kind, height and the genesis rules");
        summary.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            LedgerSummary s = await client.GetLedgerSummaryAsync(ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(s);
                return ExitCodes.Success;
            }

            AnsiConsole.MarkupLine($"[bold]{Markup.Escape(s.ChainId)}[/] at block {s.Height} [grey](head {s.HeadHash})[/]; fee {s.NetworkFeeBps / 100.0:0.##}%, reserve {s.ReserveBps / 100.0:0.##}%, minimum bond {Amounts.Format(s.MinBondPerDevice)} per device{(s.Faucet ? ", faucet on (devnet)" : "")}");
            AnsiConsole.Write(Totals(s.Totals));
            return ExitCodes.Success;
        });

        var limit = new Option<int>("--limit") { Description = "How many", DefaultValueFactory = _ => 20 };
        var blocks = new Command("blocks", "The newest block headers") { limit };
        blocks.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            IReadOnlyList<BlockView> views = await client.ListBlocksAsync(null, parse.GetValue(limit), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(views);
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("height", "time", "txs", "hash", "state root");
            foreach (BlockView b in views)
            {
                table.AddRow(b.Header.Height.ToString(CultureInfo.InvariantCulture),
                    DateTimeOffset.FromUnixTimeMilliseconds(b.Header.Time).ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture),
                    b.Header.TxCount.ToString(CultureInfo.InvariantCulture), b.Hash[..16] + "…", b.Header.StateRoot[..16] + "…");
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });
        ledger.Subcommands.Add(summary);
        ledger.Subcommands.Add(blocks);
        return ledger;
    }

    public static Command Audit()
    {
        var data = new Option<string>("--data") { Description = "The hub's data directory (holding hub.db)", DefaultValueFactory = _ => Path.Combine(Path.GetDirectoryName(CliContext.DefaultKeyPath())!, "hub") };
        var command = new Command("audit", "Replay the ledger from genesis: check every byte, hash, root, signature, evidence link and balance") { data };
        command.SetAction(parse =>
        {
            string database = Path.Combine(Path.GetFullPath(parse.GetValue(data)!), "hub.db");
            AuditReport report;
            try
            {
                using var source = new SqliteLedgerSource(database);
                report = new Auditor().Run(source);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException)
            {
                throw new CliException(e.Message, ExitCodes.InvalidInput);
            }

            return Print(report, parse.GetValue(CliContext.Json));
        });
        return command;
    }

    internal static int Print(AuditReport report, bool json)
    {
        if (json)
        {
            Display.Json(report);
            return report.Ok ? ExitCodes.Success : ExitCodes.Failure;
        }

        if (report.Ok)
        {
            AnsiConsole.MarkupLine($"[green]audit ok[/]: {report.Blocks} blocks, {report.Transactions} transactions replayed in {report.Elapsed.TotalSeconds:0.00} s; every signature, root and balance matches");
            AnsiConsole.MarkupLine($"head block hash {report.HeadHash} [grey](compare with one you recorded: it pins the whole history)[/]");
            AnsiConsole.Write(Totals(report.Totals!));
        }
        else
        {
            AnsiConsole.MarkupLine($"[red]audit FAILED[/] at block {report.FailedBlock}{(report.FailedTransaction is { } t ? $", transaction {t}" : "")}: {Markup.Escape(report.Failure!)}");
            AnsiConsole.MarkupLine($"[grey]{report.Blocks} blocks before it replayed cleanly[/]");
        }

        return report.Ok ? ExitCodes.Success : ExitCodes.Failure;
    }

    internal static Table Totals(LedgerTotals t)
    {
        var table = new Table().Border(TableBorder.Rounded).AddColumns("", "KUMO");
        table.AddRow("minted", Amounts.Format(t.Minted));
        table.AddRow("  users", Amounts.Format(t.Users));
        table.AddRow("  escrow", Amounts.Format(t.Escrow));
        table.AddRow("  stake", Amounts.Format(t.Stake));
        table.AddRow("  reserve", Amounts.Format(t.Reserve));
        table.AddRow("  fee pool", Amounts.Format(t.FeePool));
        table.AddRow("  replication pool", Amounts.Format(t.ReplicationPool));
        table.AddRow("  burned", Amounts.Format(t.Burned));
        table.AddRow("rewards emitted (in minted)", Amounts.Format(t.Rewards));
        table.AddRow("conserved", t.Conserved ? "[green]yes[/]" : "[red]NO[/]");
        return table;
    }
}
