using System.ComponentModel;
using System.Diagnostics;
using Kumo.Content;

namespace Kumo.Core.Tests.Content;

/// <summary>
/// Proves compatibility with IPFS by running the real npm importer (test/reference/ipfs/cid.mjs,
/// ipfs-unixfs-importer 17.1.1) on the same files and comparing CIDs. Needs node and npm on the PATH.
/// </summary>
public class ReferenceImporterTests
{
    private const int Chunk = ContentManifest.ChunkSize;
    private static readonly TimeSpan NpmTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan NodeTimeout = TimeSpan.FromMinutes(3);

    private static readonly long[] Lengths =
    [
        0,
        1,
        Chunk - 1,
        Chunk,
        Chunk + 1,
        2 * Chunk,
        174L * Chunk,          // exactly one full parent node
        174L * Chunk + 1,      // a second parent with one link, and a root over both
        175L * Chunk + 5,      // 176 leaves: two levels
    ];

    [Fact]
    public async Task Our_cids_equal_the_npm_importer_cids_for_every_file()
    {
        string referenceDir = Path.Combine(FindRepositoryRoot(), "test", "reference", "ipfs");
        string work = Path.Combine(Path.GetTempPath(), "kumo-ipfs-reference-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(work);
        try
        {
            var ours = new Dictionary<string, (string FromSpan, string FromStream)>();
            for (int i = 0; i < Lengths.Length; i++)
            {
                string path = Path.Combine(work, $"file-{i}-{Lengths[i]}.bin");
                byte[] data = TestData.PseudoRandom(Lengths[i], seed: (ulong)(1000 + i));
                await File.WriteAllBytesAsync(path, data);

                await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 4096, useAsync: true);
                ours[path] = (UnixFsImporter.Import(data).Root.ToString(), (await UnixFsImporter.ImportAsync(stream)).Root.ToString());
            }

            if (!Directory.Exists(Path.Combine(referenceDir, "node_modules")))
            {
                await RunAsync("npm", ["ci", "--silent", "--no-audit", "--no-fund"], referenceDir, NpmTimeout);
            }

            string output = await RunAsync("node", [Path.Combine(referenceDir, "cid.mjs"), .. ours.Keys], referenceDir, NodeTimeout);

            var reference = output.Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(line => line.Split('\t'))
                .ToDictionary(parts => parts[1], parts => parts[0]);
            Assert.Equal(ours.Count, reference.Count);
            foreach ((string path, (string fromSpan, string fromStream)) in ours)
            {
                string name = Path.GetFileName(path);
                Assert.True(reference.TryGetValue(path, out string? expected), $"The reference printed no CID for {name}.");
                Assert.True(expected == fromSpan, $"{name}: reference {expected}, Import {fromSpan}.");
                Assert.True(expected == fromStream, $"{name}: reference {expected}, ImportAsync {fromStream}.");
            }
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    private static async Task<string> RunAsync(string program, IEnumerable<string> arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        }
        catch (Win32Exception e)
        {
            Assert.Fail($"'{program}' could not be started ({e.Message}). The IPFS reference test needs Node.js and npm " +
                        "on the PATH (test.sh installs them); it fails rather than skips so compatibility is never unchecked.");
            throw;
        }

        using (process)
        {
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            using var cts = new CancellationTokenSource(timeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"'{program} {string.Join(' ', start.ArgumentList)}' did not finish within {timeout.TotalSeconds} s in {directory}.");
            }

            string output = await stdout;
            string errors = await stderr;
            Assert.True(process.ExitCode == 0, $"'{program}' exited with {process.ExitCode} in {directory}:\n{errors}");
            return output;
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Kumo.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Kumo.slnx above {AppContext.BaseDirectory}.");
    }
}
