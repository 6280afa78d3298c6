using System.CommandLine;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Jobs;
using Kumo.Protocol;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo job submit|status|list|logs|cancel|get</c>.</summary>
public static class JobCommands
{
    private static readonly Argument<string> JobId = new("job-id") { Description = "The job, e.g. j-3f9a1c0b2d4e" };

    public static Command Create()
    {
        var job = new Command("job", "Submit jobs and follow them: status, logs, cancel, outputs");
        job.Subcommands.Add(Submit());
        job.Subcommands.Add(Status());
        job.Subcommands.Add(List());
        job.Subcommands.Add(Logs());
        job.Subcommands.Add(Cancel());
        job.Subcommands.Add(Get());
        job.Subcommands.Add(Resume());
        MarketCommands.AddToJob(job);
        return job;
    }

    private static Command Submit()
    {
        var spec = new Argument<string>("spec") { Description = "Job spec YAML file (see docs/JOB-SPEC.md)" };
        var follow = new Option<bool>("--follow", "-f") { Description = "Stream the job's logs until it ends; exit 0 only if it succeeded" };
        var check = new Option<bool>("--check") { Description = "Validate the spec and stop; nothing is uploaded or sent" };
        var command = new Command("submit", "Upload the spec's local inputs and submit the job") { spec, follow, check };
        command.SetAction(async (parse, ct) =>
        {
            string path = parse.GetValue(spec)!;
            bool json = parse.GetValue(CliContext.Json);
            if (parse.GetValue(check))
            {
                JobSpec valid = JobSubmitter.ReadSpec(path);
                if (json)
                {
                    Display.Json(new { valid = true, name = valid.Name });
                }
                else
                {
                    AnsiConsole.MarkupLine($"[green]✓[/] {Markup.Escape(path)} is a valid spec for job '{Markup.Escape(valid.Name)}'");
                }

                return ExitCodes.Success;
            }

            JobSubmitter.ReadSpec(path); // spec errors first: they are the ones a person is fixing
            using HubClient client = CliContext.CreateClient(parse);
            var submitter = new JobSubmitter(client, CliContext.LoadSigner(parse));
            JobAccepted accepted;
            if (json || !AnsiConsole.Profile.Capabilities.Interactive)
            {
                (accepted, _) = await submitter.SubmitAsync(path, null, ct);
            }
            else
            {
                accepted = await AnsiConsole.Progress().AutoClear(true).StartAsync(async progress =>
                {
                    var tasks = new Dictionary<string, ProgressTask>(StringComparer.Ordinal);
                    (JobAccepted a, _) = await submitter.SubmitAsync(path, (input, sent, total) =>
                    {
                        if (!tasks.TryGetValue(input, out ProgressTask? task))
                        {
                            task = tasks[input] = progress.AddTask($"upload {Markup.Escape(input)}", maxValue: Math.Max(1, total));
                        }

                        task.Value = Math.Max(sent, total == 0 ? 1 : 0);
                    }, ct);
                    return a;
                });
            }

            if (json)
            {
                Display.Json(accepted);
            }
            else
            {
                AnsiConsole.MarkupLine($"submitted [bold]{accepted.JobId}[/] ({Display.Name(accepted.State)})");
                if (!parse.GetValue(follow))
                {
                    AnsiConsole.MarkupLine($"[grey]follow it with `kumo job logs -f {accepted.JobId}`[/]");
                }
            }

            return parse.GetValue(follow) ? await FollowAsync(client, accepted.JobId, json, ct) : ExitCodes.Success;
        });
        return command;
    }

