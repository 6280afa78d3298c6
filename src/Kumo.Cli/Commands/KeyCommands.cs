using System.CommandLine;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Crypto;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo key new|show</c>.</summary>
public static class KeyCommands
{
    public static Command Create()
    {
        var key = new Command("key", "Create or show the account key that signs your requests");

        var create = new Command("new", "Create a new account key (P-256) in the key file; refuses to overwrite one");
        create.SetAction(parse =>
        {
            string path = parse.GetValue(CliContext.Key)!;
            if (File.Exists(path))
            {
                throw new CliException($"{path} already exists; it holds your account ({Describe(path)}). Use --key to create another file.", ExitCodes.InvalidInput);
            }

            using AccountKey created = AccountKey.Create();
            KeyFile.Save(path, created);
            Print(parse, path, created);
            return ExitCodes.Success;
        });

        var show = new Command("show", "Show the account id and public key of the key file");
        show.SetAction(parse =>
        {
            string path = parse.GetValue(CliContext.Key)!;
            try
            {
                using AccountKey loaded = KeyFile.Load(path);
                Print(parse, path, loaded);
                return ExitCodes.Success;
            }
            catch (KeyFileException e)
            {
                throw new CliException(e.Message, ExitCodes.InvalidInput);
            }
        });

        key.Subcommands.Add(create);
        key.Subcommands.Add(show);
        return key;
    }

    private static string Describe(string path)
    {
        try
        {
            using AccountKey k = KeyFile.Load(path);
            return k.AccountId.Value;
        }
        catch (KeyFileException e)
        {
            return "unreadable: " + e.Message;
        }
    }

    private static void Print(ParseResult parse, string path, AccountKey key)
    {
        if (parse.GetValue(CliContext.Json))
        {
            Display.Json(new { accountId = key.AccountId.Value, publicKey = key.PublicKey.Text, file = Path.GetFullPath(path) });
            return;
        }

        AnsiConsole.MarkupLine($"[bold]account[/]     {key.AccountId.Value}");
        AnsiConsole.MarkupLine($"[bold]public key[/]  {key.PublicKey.Text}");
        AnsiConsole.MarkupLine($"[bold]key file[/]    {Markup.Escape(Path.GetFullPath(path))} [grey](mode 0600; keep it private)[/]");
    }
}
