using System.Runtime.InteropServices;

namespace Kumo.Provider.Sandbox;

/// <summary>POSIX signals: sending them and naming them.</summary>
internal static class Signals
{
    public const int Kill = 9;

    /// <summary>Sends SIGKILL to one pid; a pid that is already gone is not an error.</summary>
    public static void SendKill(int pid)
    {
        if (pid > 1)
        {
            _ = SendSignal(pid, Kill);
        }
    }

    /// <summary>"SIGTERM" for 15, "signal 42" for one without a common name.</summary>
    public static string Describe(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        10 => "SIGUSR1",
        11 => "SIGSEGV",
        12 => "SIGUSR2",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        31 => "SIGSYS",
        _ => $"signal {signal}",
    };

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendSignal(int pid, int signal);
}
