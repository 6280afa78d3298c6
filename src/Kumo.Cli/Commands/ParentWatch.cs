using System.CommandLine;
using System.Diagnostics;

namespace Kumo.Cli.Commands;

/// <summary>
/// <c>--parent-pid</c>: a devnet's children stop when the devnet process is gone, even if it was killed
/// without the chance to stop them.
/// </summary>
internal static class ParentWatch
{
    public static readonly Option<int?> ParentPid = new("--parent-pid")
    {
        Description = "Exit when this process exits (used by `kumo devnet up`)",
        Hidden = true,
    };

    /// <summary>A token cancelled when Ctrl+C is pressed or the parent process exits.</summary>
    public static CancellationToken Link(ParseResult parse, CancellationToken token)
    {
        if (parse.GetValue(ParentPid) is not { } pid)
        {
            return token;
        }

        var cts = CancellationTokenSource.CreateLinkedTokenSource(token);
        _ = Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                if (!IsAlive(pid))
                {
                    await cts.CancelAsync();
                    return;
                }

                await Task.Delay(500, CancellationToken.None);
            }
        }, CancellationToken.None);
        return cts.Token;
    }

    private static bool IsAlive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
