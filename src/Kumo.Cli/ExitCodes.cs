namespace Kumo.Cli;

/// <summary>What `kumo` returns, so scripts can tell outcomes apart.</summary>
public static class ExitCodes
{
    /// <summary>Done; for job commands, the job succeeded.</summary>
    public const int Success = 0;

    /// <summary>The job failed or was cancelled, or the command could not do its work.</summary>
    public const int Failure = 1;

    /// <summary>The command line was wrong (unknown option, missing argument).</summary>
    public const int Usage = 2;

    /// <summary>Input was refused before anything was sent: a malformed spec, a missing file, a bad key file.</summary>
    public const int InvalidInput = 3;

    /// <summary>The hub refused the request (see the printed code and message).</summary>
    public const int Refused = 4;

    /// <summary>The hub could not be reached.</summary>
    public const int Unreachable = 5;

    /// <summary>Interrupted (Ctrl+C).</summary>
    public const int Interrupted = 130;
}

/// <summary>An error meant for the person at the terminal: printed as is, with an exit code.</summary>
public sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
