using Kumo.Client;
using Kumo.Content;
using Kumo.Hardware;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Provider.Control;
using Kumo.Provider.Sandbox;
using Kumo.Provider.Verification;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Leases;

/// <summary>
/// Runs one accepted lease: fetch inputs (verified by CID), run the workload in the sandbox while streaming its
/// output, upload declared outputs, and report a signed result. Cancellation kills the whole process tree.
/// </summary>
internal sealed class LeaseRunner
{
    private const int MaxBatchLines = 256;
    private const int MaxBatchChars = 128 * 1024;
    private const int MaxOutputs = 1000;

    private readonly LeaseOffer _offer;
    private readonly JobSpec _spec;
    private readonly IReadOnlyList<GpuDevice> _gpus;
    private readonly ISandbox _sandbox;
    private readonly HubClient _hub;
    private readonly RequestSigner _signer;
    private readonly HubChannel _channel;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _directory;
    private readonly bool _keepDirectory;
    private readonly BuiltInRuntime? _runtime;
    private readonly RetainedStates? _retained;
    private readonly bool _wrongOutputs;
    private readonly CancellationTokenSource _cancel = new();
    private long _nextLogSeq;
    private ISandboxedProcess? _process;
    private volatile bool _cancelledByHub;

    public LeaseRunner(LeaseOffer offer, JobSpec spec, IReadOnlyList<GpuDevice> gpus, ISandbox sandbox, HubClient hub, RequestSigner signer,
        HubChannel channel, TimeProvider time, ILogger logger, string leasesDirectory, bool keepDirectory, BuiltInRuntime? runtime = null,
        RetainedStates? retained = null, bool wrongOutputs = false)
    {
        _wrongOutputs = wrongOutputs && spec.Workload.Exec is not null;
        _runtime = runtime;
        _retained = retained;
        _offer = offer;
        _spec = spec;
        _gpus = gpus;
        _sandbox = sandbox;
        _hub = hub;
        _signer = signer;
        _channel = channel;
        _time = time;
        _logger = logger;
        _keepDirectory = keepDirectory;
        _directory = Path.Combine(leasesDirectory, offer.LeaseId);
    }

    public string LeaseId => _offer.LeaseId;

    public Allocation Allocation => _offer.Allocation;

    /// <summary>Stops the lease because the hub closed it (cancel, timeout): kills the workload, reports nothing more.</summary>
    public async Task CancelAsync()
    {
        _cancelledByHub = true;
        await _cancel.CancelAsync();
        if (_process is { } process)
        {
            await process.KillAsync();
        }
    }

    /// <summary>Runs the lease to its end and reports the result. Never throws: every failure becomes a typed result.</summary>
    public async Task RunAsync()
    {
        long startedAt = _time.GetUtcNow().ToUnixTimeMilliseconds();
        LeaseResult result;
        try
        {
            result = await ExecuteAsync(startedAt);
        }
        catch (OperationCanceledException) when (_cancel.IsCancellationRequested)
        {
            result = Result(CloseReason.TenantCancelled, null, "stopped on the hub's request", [], startedAt);
        }
        catch (Exception e)
        {
            _logger.LogError(e, "lease {Lease} failed unexpectedly", LeaseId);
            result = Result(CloseReason.ProviderSandboxFailed, null, $"the agent failed: {e.Message}", [], startedAt);
        }

        if (!_cancelledByHub)
        {
            _channel.SendSigned(ChannelMessageTypes.LeaseResult, MessageTypes.LeaseResult, result);
        }

        _logger.LogInformation("lease {Lease} ended: {Reason} {Detail}", LeaseId, result.Reason, result.Detail);
        if (!_keepDirectory)
        {
            TryDelete(_directory);
        }
    }

