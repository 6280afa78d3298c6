using System.Diagnostics;
using Kumo.Cli.Commands;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Jobs;
using Kumo.Protocol;
using Spectre.Console;

namespace Kumo.Cli.Devnet;

/// <summary>
/// The devnet demo: submits every <c>examples/*/job.yaml</c>, shows their progress, downloads their outputs,
/// and compares them byte for byte with the example's <c>expected/</c> files.
/// </summary>
public sealed class DemoRunner(LocalNetwork network, string examplesDirectory)
{
    private sealed class Run(string example, string specPath)
    {
        public string Example { get; } = example;
        public string SpecPath { get; } = specPath;
        public string? JobId { get; set; }
        public JobView? View { get; set; }
        public string? LastLine { get; set; }
        public long LastSeq { get; set; }
        public string? Error { get; set; }
        public List<string> Checks { get; } = [];
        public bool Passed { get; set; }
        public Stopwatch Clock { get; } = Stopwatch.StartNew();
    }

    public async Task<bool> RunAsync(TimeSpan timeout, CancellationToken ct)
    {
        List<Run> runs = [.. System.IO.Directory.GetDirectories(examplesDirectory)
            .Where(d => File.Exists(Path.Combine(d, "job.yaml")))
            .OrderBy(d => d, StringComparer.Ordinal)
            .Select(d => new Run(Path.GetFileName(d), Path.Combine(d, "job.yaml")))];
        if (runs.Count == 0)
        {
            throw new CliException($"no examples (*/job.yaml) under {examplesDirectory}");
        }

        using var client = HubClient.Create(network.HubUrl);
        var signer = new RequestSigner(KeyFile.Load(network.TenantKeyPath));
        var submitter = new JobSubmitter(client, signer);
        foreach (Run run in runs)
        {
            try
            {
                (JobAccepted accepted, _) = await submitter.SubmitAsync(run.SpecPath, null, ct);
                run.JobId = accepted.JobId;
            }
            catch (Exception e) when (e is HubApiException or CliException)
            {
                run.Error = e.Message;
            }
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                await AnsiConsole.Live(BuildTable(runs)).StartAsync(async live =>
                {
                    while (!await PollAsync(client, runs, deadline.Token))
                    {
                        live.UpdateTarget(BuildTable(runs));
                        await Task.Delay(250, deadline.Token);
                    }

                    live.UpdateTarget(BuildTable(runs));
                });
            }
            else
            {
                var reported = new Dictionary<string, JobState>();
                while (!await PollAsync(client, runs, deadline.Token))
                {
                    ReportChanges(runs, reported);
                    await Task.Delay(250, deadline.Token);
                }

                ReportChanges(runs, reported);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            foreach (Run run in runs.Where(r => r.View is null || !r.View.State.IsFinal()))
            {
                run.Error ??= $"did not finish within {timeout.TotalSeconds:0} s";
            }
        }

        foreach (Run run in runs)
        {
            await CheckOutputsAsync(client, run, ct);
        }

        PrintSummary(runs);
        bool verified = await PrintVerificationAsync(client, runs, ct);
        bool audited = await PrintLedgerAsync(client, signer, runs, ct);
        return runs.All(r => r.Passed) && verified && audited;
    }

