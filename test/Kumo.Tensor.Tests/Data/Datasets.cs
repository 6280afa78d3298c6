using System.Diagnostics;

namespace Kumo.Tensor.Tests.Data;

/// <summary>Finds .kumo/datasets under the repository root, running scripts/datasets.sh once when a file is missing.</summary>
internal static class Datasets
{
    private static readonly Lock Gate = new();

    public static string Digits => Require("digits.csv.gz");

    public static string Licenses => Require("licenses.txt");

    private static string Require(string name)
    {
        string root = RepositoryRoot();
        string path = Path.Combine(root, ".kumo", "datasets", name);
        lock (Gate)
        {
            if (!File.Exists(path))
            {
                using var process = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "datasets.sh")])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                }) ?? throw new InvalidOperationException("could not start scripts/datasets.sh");
                string errors = process.StandardError.ReadToEnd();
                process.StandardOutput.ReadToEnd();
                if (!process.WaitForExit(TimeSpan.FromMinutes(2)) || process.ExitCode != 0 || !File.Exists(path))
                {
                    throw new InvalidOperationException($"scripts/datasets.sh did not produce {path}: {errors}");
                }
            }
        }

        return path;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kumo.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Kumo.slnx above {AppContext.BaseDirectory}");
    }
}