    private async Task<LeaseResult> ExecuteAsync(long startedAt)
    {
        CancellationToken ct = _cancel.Token;
        string jobDirectory = Path.Combine(_directory, "job");
        string inputsDirectory = Path.Combine(_directory, "inputs");
        Directory.CreateDirectory(Path.Combine(jobDirectory, "inputs")); // the mount point for the read-only inputs
        Directory.CreateDirectory(inputsDirectory);

        if (_offer.Checkpoint.Count > 0)
        {
            string? restoreError = await RestoreCheckpointAsync(jobDirectory, ct);
            if (restoreError is not null)
            {
                return Result(CloseReason.InputUnavailable, null, restoreError, [], startedAt);
            }
        }

        foreach (JobInput input in _spec.Workload.Inputs)
        {
            SystemLine($"[kumo] fetching input {input.Name} ({input.Cid})");
            try
            {
                long size = await _hub.DownloadAsync(input.Cid!, Path.Combine(inputsDirectory, input.Name), progress: null, ct);
                SystemLine($"[kumo] input {input.Name}: {size} bytes, CID verified");
            }
            catch (Exception e) when (e is HubApiException or HubUnreachableException or InvalidDataException or IOException)
            {
                return Result(CloseReason.InputUnavailable, null, $"input {input.Name} ({input.Cid}) could not be fetched: {e.Message}", [], startedAt);
            }
        }

        string command;
        IReadOnlyList<string> args;
        bool network;
        var mounts = new List<SandboxMount> { new(inputsDirectory, "/job/inputs") };
        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        if (_spec.Workload.Exec is { } exec)
        {
            (command, args, network) = (exec.Command, exec.Args, exec.Network);
            foreach ((string name, string value) in exec.Env)
            {
                environment[name] = value;
            }
        }
        else if (_runtime is not null)
        {
            (command, args, IReadOnlyList<SandboxMount> extra, IReadOnlyDictionary<string, string> runtimeEnvironment) =
                _runtime.Prepare(_spec, _offer.Allocation, _directory);
            network = false;
            mounts.AddRange(extra);
            foreach ((string name, string value) in runtimeEnvironment)
            {
                environment[name] = value;
            }

            Directory.CreateDirectory(Path.Combine(jobDirectory, "out"));
            SystemLine($"[kumo] {_spec.Workload.Kind}: Kumo's reproducible tensor engine, {environment["KUMO_THREADS"]} thread(s)");
        }
        else
        {
            return Result(CloseReason.ProviderSandboxFailed, null, $"this agent cannot run {_spec.Workload.Kind} workloads (no Kumo runtime next to it)", [], startedAt);
        }

        foreach ((string name, string value) in new Dictionary<string, string>
        {
            ["KUMO_JOB_ID"] = _offer.JobId,
            ["KUMO_LEASE_ID"] = _offer.LeaseId,
            ["KUMO_GPU_COUNT"] = _gpus.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KUMO_NODE_RANK"] = _offer.NodeRank.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["KUMO_NODE_COUNT"] = Math.Max(1, _offer.Peers.Count).ToString(System.Globalization.CultureInfo.InvariantCulture),
        })
        {
            environment[name] = value;
        }

        if (_offer.Peers.Count > 0)
        {
            // "0=host:port,1=host:port": each node finds the others (rank 0 is the conventional coordinator).
            environment["KUMO_PEERS"] = string.Join(',', _offer.Peers.OrderBy(p => p.Rank).Select(p => $"{p.Rank}={p.Address}"));
        }

        if (_spec.Checkpoint is { } checkpoint)
        {
            environment["KUMO_CHECKPOINT_DIR"] = "/job/" + checkpoint.Path;
            environment["KUMO_RESTORED"] = _offer.Checkpoint.Count > 0 ? "1" : "0";
            Directory.CreateDirectory(Path.Combine(jobDirectory, checkpoint.Path));
        }
        var request = new SandboxRequest
        {
            JobDirectory = jobDirectory,
            ReadOnlyMounts = mounts,
            Command = command,
            Args = args,
            Environment = environment,
            Network = network,
            CpuMillicores = _offer.Allocation.CpuMillicores,
            MemoryBytes = _offer.Allocation.MemoryBytes,
            DiskBytes = _offer.Allocation.DiskBytes,
            WallTime = _spec.Timeout,
            Gpus = _gpus,
        };

        try
        {
            _process = await _sandbox.StartAsync(request, ct);
        }
        catch (SandboxException e)
        {
            return Result(CloseReason.ProviderSandboxFailed, null, e.Message, [], startedAt);
        }

        await using ISandboxedProcess process = _process;
        if (_cancel.IsCancellationRequested)
        {
            await process.KillAsync();
        }

        _channel.Send(ChannelMessageTypes.LeaseStarted, new LeaseStarted(LeaseId));
        using var checkpoints = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task checkpointing = _spec.Checkpoint is { } policy ? CheckpointLoopAsync(jobDirectory, policy, checkpoints.Token) : Task.CompletedTask;
        await PumpOutputAsync(process);
        SandboxExit exit = await process.Completion;
        await checkpoints.CancelAsync();
        await checkpointing;
        ct.ThrowIfCancellationRequested();

        (CloseReason reason, string detail) = exit.Outcome switch
        {
            SandboxOutcome.Exited when exit.ExitCode == 0 => (CloseReason.Completed, "exited 0"),
            SandboxOutcome.Exited => (CloseReason.WorkloadFailed, $"exited with status {exit.ExitCode}"),
            SandboxOutcome.Signaled => (CloseReason.WorkloadKilledBySignal, exit.Detail),
            SandboxOutcome.TimedOut => (CloseReason.WorkloadTimedOut, exit.Detail),
            SandboxOutcome.OutOfMemory => (CloseReason.WorkloadOutOfMemory, exit.Detail),
            SandboxOutcome.DiskLimitExceeded => (CloseReason.WorkloadDiskLimitExceeded, exit.Detail),
            _ => (CloseReason.TenantCancelled, exit.Detail),
        };

        if (reason != CloseReason.Completed)
        {
            return Result(reason, exit.ExitCode, detail, [], startedAt);
        }

        try
        {
            IReadOnlyList<OutputFile> outputs = await UploadOutputsAsync(jobDirectory, ct);

            RetainStates(jobDirectory);
            return Result(CloseReason.Completed, 0, $"exited 0; {outputs.Count} output file(s)", outputs, startedAt);
        }
        catch (Exception e) when (e is HubApiException or HubUnreachableException or IOException)
        {
            return Result(CloseReason.ProviderUploadFailed, 0, $"outputs could not be uploaded: {e.Message}", [], startedAt);
        }
    }

