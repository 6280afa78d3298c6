using System.CommandLine;
using System.Globalization;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Crypto;
using Kumo.Ledger;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo wallet balance|send|history|bond|unbond|withdraw|faucet|escrow-topup|escrow-withdraw</c>.</summary>
public static class WalletCommands
{
    private static readonly Argument<string> AmountArgument = new("amount") { Description = "KUMO, like 12.5; or µKUMO, like 12500000u" };

    public static Command Create()
    {
        var wallet = new Command("wallet", "Your money on the network: balance, transfers, stake, escrow");
        wallet.Subcommands.Add(Balance());
        wallet.Subcommands.Add(Send());
        wallet.Subcommands.Add(History());
        wallet.Subcommands.Add(Simple("bond", "Bond stake (providers need the network's minimum per device to be offered work)", LedgerMessageTypes.Bond, a => new BondPayload(a)));
        wallet.Subcommands.Add(Simple("unbond", "Start unbonding stake; it stays locked and slashable for the unbonding period", LedgerMessageTypes.Unbond, a => new UnbondPayload(a)));
        wallet.Subcommands.Add(Withdraw());
        wallet.Subcommands.Add(Faucet());
        wallet.Subcommands.Add(Escrow("escrow-topup", "Add money to an order's escrow so its lease keeps running", LedgerMessageTypes.EscrowTopUp, (o, a) => new EscrowTopUpPayload(o, a)));
        wallet.Subcommands.Add(Escrow("escrow-withdraw", "Take money back from an order's escrow (its lease is paid up to now first)", LedgerMessageTypes.EscrowWithdraw, (o, a) => new EscrowWithdrawPayload(o, a)));
        return wallet;
    }

