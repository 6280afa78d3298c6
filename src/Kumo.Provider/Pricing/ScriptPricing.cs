using System.Text;
using System.Text.Json;
using Kumo.Ledger;
using Kumo.Provider.Sandbox;
using Kumo.Serialization;

namespace Kumo.Provider.Pricing;

/// <summary>
/// An operator's own pricing program. It gets JSON describing the <em>allocated</em> resources on stdin and prints a
/// price for all of them on its first line of stdout: KUMO per hour ("2.5") or µKUMO ("2500000u"). It runs in the
/// same bubblewrap sandbox as workloads (no network, 64 MiB, a few processes) and is killed after
/// <see cref="Timeout"/>. A program that hangs, crashes or prints anything else produces no bid, with the reason.
/// </summary>
public sealed class ScriptPricing(string scriptPath, ISandbox sandbox, string scratchDirectory, long floorPerHour) : IPricingPolicy
{
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(5);

    public string Description => "script " + scriptPath;

    public long FloorPerHour { get; } = floorPerHour;

    /// <summary>What the script reads on stdin.</summary>
    public sealed record Input(string OrderId, int OrderNodes, long MaxPricePerHourMicros, IReadOnlyList<Node> Nodes);

    public sealed record Node(int CpuMillicores, long MemoryBytes, long DiskBytes, int Gpus, string? GpuModel);

    public async Task<Quote> QuoteAsync(QuoteRequest request, CancellationToken cancellationToken)
    {
        string directory = Path.Combine(scratchDirectory, "pricing-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        try
        {
            var input = new Input(request.OrderId, request.OrderNodes, request.MaxPricePerHour,
                [.. request.Nodes.Select(n => new Node(n.CpuMillicores, n.MemoryBytes, n.DiskBytes, n.GpuUuids.Count, n.GpuModel))]);
            await File.WriteAllTextAsync(Path.Combine(directory, "request.json"), JsonSerializer.Serialize(input, KumoJson.Options), cancellationToken);
            string script = Path.GetFullPath(scriptPath);
            var sandboxRequest = new SandboxRequest
            {
                JobDirectory = directory,
                ReadOnlyMounts = [new SandboxMount(script, "/pricing/" + Path.GetFileName(script))],
                Command = "/bin/sh",
                Args = ["-c", "exec \"$0\" < /job/request.json", "/pricing/" + Path.GetFileName(script)],
                MemoryBytes = 64L << 20,
                MaxProcesses = 16,
                WallTime = Timeout,
            };

            ISandboxedProcess process;
            try
            {
                process = await sandbox.StartAsync(sandboxRequest, cancellationToken);
            }
            catch (SandboxException e)
            {
                return Quote.Decline($"pricing script could not start: {e.Message}");
            }

            await using (process)
            {
                var stdout = new StringBuilder();
                var stderr = new StringBuilder();
                await foreach (SandboxOutput line in process.Output.ReadAllAsync(cancellationToken))
                {
                    (line.Stream == OutputStream.Stdout ? stdout : stderr).AppendLine(line.Text);
                }

                SandboxExit exit = await process.Completion;
                string first = stdout.ToString().Split('\n', 2)[0].Trim();
                if (exit.Outcome == SandboxOutcome.TimedOut)
                {
                    return Quote.Decline($"pricing script did not answer within {Timeout.TotalSeconds:0} s");
                }

                if (exit.Outcome != SandboxOutcome.Exited || exit.ExitCode != 0)
                {
                    string why = stderr.Length > 0 ? ": " + Shorten(stderr.ToString().Trim()) : "";
                    return Quote.Decline($"pricing script failed ({exit.Detail}){why}");
                }

                return Amounts.TryParse(first, out long micros, out string error)
                    ? Quote.Price(micros)
                    : Quote.Decline($"pricing script printed '{Shorten(first)}', not a price ({error})");
            }
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A scratch directory.
            }
        }
    }

    private static string Shorten(string text) => text.Length > 120 ? text[..120] + "…" : text;
}
