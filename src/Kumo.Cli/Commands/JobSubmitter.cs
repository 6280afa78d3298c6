using Kumo.Client;
using Kumo.Content;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Cli.Commands;

/// <summary>
/// Turns a spec file into a submitted job: read and validate it (errors carry file:line:column), upload the
/// inputs it names by local path, replace them with their CIDs, and send the signed submission.
/// </summary>
public sealed class JobSubmitter(HubClient client, RequestSigner signer)
{
    /// <summary>Reads and validates a spec file, or throws a <see cref="CliException"/> listing every error.</summary>
    public static JobSpec ReadSpec(string specPath)
    {
        string text;
        try
        {
            text = File.ReadAllText(specPath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException($"spec file {specPath} not found", ExitCodes.InvalidInput);
        }

        JobSpecReadResult read = JobSpecReader.Read(text, specPath);
        if (!read.Succeeded)
        {
            throw new CliException($"{specPath} is not a valid job spec:\n  " + string.Join("\n  ", read.Errors), ExitCodes.InvalidInput);
        }

        JobSpec spec = read.Spec;
        string directory = Path.GetDirectoryName(Path.GetFullPath(specPath))!;
        foreach (JobInput input in spec.Workload.Inputs.Where(i => i.Path is not null))
        {
            string local = Path.GetFullPath(Path.Combine(directory, input.Path!));
            if (!File.Exists(local))
            {
                throw new CliException($"{specPath}: input '{input.Name}' names {input.Path}, but {local} does not exist", ExitCodes.InvalidInput);
            }
        }

        return spec;
    }

    /// <summary>Uploads local inputs (reporting bytes sent per input) and submits. Returns the hub's answer and the spec as sent.</summary>
    public async Task<(JobAccepted Accepted, JobSpec Sent)> SubmitAsync(string specPath, Action<string, long, long>? progress, CancellationToken ct)
    {
        JobSpec spec = ReadSpec(specPath);
        string directory = Path.GetDirectoryName(Path.GetFullPath(specPath))!;
        var inputs = new List<JobInput>();
        foreach (JobInput input in spec.Workload.Inputs)
        {
            if (input.Path is null)
            {
                inputs.Add(input);
                continue;
            }

            string local = Path.GetFullPath(Path.Combine(directory, input.Path));
            long total = new FileInfo(local).Length;
            ContentManifest manifest = await client.UploadFileAsync(signer, local,
                new SyncProgress<long>(sent => progress?.Invoke(input.Name, sent, total)), ct);
            inputs.Add(new JobInput { Name = input.Name, Cid = manifest.Root.ToString() });
        }

        JobSpec sent = spec with { Workload = spec.Workload with { Inputs = inputs } };
        JobAccepted accepted = await client.SubmitJobAsync(signer, JobSpecWriter.ToJson(sent), ct);
        return (accepted, sent);
    }

    /// <summary>An IProgress that reports on the caller's thread, in order (Progress&lt;T&gt; posts to the thread pool).</summary>
    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