    /// <summary>
    /// Moves the states a train run kept out of the lease directory before the result goes out (the hub may ask for one
    /// as soon as it has the result). A failure costs only longer spot checks, never the job: it is logged.
    /// </summary>
    private void RetainStates(string jobDirectory)
    {
        try
        {
            _retained?.Retain(_offer.JobId, Path.Combine(jobDirectory, BuiltInRuntime.KeptStatesDirectory));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("lease {Lease}: the kept training states could not be retained ({Error}); spot checks will start from checkpoints", LeaseId, e.Message);
        }
    }

    /// <summary>
    /// Puts the job's last checkpoint (taken by an earlier lease, before a failover) back under the checkpoint path.
    /// Every file is fetched by CID and verified; a path outside the checkpoint directory is refused.
    /// </summary>
    private async Task<string?> RestoreCheckpointAsync(string jobDirectory, CancellationToken ct)
    {
        if (_spec.Checkpoint is not { } policy)
        {
            return "the offer carries a checkpoint but the job declares no checkpoint path";
        }

        string root = Path.GetFullPath(Path.Combine(jobDirectory, policy.Path));
        SystemLine($"[kumo] restoring checkpoint: {_offer.Checkpoint.Count} file(s) into /job/{policy.Path}");
        foreach (OutputFile file in _offer.Checkpoint)
        {
            string target = Path.GetFullPath(Path.Combine(jobDirectory, file.Path));
            if (!target.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) || file.Path.Split('/').Any(s => s is "" or "." or ".."))
            {
                return $"checkpoint file '{file.Path}' lies outside the checkpoint path {policy.Path}";
            }

            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                await _hub.DownloadAsync(file.Cid, target, progress: null, ct);
            }
            catch (Exception e) when (e is HubApiException or HubUnreachableException or InvalidDataException or IOException)
            {
                return $"checkpoint file {file.Path} ({file.Cid}) could not be fetched: {e.Message}";
            }
        }

        return null;
    }

    /// <summary>
    /// Every <see cref="CheckpointPolicy.Every"/>, uploads what changed under the checkpoint path and reports the set
    /// (signed). Each changed file is first copied aside through one open handle, so the upload hashes and sends the
    /// same bytes even while the workload rewrites the file; a workload that replaces files atomically (write, then
    /// rename) never has a half-written file in a checkpoint. A tick that fails is retried at the next one.
    /// </summary>
    private async Task CheckpointLoopAsync(string jobDirectory, CheckpointPolicy policy, CancellationToken ct)
    {
        string root = Path.Combine(jobDirectory, policy.Path);
        string snapshots = Path.Combine(_directory, "checkpoint-copies");
        Directory.CreateDirectory(snapshots);
        var uploaded = new Dictionary<string, (long Size, DateTime Modified, OutputFile File)>(StringComparer.Ordinal);
        string lastReported = "";
        using var timer = new PeriodicTimer(policy.Every, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                try
                {
                    List<OutputFile> files = await SnapshotAsync(jobDirectory, root, snapshots, uploaded, ct);
                    string fingerprint = string.Join('\n', files.Select(f => f.Path + " " + f.Cid));
                    if (files.Count == 0 || fingerprint == lastReported)
                    {
                        continue;
                    }

                    lastReported = fingerprint;
                    _channel.SendSigned(ChannelMessageTypes.LeaseCheckpoint, MessageTypes.LeaseCheckpoint,
                        new LeaseCheckpointReport(LeaseId, files, _time.GetUtcNow().ToUnixTimeMilliseconds()));
                    SystemLine($"[kumo] checkpoint: {files.Count} file(s), {files.Sum(f => f.Size)} bytes");
                }
                catch (Exception e) when (e is HubApiException or HubUnreachableException or IOException or UnauthorizedAccessException)
                {
                    SystemLine($"[kumo] checkpoint skipped, retrying at the next interval: {e.Message}");
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The workload ended.
        }
    }

    private async Task<List<OutputFile>> SnapshotAsync(string jobDirectory, string root, string snapshots,
        Dictionary<string, (long Size, DateTime Modified, OutputFile File)> uploaded, CancellationToken ct)
    {
        var files = new List<OutputFile>();
        foreach (string file in Directory.Exists(root) ? SafeFiles(root) : [])
        {
            if (files.Count >= MaxOutputs)
            {
                break;
            }

            var info = new FileInfo(file);
            string relative = Path.GetRelativePath(jobDirectory, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!uploaded.TryGetValue(relative, out var known) || known.Size != info.Length || known.Modified != info.LastWriteTimeUtc)
            {
                string copy = Path.Combine(snapshots, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(relative)))[..16]);
                try
                {
                    await using (FileStream source = new(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
                    await using (FileStream target = new(copy, FileMode.Create, FileAccess.Write))
                    {
                        await source.CopyToAsync(target, ct);
                    }
                }
                catch (FileNotFoundException)
                {
                    continue; // replaced or removed between listing and reading: the next tick sees the new one
                }

                ContentManifest manifest = await _hub.UploadFileAsync(_signer, copy, progress: null, ct);
                known = (info.Length, info.LastWriteTimeUtc, new OutputFile(relative, manifest.Root.ToString(), manifest.Size));
                uploaded[relative] = known;
            }

            files.Add(known.File);
        }

        return files;
    }

    /// <summary>Forwards output lines in batches: whatever has accumulated goes out at once, so the first line is not held back.</summary>
    private async Task PumpOutputAsync(ISandboxedProcess process)
    {
        var batch = new List<LeaseLogLine>(MaxBatchLines);
        while (await process.Output.WaitToReadAsync())
        {
            int chars = 0;
            while (batch.Count < MaxBatchLines && chars < MaxBatchChars && process.Output.TryRead(out SandboxOutput? line))
            {
                batch.Add(new LeaseLogLine(line.Stream == OutputStream.Stdout ? LogStream.Stdout : LogStream.Stderr, line.Timestamp.ToUnixTimeMilliseconds(), line.Text));
                chars += line.Text.Length;
            }

            Flush(batch);
        }

        Flush(batch);
    }

    private void SystemLine(string text)
    {
        var batch = new List<LeaseLogLine> { new(LogStream.System, _time.GetUtcNow().ToUnixTimeMilliseconds(), text) };
        Flush(batch);
    }

    private void Flush(List<LeaseLogLine> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        _channel.Send(ChannelMessageTypes.LeaseLogs, new LeaseLogBatch(LeaseId, _nextLogSeq, [.. batch]));
        _nextLogSeq += batch.Count;
        batch.Clear();
    }

    private async Task<IReadOnlyList<OutputFile>> UploadOutputsAsync(string jobDirectory, CancellationToken ct)
    {
        var outputs = new List<OutputFile>();
        if (_spec.Workload.Outputs.Count == 0)
        {
            return outputs;
        }

        foreach (string file in SafeFiles(jobDirectory))
        {
            string relative = Path.GetRelativePath(jobDirectory, file).Replace(Path.DirectorySeparatorChar, '/');
            if (relative.StartsWith("inputs/", StringComparison.Ordinal) || !OutputGlob.IsMatchAny(_spec.Workload.Outputs, relative))
            {
                continue;
            }

            if (outputs.Count >= MaxOutputs)
            {
                SystemLine($"[kumo] more than {MaxOutputs} output files match; the rest are not uploaded");
                break;
            }

            if (_wrongOutputs)
            {
                // Fault injection (ProviderAgentOptions.WrongExecOutputs): a cheap guess in place of the work's result.
                await File.AppendAllTextAsync(file, "\n(a wrong answer)\n", ct);
            }

            ContentManifest manifest = await _hub.UploadFileAsync(_signer, file, progress: null, ct);
            outputs.Add(new OutputFile(relative, manifest.Root.ToString(), manifest.Size));
            SystemLine($"[kumo] output {relative}: {manifest.Size} bytes → {manifest.Root}");
        }

        return outputs;
    }

    /// <summary>
    /// Files under the job directory, never following symbolic links: a hostile workload could point a link at a
    /// host file, and the agent (which may run as root) must not upload what the link points to. Hard links to
    /// host files cannot exist (the job directory is its own mount). FIFOs and sockets report length 0 and are
    /// never opened (see <see cref="HubClient.UploadFileAsync"/>).
    /// </summary>
    private static IEnumerable<string> SafeFiles(string root)
    {
        var pending = new Stack<DirectoryInfo>();
        pending.Push(new DirectoryInfo(root));
        while (pending.Count > 0)
        {
            DirectoryInfo directory = pending.Pop();
            foreach (FileSystemInfo entry in directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
            {
                if (entry.LinkTarget is not null || entry.Attributes.HasFlag(FileAttributes.ReparsePoint))
                {
                    continue;
                }

                if (entry is DirectoryInfo sub)
                {
                    pending.Push(sub);
                }
                else if (entry is FileInfo file)
                {
                    yield return file.FullName;
                }
            }
        }
    }

    private LeaseResult Result(CloseReason reason, int? exitCode, string detail, IReadOnlyList<OutputFile> outputs, long startedAt) =>
        new(LeaseId, reason, exitCode, detail, outputs, startedAt, _time.GetUtcNow().ToUnixTimeMilliseconds());

    private void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _logger.LogWarning("could not delete lease directory {Directory}: {Error}", directory, e.Message);
        }
    }
}
