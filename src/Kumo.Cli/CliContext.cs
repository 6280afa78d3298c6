using System.CommandLine;
using Kumo.Client;

namespace Kumo.Cli;

/// <summary>Options every command understands, and the objects they lead to.</summary>
public static class CliContext
{
    public const string DefaultHub = "http://127.0.0.1:7070";

    public static readonly Option<string> Hub = new("--hub")
    {
        Description = $"Hub URL [env KUMO_HUB, default {DefaultHub}]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KUMO_HUB") is { Length: > 0 } hub ? hub : DefaultHub,
    };

    public static readonly Option<string> Key = new("--key")
    {
        Description = "Account key file [env KUMO_KEY, default ~/.kumo/key.json]",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("KUMO_KEY") is { Length: > 0 } key ? key : DefaultKeyPath(),
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print machine-readable JSON instead of tables",
        Recursive = true,
    };

    public static string DefaultKeyPath()
    {
        string home = Environment.GetEnvironmentVariable("KUMO_HOME") is { Length: > 0 } h
            ? h
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kumo");
        return Path.Combine(home, "key.json");
    }

    public static HubClient CreateClient(ParseResult parse)
    {
        string url = parse.GetValue(Hub)!;
        if (!Uri.TryCreate(url.TrimEnd('/') + "/", UriKind.Absolute, out Uri? uri) || (uri.Scheme != "http" && uri.Scheme != "https"))
        {
            throw new CliException($"--hub '{url}' is not an http(s) URL", ExitCodes.Usage);
        }

        return new HubClient(uri);
    }

    public static RequestSigner LoadSigner(ParseResult parse)
    {
        string path = parse.GetValue(Key)!;
        try
        {
            return new RequestSigner(KeyFile.Load(path));
        }
        catch (KeyFileException e)
        {
            throw new CliException(e.Message, ExitCodes.InvalidInput);
        }
    }
}
