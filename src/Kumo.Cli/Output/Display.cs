using System.Globalization;
using System.Text.Json;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Spectre.Console;

namespace Kumo.Cli.Output;

/// <summary>How things look on a terminal, and their JSON form for scripts.</summary>
public static class Display
{
    public static void Json<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, KumoJson.Indented));

    public static string Micros(long micros) =>
        (micros / 1_000_000m).ToString("0.######", CultureInfo.InvariantCulture) + " KUMO";

    public static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 40 => $"{bytes / (double)(1L << 40):0.#} TiB",
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.#} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.#} MiB",
        >= 1L << 10 => $"{bytes / (double)(1L << 10):0.#} KiB",
        _ => $"{bytes} B",
    };

    public static string Name<T>(T value) where T : struct, Enum => JsonNamingPolicy.SnakeCaseLower.ConvertName(value.ToString());

    public static string StateMarkup(JobState state) => state switch
    {
        JobState.Succeeded => "[green]succeeded[/]",
        JobState.Failed => "[red]failed[/]",
        JobState.Cancelled => "[yellow]cancelled[/]",
        JobState.Expired => "[yellow]expired[/]",
        JobState.Bidding => "[blue]bidding[/]",
        JobState.Running => "[blue]running[/]",
        _ => Name(state),
    };

    public static void Job(JobView job)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap()).AddColumn();
        grid.AddRow("[bold]job[/]", Markup.Escape($"{job.Id} ({job.Name})"));
        grid.AddRow("[bold]state[/]", StateMarkup(job.State));
        grid.AddRow("[bold]tenant[/]", Markup.Escape(job.Tenant.Value));
        grid.AddRow("[bold]submitted[/]", job.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        if (job.Failure is { } failure)
        {
            grid.AddRow("[bold]failure[/]", Markup.Escape($"{Name(failure.Reason)} ({Name(failure.Party)} side): {failure.Detail}"));
        }

        if (job.Explanation is not null && (!job.State.IsFinal() || job.State == JobState.Expired))
        {
            grid.AddRow("[bold]market[/]", Markup.Escape(job.Explanation ?? ""));
        }

        if (job.Failovers > 0)
        {
            grid.AddRow("[bold]failovers[/]", job.Failovers.ToString(CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(grid);
        if (job.Leases.Count > 0)
        {
            var leases = new Table().Border(TableBorder.Rounded).Title("leases")
                .AddColumns("lease", "provider", "state", "resources", "price/h", "closed");
            foreach (LeaseView lease in job.Leases)
            {
                string gpus = lease.Allocation.GpuUuids.Count == 0 ? "" :
                    $", {lease.Allocation.GpuUuids.Count}× {lease.Allocation.GpuModel}{(lease.SimulatedGpus ? " [yellow](simulated)[/]" : "")}";
                string closed = lease.State == LeaseState.Closed
                    ? $"{Name(lease.CloseReason)}{(lease.ExitCode is { } code ? $" (exit {code})" : "")}"
                    : "";
                leases.AddRow(
                    Markup.Escape(lease.Id) + (job.Leases.Any(l => l.NodeRank > 0) ? $" [grey]node {lease.NodeRank}[/]" : ""),
                    Markup.Escape(lease.ProviderName),
                    Name(lease.State),
                    $"{lease.Allocation.CpuMillicores / 1000.0:0.###} cpu, {Bytes(lease.Allocation.MemoryBytes)}{gpus}",
                    Micros(lease.PricePerHourMicros) + (lease.ReplicationFeeBps > 0
                        ? $" [grey]({lease.ReplicationFeeBps / 100.0:0.##}% to replicas)[/]"
                        : lease.IsReplica ? " [grey](replica)[/]" : ""),
                    Markup.Escape(closed));
            }

            AnsiConsole.Write(leases);
        }

        if (job.Outputs.Count > 0)
        {
            var outputs = new Table().Border(TableBorder.Rounded).Title("outputs").AddColumns("path", "size", "cid");
            foreach (OutputFile output in job.Outputs)
            {
                outputs.AddRow(Markup.Escape(output.Path), Bytes(output.Size), Markup.Escape(output.Cid));
            }

            AnsiConsole.Write(outputs);
        }

        if (job.Events.Count > 0)
        {
            var events = new Table().Border(TableBorder.Simple).Title("timeline").AddColumns("time", "event", "detail");
            foreach (JobEvent e in job.Events)
            {
                events.AddRow(e.At.ToLocalTime().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture), Markup.Escape(e.Kind), Markup.Escape(e.Detail));
            }

            AnsiConsole.Write(events);
        }
    }

    public static void Providers(IReadOnlyList<ProviderView> providers)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("name", "id", "status", "region", "cpu", "memory", "gpus", "free", "leases", "reputation", "proof", "checks", "validator", "network");
        foreach (ProviderView p in providers)
        {
            string gpus = p.Inventory.Gpus.Count == 0 ? "-" : string.Join(", ",
                p.Inventory.Gpus.GroupBy(g => g.Model).Select(g => $"{g.Count()}× {g.Key}{(g.Any(d => d.Simulated) ? " [yellow](simulated)[/]" : "")}"));
            table.AddRow(
                Markup.Escape(p.Name),
                Markup.Escape(p.Id.Value[..14] + "…"),
                p.Status == ProviderStatus.Online ? "[green]online[/]" : "[grey]offline[/]",
                Markup.Escape(p.Region.Length == 0 ? "-" : p.LatencyZone.Length == 0 ? p.Region : $"{p.Region}/{p.LatencyZone}"),
                $"{p.Inventory.Cpu.LogicalCores}",
                Bytes(p.Inventory.MemoryBytes),
                gpus,
                $"{p.Free.CpuMillicores / 1000.0:0.#}c/{Bytes(p.Free.MemoryBytes)}/{p.Free.Gpus}g",
                p.ActiveLeases.ToString(CultureInfo.InvariantCulture),
                p.Reputation.ToString("0.00", CultureInfo.InvariantCulture),
                p.HardwareProof switch
                {
                    null => "[grey]pending[/]", // no round settled yet: no work until one passes
                    "passed" => $"[green]tier {p.MeasuredTier}[/]",
                    "claims_changed" => "[yellow]claims changed[/]", // re-registered other devices: proven again first
                    var code => $"[red]{Markup.Escape(code)}[/]",
                },
                p.Health switch { null => "[grey]-[/]", "active" => "[green]active[/]", "slashed" => "[red]slashed[/]", var h => $"[yellow]{Markup.Escape(h)}[/]" },
                p.Validator switch { null => "[grey]-[/]", "active" => "[green]active[/]", "slashed" => "[red]slashed[/]", var v => $"[yellow]{Markup.Escape(v)}[/]" },
                p.MeasuredBandwidthMbps is { } mbps
                    ? string.Create(CultureInfo.InvariantCulture, $"{Bandwidth(mbps)} ({p.MeasuredPeers} peers)")
                    : "[grey]unmeasured[/]");
        }

        AnsiConsole.Write(table);
    }

    private static string Bandwidth(double mbps) => mbps >= 1000
        ? string.Create(CultureInfo.InvariantCulture, $"{mbps / 1000:0.#} Gbit/s")
        : string.Create(CultureInfo.InvariantCulture, $"{mbps:0} Mbit/s");

    public static void LogLine(LogEntry line)
    {
        string text = Markup.Escape(line.Text);
        switch (line.Stream)
        {
            case LogStream.Stderr:
                AnsiConsole.MarkupLine($"[red]{text}[/]");
                break;
            case LogStream.System:
                AnsiConsole.MarkupLine($"[grey]{text}[/]");
                break;
            default:
                // Plain write: program output is not markup, and must reach pipes unchanged.
                Console.Out.WriteLine(line.Text);
                break;
        }
    }
}