    /// <summary>
    /// The network checks finished jobs: train and infer jobs by validators' recomputation (proof of learning, inference
    /// spot checks), exec jobs by adaptive replication on another provider of the same hardware class. Waits for those
    /// verdicts and shows them. False if any job failed its check.
    /// </summary>
    private static async Task<bool> PrintVerificationAsync(HubClient client, List<Run> runs, CancellationToken ct)
    {
        var checkedRuns = runs.Where(r => r.JobId is not null && r.View?.State == JobState.Succeeded
            && JobSpecReader.Read(File.ReadAllText(r.SpecPath), r.SpecPath).Spec?.Workload.Kind is "train" or "infer" or "exec").ToList();
        if (checkedRuns.Count == 0)
        {
            return true;
        }

        bool ok = true;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        foreach (Run run in checkedRuns)
        {
            // Every job is looked at at least once, however long the ones before it took.
            JobEvent? verdict, waiting;
            while (true)
            {
                JobView view = await client.GetJobAsync(run.JobId!, ct);
                verdict = view.Events.LastOrDefault(e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
                waiting = view.Events.LastOrDefault(e => e.Kind == "replication_waiting");
                if (verdict is not null || DateTime.UtcNow >= deadline)
                {
                    break;
                }

                await Task.Delay(250, ct);
            }

            string line = verdict is null ? waiting is null ? "[yellow]no verdict yet[/]" : $"[yellow]no verdict yet[/] — {Markup.Escape(waiting.Detail)}"
                : verdict.Kind == "verified" ? $"[green]verified[/] — {Markup.Escape(verdict.Detail)}"
                : $"[red]{Markup.Escape(verdict.Kind)}[/] — {Markup.Escape(verdict.Detail)}";
            ok &= verdict?.Kind != "verification_failed";
            AnsiConsole.MarkupLine($"{Markup.Escape(run.Example),-16} {line}");
        }

        return ok;
    }

    /// <summary>
    /// Once every escrow is settled and refunded: what the tenant paid, what each provider earned, fees and reserve,
    /// and an audit of the whole ledger from the hub's database. False if the audit fails.
    /// </summary>
    private async Task<bool> PrintLedgerAsync(HubClient client, RequestSigner tenant, List<Run> runs, CancellationToken ct)
    {
        var orders = runs.Where(r => r.JobId is not null).Select(r => r.JobId!).ToHashSet(StringComparer.Ordinal);
        var clock = Stopwatch.StartNew();
        Kumo.Ledger.AccountView account;
        do
        {
            account = await client.GetAccountAsync(tenant.AccountId.Value, ct);
            if (!account.Escrows.Any(e => orders.Contains(e.OrderId)) || clock.Elapsed > TimeSpan.FromSeconds(15))
            {
                break;
            }

            await Task.Delay(200, ct);
        }
        while (true);

        IReadOnlyList<Kumo.Ledger.HistoryEntry> tenantHistory = await client.GetHistoryAsync(tenant.AccountId.Value, 500, ct);
        long paid = -tenantHistory.Where(e => e.Kind is "escrow_lock" or "refund").Sum(e => e.Delta);
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]ledger[/]").AddColumns("who", "µKUMO", "");
        table.AddRow("tenant paid", paid.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
            Markup.Escape($"{orders.Count} escrows locked at max price × timeout, settled by the millisecond, the rest refunded"));
        foreach (ProviderView provider in (await client.ListProvidersAsync(ct)).OrderBy(p => p.Name, StringComparer.Ordinal))
        {
            IReadOnlyList<Kumo.Ledger.HistoryEntry> history = await client.GetHistoryAsync(provider.Id.Value, 500, ct);
            long earned = history.Where(e => e.Kind is "settle" or "lease_close").Sum(e => e.Delta);
            long validating = history.Where(e => e.Kind == "validation_reward").Sum(e => e.Delta);
            table.AddRow($"{Markup.Escape(provider.Name)} earned", (earned + validating).ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
                validating > 0 ? $"provider share and reward; {validating:N0} for checking others' jobs (validations, exec replicas)" : "provider share and reward");
        }

        Kumo.Ledger.LedgerSummary summary = await client.GetLedgerSummaryAsync(ct);
        table.AddRow("network fee pool", summary.Totals.FeePool.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), $"{summary.NetworkFeeBps / 100.0:0.##}% of payments, less what it paid validators");
        table.AddRow("replication pool", summary.Totals.ReplicationPool.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
            "exec providers' replication fees, less what it paid their replicas");
        table.AddRow("network reserve", summary.Totals.Reserve.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), $"{summary.ReserveBps / 100.0:0.##}% of payments");
        table.AddRow("rewards emitted", summary.Totals.Rewards.ToString("N0", System.Globalization.CultureInfo.InvariantCulture), "minted for providers per the genesis schedule");
        AnsiConsole.Write(table);

        Kumo.Ledger.Audit.AuditReport report;
        using (var source = new Kumo.Hub.Storage.Sqlite.SqliteLedgerSource(Path.Combine(network.Options.Directory, "hub", "hub.db")))
        {
            report = new Kumo.Ledger.Audit.Auditor().Run(source);
        }

        AnsiConsole.MarkupLine(report.Ok
            ? $"[green]audit ok[/]: {report.Blocks} blocks, {report.Transactions} transactions replayed from genesis; every signature, root and balance matches (kumo audit --data {Markup.Escape(Path.Combine(network.Options.Directory, "hub"))})"
            : $"[red]audit FAILED[/]: {Markup.Escape(report.ToString())}");
        return report.Ok;
    }

    /// <summary>Refreshes every job; true once all have ended.</summary>
    private static async Task<bool> PollAsync(HubClient client, List<Run> runs, CancellationToken ct)
    {
        foreach (Run run in runs.Where(r => r.JobId is not null && (r.View is null || !r.View.State.IsFinal())))
        {
            run.View = await client.GetJobAsync(run.JobId!, ct);
            IReadOnlyList<LogEntry> tail = await client.GetLogsAsync(run.JobId!, run.LastSeq, 1000, ct);
            if (tail.Count > 0)
            {
                run.LastLine = tail[^1].Text;
                run.LastSeq = tail[^1].Seq;
            }
        }

        return runs.All(r => r.JobId is null || (r.View?.State.IsFinal() ?? false));
    }

    private async Task CheckOutputsAsync(HubClient client, Run run, CancellationToken ct)
    {
        if (run.View is not { State: JobState.Succeeded } view)
        {
            return;
        }

        string downloads = Path.Combine(network.Options.Directory, "demo", run.Example);
        if (System.IO.Directory.Exists(downloads))
        {
            System.IO.Directory.Delete(downloads, recursive: true);
        }

        await JobCommands.DownloadOutputsAsync(client, view, downloads, null, ct);
        string expectedRoot = Path.Combine(Path.GetDirectoryName(run.SpecPath)!, "expected");
        bool ok = true;
        if (System.IO.Directory.Exists(expectedRoot))
        {
            foreach (string expected in System.IO.Directory.EnumerateFiles(expectedRoot, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                string relative = Path.GetRelativePath(expectedRoot, expected);
                string actual = Path.Combine(downloads, relative);
                bool same = false;
                if (File.Exists(actual))
                {
                    byte[] want = await File.ReadAllBytesAsync(expected, ct);
                    byte[] got = await File.ReadAllBytesAsync(actual, ct);
                    same = want.AsSpan().SequenceEqual(got);
                }

                run.Checks.Add($"{(same ? "✓" : "✗")} {relative}");
                ok &= same;
            }
        }

        run.Passed = ok;
    }

    private static Table BuildTable(List<Run> runs)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]devnet demo[/]")
            .AddColumns("example", "job", "state", "provider", "time", "last output");
        foreach (Run run in runs)
        {
            LeaseView? lease = run.View?.Leases.LastOrDefault(l => !l.IsReplica);
            string provider = lease is null ? "-" : Markup.Escape(lease.ProviderName)
                + (lease.SimulatedGpus ? $" [yellow]({lease.Allocation.GpuUuids.Count}× {Markup.Escape(lease.Allocation.GpuModel ?? "")}, simulated)[/]" : "");
            string state = run.Error is not null ? "[red]error[/]" : run.View is null ? "submitting" : Display.StateMarkup(run.View.State);
            string line = run.Error ?? run.LastLine ?? "";
            table.AddRow(
                Markup.Escape(run.Example),
                run.JobId ?? "-",
                state,
                provider,
                $"{run.Clock.Elapsed.TotalSeconds:0.0}s",
                Markup.Escape(line.Length > 60 ? line[..60] + "…" : line));
        }

        return table;
    }

    private static void ReportChanges(List<Run> runs, Dictionary<string, JobState> reported)
    {
        foreach (Run run in runs.Where(r => r.View is not null))
        {
            if (!reported.TryGetValue(run.Example, out JobState last) || last != run.View!.State)
            {
                reported[run.Example] = run.View!.State;
                LeaseView? lease = run.View.Leases.LastOrDefault(l => !l.IsReplica);
                string where = lease is null ? "" : $" on {lease.ProviderName}" + (lease.SimulatedGpus ? $" ({lease.Allocation.GpuUuids.Count}× {lease.Allocation.GpuModel}, simulated)" : "");
                Console.Out.WriteLine($"[{run.Clock.Elapsed.TotalSeconds,5:0.0}s] {run.Example,-14} {run.JobId} {Display.Name(run.View.State)}{where}");
            }
        }
    }

    private void PrintSummary(List<Run> runs)
    {
        var table = new Table().Border(TableBorder.Rounded).Title("[bold]results[/]")
            .AddColumns("example", "job", "state", "provider", "outputs vs expected/");
        foreach (Run run in runs)
        {
            LeaseView? lease = run.View?.Leases.LastOrDefault(l => !l.IsReplica);
            string state = run.Error is not null ? "[red]error[/]" : run.View is null ? "?" : Display.StateMarkup(run.View.State);
            string checks = run.Error ?? (run.View?.Failure is { } f ? $"{Display.Name(f.Reason)}: {f.Detail}" : string.Join("  ", run.Checks));
            table.AddRow(Markup.Escape(run.Example), run.JobId ?? "-", state,
                Markup.Escape(lease is null ? "-" : lease.ProviderName + (lease.SimulatedGpus ? $" ({lease.Allocation.GpuUuids.Count}× {lease.Allocation.GpuModel}, simulated)" : "")),
                Markup.Escape(checks.Length == 0 ? "(no expected files)" : checks));
        }

        AnsiConsole.Write(table);
        foreach (Run run in runs.Where(r => !r.Passed && r.JobId is not null))
        {
            AnsiConsole.MarkupLine($"[red]{Markup.Escape(run.Example)}[/]: see `kumo job logs {run.JobId} --hub {network.HubUrl}`; provider logs under {Markup.Escape(network.Options.Directory)}");
        }

        int passed = runs.Count(r => r.Passed);
        AnsiConsole.MarkupLine(passed == runs.Count
            ? $"[green]all {runs.Count} example jobs succeeded and their outputs match expected/[/]"
            : $"[red]{runs.Count - passed} of {runs.Count} example jobs failed or produced unexpected output[/]");
    }
}