    private static Command Balance()
    {
        var address = new Argument<string?>("account") { Description = "Account [default: yours, from --key]", Arity = ArgumentArity.ZeroOrOne };
        var command = new Command("balance", "Show an account's balance, stake, unbonding and open escrows") { address };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string account = parse.GetValue(address) ?? CliContext.LoadSigner(parse).AccountId.Value;
            AccountView view = await client.GetAccountAsync(account, ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(view);
                return ExitCodes.Success;
            }

            var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
            grid.AddRow("[bold]account[/]", Markup.Escape(view.Address));
            grid.AddRow("[bold]balance[/]", Amounts.Format(view.Balance));
            if (view.Kind == AccountKind.User)
            {
                grid.AddRow("[bold]bonded[/]", Amounts.Format(view.Bonded));
                foreach (Unbonding u in view.Unbonding)
                {
                    grid.AddRow("[bold]unbonding[/]", $"{Amounts.Format(u.Amount)} until {DateTimeOffset.FromUnixTimeMilliseconds(u.ReleaseAt).ToLocalTime():yyyy-MM-dd HH:mm:ss}");
                }
            }

            AnsiConsole.Write(grid);
            if (view.Escrows.Count > 0)
            {
                var table = new Table().Border(TableBorder.Rounded).Title("open escrows").AddColumns("order", "balance", "locked", "lease", "price/h", "paid");
                foreach (EscrowView e in view.Escrows)
                {
                    table.AddRow(e.OrderId, Amounts.Format(e.Balance), Amounts.Format(e.Locked), e.LeaseIds.Count == 0 ? "-" : string.Join(", ", e.LeaseIds),
                        e.PricePerHour is { } p ? Amounts.Format(p) : "-", e.GrossPaid is { } g ? Amounts.Format(g) : "-");
                }

                AnsiConsole.Write(table);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Send()
    {
        var to = new Argument<string>("to") { Description = "Recipient account (kumo1…)" };
        var command = new Command("send", "Transfer money to another account") { to, AmountArgument };
        command.SetAction(async (parse, ct) =>
        {
            string recipient = parse.GetValue(to)!;
            if (!AccountId.TryParse(recipient, out _, out string error))
            {
                throw new CliException($"recipient: {error}", ExitCodes.InvalidInput);
            }

            return await SubmitAsync(parse, LedgerMessageTypes.Transfer, new TransferPayload(recipient, Amount(parse)), $"sent {Amounts.Format(Amount(parse))} to {recipient}", ct);
        });
        return command;
    }

    private static Command History()
    {
        var address = new Argument<string?>("account") { Description = "Account [default: yours]", Arity = ArgumentArity.ZeroOrOne };
        var limit = new Option<int>("--limit") { Description = "How many entries", DefaultValueFactory = _ => 30 };
        var command = new Command("history", "An account's transactions, newest first") { address, limit };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string account = parse.GetValue(address) ?? CliContext.LoadSigner(parse).AccountId.Value;
            IReadOnlyList<HistoryEntry> entries = await client.GetHistoryAsync(account, parse.GetValue(limit), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(entries);
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("time", "block", "kind", "change", "transaction");
            foreach (HistoryEntry e in entries)
            {
                string change = (e.Delta > 0 ? "[green]+" : "[red]") + Amounts.Format(e.Delta) + "[/]";
                table.AddRow(e.Time.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), $"{e.Height}.{e.Index}", Markup.Escape(e.Kind), change, e.TxHash[..16] + "…");
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Simple<T>(string name, string description, string type, Func<long, T> payload)
    {
        var command = new Command(name, description) { AmountArgument };
        command.SetAction((parse, ct) => SubmitAsync(parse, type, payload(Amount(parse)), $"{name}: {Amounts.Format(Amount(parse))}", ct));
        return command;
    }

    private static Command Withdraw()
    {
        var command = new Command("withdraw", "Withdraw stake whose unbonding period has passed");
        command.SetAction((parse, ct) => SubmitAsync(parse, LedgerMessageTypes.Withdraw, new WithdrawPayload(), "withdrawn", ct));
        return command;
    }

    private static Command Faucet()
    {
        var amount = new Argument<string>("amount") { Description = "KUMO to ask for", DefaultValueFactory = _ => "1000" };
        var command = new Command("faucet", "Devnet only: mint test money into your account") { amount };
        command.SetAction((parse, ct) =>
        {
            long micros = ParseAmount(parse.GetValue(amount)!);
            return SubmitAsync(parse, LedgerMessageTypes.Faucet, new FaucetPayload(micros), $"received {Amounts.Format(micros)} from the faucet", ct);
        });
        return command;
    }

    private static Command Escrow<T>(string name, string description, string type, Func<string, long, T> payload)
    {
        var order = new Argument<string>("job-id") { Description = "The job (order) whose escrow it is" };
        var command = new Command(name, description) { order, AmountArgument };
        command.SetAction((parse, ct) => SubmitAsync(parse, type, payload(parse.GetValue(order)!, Amount(parse)), $"{name} {parse.GetValue(order)}: {Amounts.Format(Amount(parse))}", ct));
        return command;
    }

    private static async Task<int> SubmitAsync<T>(ParseResult parse, string type, T payload, string done, CancellationToken ct)
    {
        using HubClient client = CliContext.CreateClient(parse);
        TxReceiptView receipt = await client.SubmitLedgerAsync(CliContext.LoadSigner(parse), type, payload, ct);
        if (parse.GetValue(CliContext.Json))
        {
            Display.Json(receipt);
        }
        else
        {
            AnsiConsole.MarkupLine($"[green]✓[/] {Markup.Escape(done)} [grey](block {receipt.Height}, transaction {receipt.Hash[..16]}…)[/]");
        }

        return ExitCodes.Success;
    }

    private static long Amount(ParseResult parse) => ParseAmount(parse.GetValue(AmountArgument)!);

    private static long ParseAmount(string text) =>
        Amounts.TryParse(text, out long micros, out string error) ? micros : throw new CliException($"amount: {error}", ExitCodes.InvalidInput);
}
