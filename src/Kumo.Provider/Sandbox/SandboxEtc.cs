using System.Globalization;

namespace Kumo.Provider.Sandbox;

/// <summary>
/// The identity files of the sandbox's /etc, generated per run instead of exposing the host's: one user for the
/// workload (home /job), root and nobody for files it may see owned by them, localhost, and "files" lookups.
/// </summary>
internal static class SandboxEtc
{
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    public static void Write(string directory, int uid, int gid, string hostname)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("the bubblewrap sandbox runs on Linux only");
        }

        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, DirectoryMode);
        var files = new Dictionary<string, string>
        {
            ["passwd"] = Lines(
                "root:x:0:0:root:/root:/usr/sbin/nologin",
                Invariant($"kumo:x:{uid}:{gid}:Kumo job:/job:/bin/sh"),
                "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin"),
            ["group"] = Lines(
                "root:x:0:",
                Invariant($"kumo:x:{gid}:"),
                "nogroup:x:65534:"),
            ["hosts"] = Lines(
                "127.0.0.1\tlocalhost",
                $"127.0.1.1\t{hostname}",
                "::1\tlocalhost ip6-localhost ip6-loopback"),
            ["hostname"] = Lines(hostname),
            ["nsswitch.conf"] = Lines(
                "passwd: files",
                "group: files",
                "shadow: files",
                "hosts: files dns",
                "networks: files",
                "protocols: files",
                "services: files",
                "ethers: files",
                "rpc: files"),
        };

        foreach (var name in BubblewrapCommandLine.GeneratedEtcFiles)
        {
            var path = Path.Combine(directory, name);
            File.WriteAllText(path, files[name]);
            File.SetUnixFileMode(path, FileMode);
        }
    }

    private static string Lines(params string[] lines) => string.Join('\n', lines) + "\n";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