    private static Command Status()
    {
        var command = new Command("status", "Show a job: state, leases, outputs, timeline") { JobId };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            JobView view = await client.GetJobAsync(parse.GetValue(JobId)!, ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(view);
            }
            else
            {
                Display.Job(view);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command List()
    {
        var all = new Option<bool>("--all") { Description = "Jobs of every tenant, not only yours" };
        var limit = new Option<int>("--limit") { Description = "How many", DefaultValueFactory = _ => 20 };
        var command = new Command("list", "List your most recent jobs") { all, limit };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string? tenant = parse.GetValue(all) ? null : CliContext.LoadSigner(parse).AccountId.Value;
            IReadOnlyList<JobView> jobs = await client.ListJobsAsync(tenant, parse.GetValue(limit), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(jobs);
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("job", "name", "state", "provider", "submitted");
            foreach (JobView j in jobs)
            {
                table.AddRow(j.Id, Markup.Escape(j.Name), Display.StateMarkup(j.State), Markup.Escape(j.Leases.LastOrDefault(l => !l.IsReplica)?.ProviderName ?? "-"),
                    j.CreatedAt.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Logs()
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Keep streaming until the job ends; exit 0 only if it succeeded" };
        var command = new Command("logs", "Print a job's output (stdout, stderr and agent notes)") { JobId, follow };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string id = parse.GetValue(JobId)!;
            if (parse.GetValue(follow))
            {
                return await FollowAsync(client, id, parse.GetValue(CliContext.Json), ct);
            }

            long after = 0;
            while (true)
            {
                IReadOnlyList<LogEntry> lines = await client.GetLogsAsync(id, after, 1000, ct);
                foreach (LogEntry line in lines)
                {
                    Print(line, parse.GetValue(CliContext.Json));
                    after = line.Seq;
                }

                if (lines.Count < 1000)
                {
                    return ExitCodes.Success;
                }
            }
        });
        return command;
    }

    private static Command Cancel()
    {
        var command = new Command("cancel", "Cancel a job; a running workload is killed with its whole process tree") { JobId };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            JobView view = await client.CancelJobAsync(CliContext.LoadSigner(parse), parse.GetValue(JobId)!, ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(view);
            }
            else
            {
                AnsiConsole.MarkupLine($"{view.Id}: {Display.StateMarkup(view.State)}");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Get()
    {
        var output = new Option<string?>("--output", "-o") { Description = "Directory to write the outputs to [default ./JOB-ID]" };
        var command = new Command("get", "Download a finished job's outputs, verifying each against its CID") { JobId, output };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string id = parse.GetValue(JobId)!;
            string directory = Path.GetFullPath(parse.GetValue(output) ?? id);
            JobView view = await client.GetJobAsync(id, ct);
            if (view.State != JobState.Succeeded)
            {
                throw new CliException($"job {id} is {Display.Name(view.State)}; only a succeeded job has outputs", ExitCodes.Failure);
            }

            IReadOnlyList<(OutputFile File, string Path)> files = parse.GetValue(CliContext.Json) || !AnsiConsole.Profile.Capabilities.Interactive
                ? await DownloadOutputsAsync(client, view, directory, null, ct)
                : await AnsiConsole.Progress().AutoClear(true).StartAsync(progress =>
                {
                    var tasks = view.Outputs.ToDictionary(o => o.Path, o => progress.AddTask(Markup.Escape(o.Path), maxValue: Math.Max(1, o.Size)), StringComparer.Ordinal);
                    return DownloadOutputsAsync(client, view, directory, (path, bytes) => tasks[path].Value = Math.Max(bytes, 1), ct);
                });
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(files.Select(f => new { f.File.Path, f.File.Cid, f.File.Size, local = f.Path }));
                return ExitCodes.Success;
            }

            foreach ((OutputFile file, string local) in files)
            {
                AnsiConsole.MarkupLine($"[green]✓[/] {Markup.Escape(file.Path)}  {Display.Bytes(file.Size)}  [grey]{file.Cid}[/] → {Markup.Escape(local)}");
            }

            AnsiConsole.MarkupLine(files.Count == 0 ? "the job declared no outputs, or none matched" : $"{files.Count} file(s) in {Markup.Escape(directory)}, every CID verified");
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Resume()
    {
        var from = new Option<int?>("--from-step")
        {
            Description = "The checkpoint to continue from (one of the job's out/checkpoint-NNNNNNN.safetensors) [default: the last good checkpoint the hub named after a failed verification]",
        };
        var command = new Command("resume", "Continue a train job from one of its checkpoints as a new job you sign — after a failed verification, from the last good one") { JobId, from };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            string id = parse.GetValue(JobId)!;
            JobView view = await client.GetJobAsync(id, ct);
            JobSpec spec = JobSpecReader.ReadWireForm(view.Spec.GetRawText(), "spec").Spec
                ?? throw new CliException($"job {id}'s spec does not read", ExitCodes.Failure);
            if (spec.Workload.Train is not { } train)
            {
                throw new CliException($"job {id} is a {spec.Workload.Kind} job; only train jobs resume from checkpoints", ExitCodes.InvalidInput);
            }

            int? step = parse.GetValue(from) ?? ResumeStep(view)
                ?? throw new CliException($"job {id} has no failed verification to resume from; name a checkpoint with --from-step N (it has "
                    + string.Join(", ", view.Outputs.Select(o => o.Path).Where(p => p.StartsWith("out/checkpoint-", StringComparison.Ordinal))) + ")", ExitCodes.InvalidInput);
            var inputs = spec.Workload.Inputs.Where(i => i.Name != ResumeInput).ToList();
            TrainWorkload resumed = train with { ResumeFrom = null };
            if (step is > 0)
            {
                string file = $"out/checkpoint-{step.Value:D7}.safetensors";
                OutputFile checkpoint = view.Outputs.FirstOrDefault(o => o.Path == file)
                    ?? throw new CliException($"job {id} published no {file}; its checkpoints are at steps "
                        + string.Join(", ", view.Outputs.Select(o => o.Path).Where(p => p.StartsWith("out/checkpoint-", StringComparison.Ordinal))), ExitCodes.InvalidInput);
                inputs.Add(new JobInput { Name = ResumeInput, Cid = checkpoint.Cid });
                resumed = train with { ResumeFrom = ResumeInput };
            }

            JobSpec next = spec with { Name = spec.Name.EndsWith("-resumed", StringComparison.Ordinal) ? spec.Name : spec.Name + "-resumed", Workload = spec.Workload with { Train = resumed, Inputs = inputs } };
            JobAccepted accepted = await client.SubmitJobAsync(CliContext.LoadSigner(parse), JobSpecWriter.ToJson(next), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(new { job = accepted.JobId, resumedFrom = id, step = step ?? 0 });
            }
            else
            {
                AnsiConsole.MarkupLine(step is > 0
                    ? $"{accepted.JobId}: continues {id} from its checkpoint at step {step} (follow it with [bold]kumo job logs -f {accepted.JobId}[/])"
                    : $"{accepted.JobId}: runs {id} again from the start (no good checkpoint to continue from)");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private const string ResumeInput = "resume.safetensors";

    /// <summary>The step of the last good checkpoint the hub named after a failed verification (event <c>resume_point</c>), if any.</summary>
    private static int? ResumeStep(JobView view)
    {
        JobEvent? point = view.Events.LastOrDefault(e => e.Kind == "resume_point");
        System.Text.RegularExpressions.Match match = System.Text.RegularExpressions.Regex.Match(point?.Detail ?? "", @" at step (\d+) ");
        return match.Success ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : point is null ? null : 0;
    }

    /// <summary>Downloads every output under <paramref name="directory"/>, refusing paths that would escape it.</summary>
    internal static async Task<IReadOnlyList<(OutputFile File, string Path)>> DownloadOutputsAsync(HubClient client, JobView view, string directory, Action<string, long>? progress, CancellationToken ct)
    {
        var done = new List<(OutputFile, string)>();
        string root = Path.GetFullPath(directory) + Path.DirectorySeparatorChar;
        foreach (OutputFile file in view.Outputs)
        {
            string local = Path.GetFullPath(Path.Combine(directory, file.Path));
            if (!local.StartsWith(root, StringComparison.Ordinal) || Path.IsPathRooted(file.Path))
            {
                throw new CliException($"output path '{file.Path}' would be written outside {directory}; refused", ExitCodes.Failure);
            }

            await client.DownloadAsync(file.Cid, local, progress is null ? null : new Progress<long>(bytes => progress(file.Path, bytes)), ct);
            progress?.Invoke(file.Path, file.Size);
            done.Add((file, local));
        }

        return done;
    }

    /// <summary>Streams logs until the job ends; the exit code says how it ended.</summary>
    internal static async Task<int> FollowAsync(HubClient client, string jobId, bool json, CancellationToken ct)
    {
        await foreach (LogFollowItem item in client.FollowLogsAsync(jobId, 0, ct))
        {
            if (item.Line is { } line)
            {
                Print(line, json);
            }
            else if (item.End is { } end)
            {
                if (json)
                {
                    Display.Json(end);
                }
                else
                {
                    string why = end.Failure is { } f ? $": {Display.Name(f.Reason)} ({Display.Name(f.Party)} side) — {f.Detail}" : "";
                    AnsiConsole.MarkupLine($"{jobId} {Display.StateMarkup(end.State)}{Markup.Escape(why)}");
                }

                return end.State == JobState.Succeeded ? ExitCodes.Success : ExitCodes.Failure;
            }
        }

        return ExitCodes.Failure;
    }

    private static void Print(LogEntry line, bool json)
    {
        if (json)
        {
            Console.Out.WriteLine(System.Text.Json.JsonSerializer.Serialize(line, Kumo.Serialization.KumoJson.Options));
        }
        else
        {
            Display.LogLine(line);
        }
    }
}
