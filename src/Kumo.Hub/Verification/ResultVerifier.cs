using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Leases;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Randomness;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Disputes;
using Kumo.Verification.Learning;
using Kumo.Verification.Validators;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// Checks finished built-in AI jobs: proof of learning for <c>train</c> jobs, spot checks for <c>infer</c> jobs. For a
/// train job, the provider's signed result names (by CID) its <c>commitments.json</c> and a checkpoint file per
/// commitment; once the job has succeeded, segments are sampled — with probability 0.74 while the provider has fewer
/// than 60 verified segments, 0.05 after (<see cref="SegmentSampling"/>) — from randomness drawn after the result. Each
/// sampled segment (and an infer job's sample of rows or tokens) goes to a random bonded validator, never the provider
/// (<see cref="ValidatorDispatch"/>), which re-executes it from the published content and signs its answer; a rejection
/// is settled by the referee re-executing the same work, and whoever was wrong — the provider, or a validator accusing
/// falsely — is slashed on what it signed. About 1% of assignments (25% for new validators) are known-answer canaries
/// that catch validators approving without computing. With no validator available the hub checks the work itself.
/// Agreement is recorded as a <c>verified</c> job event; a provider's fault as <c>verification_failed</c>.
/// </summary>
public sealed class ResultVerifier(
    IHubStore store,
    ContentStore content,
    RefereeService referee,
    ValidatorDispatch validators,
    DisputeService disputes,
    StateRevealService reveals,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<ResultVerifier> logger) : BackgroundService
{
    /// <summary>Fraction of an infer job's rows recomputed (at least one); tests check every row.</summary>
    internal double InferenceQ { get; set; } = 0.05;

    /// <summary>The sampling policy (tests make it check every segment).</summary>
    internal SegmentSampling Sampling { get; set; } = new();

    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly SemaphoreSlim _refereeCpu = new(1, 1);
    private readonly List<KnownAnswer> _known = [];
    private readonly Dictionary<string, int> _savedStanding = new(StringComparer.Ordinal);
    private bool _standingLoaded;

    /// <summary>Jobs whose check failed with an unexpected error: how often, and when to try again (the same draw).</summary>
    private readonly Dictionary<string, (int Failures, long RetryAt)> _retry = new(StringComparer.Ordinal);

    /// <summary>Runs before each job's check; tests inject faults here.</summary>
    internal Func<string, Task>? BeforeCheck { get; set; }

    /// <summary>Verifies every succeeded train job not verified yet; returns how many were looked at.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            IReadOnlyList<JobRecord> jobs;
            await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
            {
                jobs = await reader.ListJobsAsync(null, 500);
            }

            await LoadStandingAsync(cancellationToken);
            int verified = 0;
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach (JobRecord job in jobs.Where(j => j.State == JobState.Succeeded && !_done.Contains(j.Id)
                && !(_retry.TryGetValue(j.Id, out var retry) && retry.RetryAt > now)))
            {
                _done.Add(job.Id);
                try
                {
                    if (await CheckAsync(job, cancellationToken))
                    {
                        verified++;
                    }

                    _retry.Remove(job.Id);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // An error no rule covers (the store, the disk, a bug) is not the provider's fault, and one job's must
                    // not stop the others' checks. It is tried again later with the same draw (verification_draws).
                    _done.Remove(job.Id);
                    int failures = _retry.GetValueOrDefault(job.Id).Failures + 1;
                    var wait = TimeSpan.FromSeconds(Math.Min(300, Math.Pow(2, failures)));
                    _retry[job.Id] = (failures, now + (long)wait.TotalMilliseconds);
                    logger.LogWarning(e, "job {Job}: its check failed ({Failures} time(s) so far); trying again in {Wait:0} s with the same draw",
                        job.Id, failures, wait.TotalSeconds);
                }
            }

            return verified;
        }
        finally
        {
            _pass.Release();
        }
    }

    /// <summary>Checks one succeeded job unless it is not a train or infer job or was checked before a restart; true when it was looked at.</summary>
    private async Task<bool> CheckAsync(JobRecord job, CancellationToken cancellationToken)
    {
        if (BeforeCheck is { } fault)
        {
            await fault(job.Id);
        }

        JobSpec spec = Jobs.JobService.ParseSpec(job.SpecJson);
        if (spec.Workload.Train is null && spec.Workload.Infer is null)
        {
            return false;
        }

        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            if ((await reader.ListJobEventsAsync(job.Id)).Any(e => e.Kind is "verified" or "verification_failed" or "verification_skipped"))
            {
                return false; // done before a restart
            }
        }

        if (spec.Workload.Train is { } train)
        {
            await VerifyAsync(job, spec, train, cancellationToken);
            await SaveStandingAsync(cancellationToken);
        }
        else
        {
            await VerifyInferenceAsync(job, spec, spec.Workload.Infer!, cancellationToken);
        }

        return true;
    }

    /// <summary>
    /// Providers' proof-of-learning standing as the store has it, once: a hub restart puts no trusted provider back on
    /// probation (its sampling rate, and with it the network's verification cost, would jump from 0.05 to 0.74).
    /// </summary>
    private async Task LoadStandingAsync(CancellationToken cancellationToken)
    {
        if (_standingLoaded)
        {
            return;
        }

        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        foreach (TrainingStandingRecord standing in await reader.ListTrainingStandingAsync())
        {
            int delivered = (int)Math.Min(int.MaxValue, standing.Delivered);
            Sampling.SetHistory(standing.ProviderId, delivered);
            _savedStanding[standing.ProviderId] = delivered;
        }

        _standingLoaded = true;
    }

    /// <summary>Writes the standings a verification changed.</summary>
    private async Task SaveStandingAsync(CancellationToken cancellationToken)
    {
        KeyValuePair<string, int>[] changed = [.. Sampling.Standing.Where(kv => !_savedStanding.TryGetValue(kv.Key, out int saved) || saved != kv.Value)];
        if (changed.Length == 0)
        {
            return;
        }

        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            long now = time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach ((string provider, int delivered) in changed)
            {
                await tx.UpsertTrainingStandingAsync(new TrainingStandingRecord(provider, delivered, now));
            }

            await tx.CommitAsync();
        }

        foreach ((string provider, int delivered) in changed)
        {
            _savedStanding[provider] = delivered;
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync(options.VerifyTraining ? options.SweepInterval : TimeSpan.Zero, time, RunOnceAsync, logger, "a training verification pass", runAtStart: false, stoppingToken);

    /// <summary>The lease whose signed result the job's outputs come from, and those outputs by path.</summary>
    private async Task<(LeaseRecord? Lease, Dictionary<string, string> Outputs)> ResultOfAsync(string jobId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        LeaseRecord? lease = (await reader.ListLeasesForJobAsync(jobId)).LastOrDefault(l => l.CloseReason == CloseReason.Completed && l.ResultEnvelope is not null);
        return (lease, (await reader.ListOutputsAsync(jobId)).ToDictionary(o => o.Path, o => o.Cid, StringComparer.Ordinal));
    }

    /// <summary>
    /// Records the failure and has the referee slash the provider on its signed result. The bounty goes to the validator
    /// that caught it, or — when the hub itself did — to the tenant, as compensation for the bad work.
    /// </summary>
    private async Task FailAsync(JobRecord job, LeaseRecord lease, string kind, string subject, string reason, AccountId? catcher, CancellationToken cancellationToken)
    {
        await EventAsync(job.Id, "verification_failed", reason);
        SignedEnvelope signedResult = JsonSerializer.Deserialize<SignedEnvelope>(lease.ResultEnvelope!, KumoJson.Options)!;
        AccountId offender = AccountId.Parse(lease.ProviderId);
        string slashSubject = $"job {job.Id}/{subject}";
        try
        {
            // The tenant also gets back what it paid the provider for this job (the ledger computes how much).
            LedgerReceipt? receipt = await referee.SlashAsync(kind, offender, catcher ?? AccountId.Parse(job.Tenant), slashSubject, reason,
                [signedResult], new Restitution(job.Id, job.Tenant), cancellationToken);
            if (receipt?.Result.Effects.OfType<Kumo.Ledger.State.Restituted>().FirstOrDefault() is { } refunded)
            {
                await EventAsync(job.Id, "restitution", $"the tenant was refunded {Kumo.Ledger.Amounts.Format(refunded.Amount)}" +
                    (refunded.Amount < refunded.Owed ? $" of the {Kumo.Ledger.Amounts.Format(refunded.Owed)} the provider was paid for this job (all it held)" : ", what the provider was paid for this job") +
                    $" (ledger transaction {receipt.Hash})");
            }
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("could not slash {Offender} ({Subject}): {Error}", offender, slashSubject, e.Message);
        }
    }

    private async Task SlashAsync(string kind, AccountId offender, AccountId? winner, string subject, string reason, IReadOnlyList<SignedEnvelope> evidence,
        CancellationToken cancellationToken)
    {
        try
        {
            await referee.SlashAsync(kind, offender, winner, subject, reason, evidence, cancellationToken);
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("could not slash {Offender} ({Subject}): {Error}", offender, subject, e.Message);
        }
    }

    private async Task VerifyAsync(JobRecord job, JobSpec spec, TrainWorkload train, CancellationToken cancellationToken)
    {
        (LeaseRecord? lease, Dictionary<string, string> byPath) = await ResultOfAsync(job.Id, cancellationToken);
        if (lease is null || !byPath.TryGetValue("out/commitments.json", out string? commitmentsCid))
        {
            await EventAsync(job.Id, "verification_skipped", "proof of learning: the job published no out/commitments.json (list out/* in its outputs), so it cannot be checked");
            return;
        }

        List<CheckpointCommitment> commitments;
        try
        {
            commitments = [.. JsonSerializer.Deserialize<List<JsonElement>>(await ReadAsync(commitmentsCid, cancellationToken))!
                .Select(e => new CheckpointCommitment(e.GetProperty("step").GetInt32(), e.GetProperty("root").GetString()!))];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await EventAsync(job.Id, "verification_failed", $"proof of learning: the published commitments could not be read: {e.Message}");
            return;
        }

        // A resumed run (workload.train.resumeFrom) starts from the tenant's checkpoint input: its commitments are the
        // schedule's steps after it, and its first segment starts there.
        int startStep = 0;
        string? resumeCid = null, resumeRoot = null;
        if (train.ResumeFrom is { } resume)
        {
            try
            {
                resumeCid = spec.Workload.Inputs.First(i => i.Name == resume).Cid!;
                TrainingState resumed = WorkloadRunner.ReadCheckpoint(await ReadAsync(resumeCid, cancellationToken));
                (startStep, resumeRoot) = (resumed.Step, resumed.RootHex());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: the checkpoint the job resumed from cannot be read: {e.Message}");
                return;
            }
        }

        IReadOnlyList<int> schedule = [.. TrainingRunVerifier.Schedule(WorkloadRunner.OptionsFor(train, new ComputeOptions { Threads = 1 })).Where(step => step > startStep)];
        if (!schedule.SequenceEqual(commitments.Select(c => c.Step)))
        {
            await FailAsync(job, lease, "proof_of_learning", "schedule",
                $"proof of learning: the commitments are for steps {string.Join(", ", commitments.Select(c => c.Step).Take(8))}…, not the job's schedule {string.Join(", ", schedule.Take(8))}…",
                null, cancellationToken);
            return;
        }

        string provider = lease.ProviderId;
        // Drawn now, after the provider committed, and kept: a restart mid-check samples the same segments and intervals.
        (ulong seed, double q, bool firstDraw) = await DrawAsync(job.Id, Sampling.Probability(provider), cancellationToken);
        var random = new Philox(seed, 0, 0);
        List<int> sample = [.. Enumerable.Range(0, commitments.Count).Where(_ => random.NextFloat() < q)];

        // The checkpoints the sample starts from, and the last one (its engine version says whether the network can judge
        // the run at all). Only what the job published can be judged: a checkpoint its outputs left out, or one made by
        // another engine version, makes the run unverifiable — skipped, never slashed. A published start checkpoint that
        // does not hash to its commitment is the provider's own signed contradiction: the hub judges it without a validator.
        IEnumerable<int> needed = sample.Where(i => i > 0).Select(i => commitments[i - 1].Step).Append(commitments.Count > 0 ? commitments[^1].Step : 0);
        foreach (int step in needed.Where(step => step > 0).Distinct().Order())
        {
            string file = WorkloadRunner.CheckpointFileName(step);
            if (!byPath.TryGetValue("out/" + file, out string? cid))
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: the job's outputs do not include {file} (list out/* to make train jobs verifiable)");
                return;
            }

            string committed = commitments.First(c => c.Step == step).RootHex;
            string? problem;
            try
            {
                TrainingState state = WorkloadRunner.ReadCheckpoint(await ReadAsync(cid, cancellationToken));
                problem = state.Step == step && state.RootHex() == committed ? null : $"the checkpoint published for step {step} does not hash to the committed root {committed}";
            }
            catch (WorkloadException e)
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: {e.Message}");
                return;
            }
            catch (Exception e) when (e is Kumo.Tensor.Formats.SafeTensorsFormatException or IOException or InvalidDataException)
            {
                problem = $"the checkpoint published for step {step} cannot be read: {e.Message}";
            }

            int failed = commitments.FindIndex(c => c.Step == step) + 1;
            if (problem is not null && (sample.Contains(failed) || step == commitments[^1].Step))
            {
                Sampling.RecordCaught(provider);
                await FailAsync(job, lease, "proof_of_learning", $"segment {failed}", $"proof of learning: segment {failed}: {problem}", null, cancellationToken);
                await ResumePointAsync(job, failed >= 2 ? commitments[failed - 2].Step : startStep, byPath); // the commitment at `step` is the bad one
                return;
            }
        }

        // The root after every c-th step (out/step-roots.json, signed with the result): a sampled segment is then checked
        // on one interval between two of them rather than whole. Roots that contradict commitments.json, or that leave
        // a checkpoint out, are the provider's own signed contradiction; a file that does not read only costs the cheaper
        // check (whole segments instead).
        StepRoots? stepRoots = null;
        string? stepRootsNote = null;
        if (byPath.TryGetValue("out/" + WorkloadRunner.StepRootsFileName, out string? stepRootsCid))
        {
            try
            {
                stepRoots = StepRoots.Parse(await ReadAsync(stepRootsCid, cancellationToken));
                bool covers = stepRoots.FirstStep == startStep + stepRoots.Every && stepRoots.LastStep == train.Steps;
                int bad = covers ? commitments.FindIndex(c => !stepRoots.Covers(c.Step) || stepRoots.RootAfter(c.Step) != c.RootHex) : 0;
                if (bad >= 0)
                {
                    string contradiction = !covers
                        ? $"step-roots.json covers steps {stepRoots.FirstStep}–{stepRoots.LastStep} every {stepRoots.Every}, not the run's {startStep + 1}–{train.Steps}"
                        : !stepRoots.Covers(commitments[bad].Step)
                            ? $"step-roots.json (every {stepRoots.Every} steps from {stepRoots.FirstStep}) has no root after checkpoint step {commitments[bad].Step}"
                            : $"step-roots.json has {stepRoots.RootAfter(commitments[bad].Step)} after step {commitments[bad].Step}, commitments.json {commitments[bad].RootHex}";
                    Sampling.RecordCaught(provider);
                    await FailAsync(job, lease, "proof_of_learning", "step roots", $"proof of learning: {contradiction}", null, cancellationToken);
                    await ResumePointAsync(job, bad >= 1 ? commitments[bad - 1].Step : startStep, byPath); // the last commitment both files agree on
                    return;
                }
            }
            catch (InvalidDataException e)
            {
                stepRoots = null;
                stepRootsNote = $" (its {WorkloadRunner.StepRootsFileName} does not read, so whole segments were re-executed: {e.Message})";
            }
        }

        for (int i = 0; firstDraw && i < commitments.Count; i++)
        {
            Sampling.RecordDelivered(provider); // once per job: a check run again after a restart counts nothing twice
        }

        // With step roots, each sampled segment is spot-checked on one of its commit intervals, drawn uniformly: the
        // validator re-executes the interval's c steps from the state at its start — the segment's checkpoint for the
        // first interval, else the state the provider kept and now reveals, which must hash to the root it published —
        // and compares the root after them. Every interval links two committed roots, so a segment that was not
        // computed has an interval that does not reproduce. A state the provider does not reveal (or that does not hash
        // to its root) only costs a longer check: from the checkpoint to the interval's end.
        async Task<(ValidationTask Task, string Start)> TaskForAsync(int i)
        {
            int from = i == 0 ? startStep : commitments[i - 1].Step;
            string? startCid = i == 0 ? resumeCid : byPath["out/" + WorkloadRunner.CheckpointFileName(from)];
            string? startRoot = i == 0 ? resumeRoot : commitments[i - 1].RootHex;
            if (stepRoots is null)
            {
                return (NewTask(job, new SegmentCheckRequest(i, from, startCid, startRoot, commitments[i].Step, commitments[i].RootHex), null), "its checkpoint");
            }

            int every = stepRoots.Every, intervals = (commitments[i].Step - from) / every;
            int a = from + (every * random.NextInt(intervals)), b = a + every;
            string claimed = stepRoots.RootAfter(b);
            string start = "its checkpoint";
            if (a > from)
            {
                (string? revealed, string? why) = await StateAtAsync(provider, job.Id, a, stepRoots.RootAfter(a), cancellationToken);
                if (revealed is not null)
                {
                    return (NewTask(job, new SegmentCheckRequest(i, a, revealed, stepRoots.RootAfter(a), b, claimed), null), $"the state after step {a} the provider revealed");
                }

                start = $"its checkpoint (the state after step {a} was not revealed: {why})";
            }

            return (NewTask(job, new SegmentCheckRequest(i, from, startCid, startRoot, b, claimed), null), start);
        }

        (ValidationTask Task, string Start)[] planned = await Task.WhenAll(sample.Select(TaskForAsync));
        ValidationTask[] tasks = [.. planned.Select(p => p.Task)];
        Judgement[] judgements = await Task.WhenAll(tasks.Select(t => JudgeAsync(job, provider, $"{job.Id}/segment {t.Segment!.Index}", t, cancellationToken)));
        int trained = train.Steps - startStep;
        static int Steps(ValidationTask t) => t.Segment!.ToStep - t.Segment.FromStep;
        await PayValidatorsAsync(job, judgements.Select(j => (j, Steps(j.Task) / (double)trained)), cancellationToken);
        if (judgements.FirstOrDefault(j => !j.ProviderRight) is { } wrong)
        {
            int segment = wrong.Task.Segment!.Index;
            Sampling.RecordCaught(provider);
            if (wrong.Unreadable)
            {
                await EventAsync(job.Id, "verification_failed", $"proof of learning: segment {segment} could not be checked: {wrong.Detail}");
                return;
            }

            await FailAsync(job, lease, "proof_of_learning", $"segment {segment}",
                $"proof of learning: {wrong.Detail} (checked by {wrong.CheckedBy})", wrong.Catcher, cancellationToken);
            await ResumePointAsync(job, segment == 0 ? startStep : commitments[segment - 1].Step, byPath); // the segment's checkpoint
            return;
        }

        foreach (Judgement j in judgements)
        {
            Remember(new KnownAnswer(j.Task, provider, j.Task.Segment!.ClaimedRoot, Steps(j.Task) / (double)trained));
        }

        // What checking cost next to the work: the steps re-executed, out of the steps this run trained.
        int reexecuted = tasks.Sum(Steps);
        string cost = string.Create(CultureInfo.InvariantCulture, $" ({reexecuted} of the run's {trained} steps re-executed: {1 + ((double)reexecuted / trained):0.000}× its training)");
        await EventAsync(job.Id, "verified", sample.Count == 0
            ? $"proof of learning: no segment of {commitments.Count} drawn this time (q {q:0.00})"
            : stepRoots is null
                ? $"proof of learning: re-executed segment(s) {string.Join(", ", sample)} of {commitments.Count} (q {q:0.00}) from the published checkpoints; every root agrees — "
                  + string.Join("; ", judgements.Select(j => $"{ValidationWork.SegmentSubject(j.Task.Segment!)} by {j.CheckedBy}")) + cost + stepRootsNote
                : $"proof of learning: re-executed one commit interval of segment(s) {string.Join(", ", sample)} of {commitments.Count} (q {q:0.00}) (a root every {stepRoots.Every} steps); every root agrees — "
                  + string.Join("; ", judgements.Select((j, n) => $"{ValidationWork.SegmentSubject(j.Task.Segment!)} from {planned[n].Start}, by {j.CheckedBy}")) + cost);
    }

    /// <summary>
    /// The CID of the state after <paramref name="step"/> of <paramref name="jobId"/> as its provider reveals it, checked to
    /// be at that step and to hash to the root it published there; else null and why.
    /// </summary>
    private async Task<(string? Cid, string? Why)> StateAtAsync(string provider, string jobId, int step, string root, CancellationToken cancellationToken)
    {
        (string? cid, string? why) = await reveals.RequestAsync(provider, jobId, step, cancellationToken);
        if (cid is null)
        {
            return (null, why);
        }

        try
        {
            TrainingState state = WorkloadRunner.ReadCheckpoint(await ReadAsync(cid, cancellationToken));
            string revealed = state.RootHex();
            return state.Step == step && revealed == root
                ? (cid, null)
                : (null, $"what it revealed ({cid}) is the state after step {state.Step} with root {revealed}, not the root {root} it published after step {step}");
        }
        catch (Exception e) when (e is WorkloadException or Kumo.Tensor.Formats.SafeTensorsFormatException or IOException or InvalidDataException or ApiProblem)
        {
            return (null, $"what it revealed ({cid}) does not read as a state: {e.Message}");
        }
    }

    /// <summary>
    /// Where a failed run can be resumed: the start of its first wrong segment, a state both sides of the check agreed on.
    /// The tenant continues from there with <c>kumo job resume</c> (a new job it signs; the hub cannot spend its escrow).
    /// </summary>
    private async Task ResumePointAsync(JobRecord job, int step, Dictionary<string, string> byPath)
    {
        string file = "out/" + WorkloadRunner.CheckpointFileName(step);
        await EventAsync(job.Id, "resume_point", step > 0 && byPath.TryGetValue(file, out string? cid)
            ? $"the last good checkpoint is {file} at step {step} ({cid}): continue with `kumo job resume {job.Id}`"
            : $"no good checkpoint before the first wrong segment: run the job again from the start (`kumo job resume {job.Id}` resubmits it)");
    }

    /// <summary>
    /// An <c>infer</c> job: a sample of its prediction rows, or of its generated tokens (each from the provider's own
    /// prefix), 5 % and at least one, recomputed bitwise (<see cref="Kumo.Verification.Inference.InferenceSpotCheck"/>).
    /// </summary>
    private async Task VerifyInferenceAsync(JobRecord job, JobSpec spec, InferWorkload infer, CancellationToken cancellationToken)
    {
        (LeaseRecord? lease, Dictionary<string, string> outputs) = await ResultOfAsync(job.Id, cancellationToken);
        string? predictionsCid = outputs.GetValueOrDefault("out/predictions.csv");
        string? generatedCid = outputs.GetValueOrDefault("out/generated.txt");
        string? modelCid = spec.Workload.Inputs.FirstOrDefault(i => i.Name == infer.Model)?.Cid;
        string? dataCid = infer.Data is { } data ? spec.Workload.Inputs.FirstOrDefault(i => i.Name == data)?.Cid : null;
        if (lease is null || modelCid is null || (predictionsCid is null && generatedCid is null) || (predictionsCid is not null && dataCid is null))
        {
            await EventAsync(job.Id, "verification_skipped", "inference check: the job published neither out/predictions.csv nor out/generated.txt");
            return;
        }

        // How many rows or tokens there are to sample from (the check itself is the validator's).
        string unit = generatedCid is not null ? "tokens" : "rows";
        int total, promptChars = 0;
        try
        {
            if (generatedCid is not null)
            {
                string prompt = dataCid is not null ? System.Text.Encoding.UTF8.GetString(await ReadAsync(dataCid, cancellationToken)) : infer.Prompt ?? "";
                string text = System.Text.Encoding.UTF8.GetString(await ReadAsync(generatedCid, cancellationToken));
                (_, _, string? vocabulary) = WorkloadRunner.ReadModel((await content.OpenAsync(modelCid, cancellationToken)).Path);
                total = text.StartsWith(prompt, StringComparison.Ordinal) && vocabulary is not null ? new CharVocabulary(vocabulary).Encode(text[prompt.Length..]).Length : 1;
                promptChars = prompt.Length;
            }
            else
            {
                total = System.Text.Encoding.UTF8.GetString(await ReadAsync(predictionsCid!, cancellationToken)).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length - 1;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await EventAsync(job.Id, "verification_failed", $"inference check: the published output could not be read against the model: {e.Message}");
            return;
        }

        (ulong seed, double q, _) = await DrawAsync(job.Id, InferenceQ, cancellationToken);
        IReadOnlyList<int> indices = Kumo.Verification.Inference.InferenceSpotCheck.Sample(Math.Max(1, total), q, seed);
        ValidationTask task = NewTask(job, null, new InferenceCheckRequest((generatedCid ?? predictionsCid)!, unit, indices));
        Judgement judgement = await JudgeAsync(job, lease.ProviderId, $"{job.Id}/inference", task, cancellationToken);
        await PayValidatorsAsync(job, [(judgement, indices.Count / (double)Math.Max(1, total))], cancellationToken);
        if (judgement.ProviderRight)
        {
            Remember(new KnownAnswer(task, lease.ProviderId, task.Inference!.OutputCid, indices.Count / (double)Math.Max(1, total), promptChars));
            await EventAsync(job.Id, "verified", $"inference check by {judgement.CheckedBy}: {judgement.Detail}");
        }
        else if (judgement.Unreadable)
        {
            await EventAsync(job.Id, "verification_failed", $"inference check: the published output could not be checked: {judgement.Detail}");
        }
        else
        {
            await FailAsync(job, lease, "inference", judgement.Subject, $"inference check: {judgement.Detail} (checked by {judgement.CheckedBy})", judgement.Catcher, cancellationToken);
        }
    }

    /// <summary>
    /// What checking one piece of work concluded, and who did it; <paramref name="Report"/>: the signed report of the
    /// validator that checked it, when its answer stood (what it is paid on).
    /// </summary>
    private sealed record Judgement(ValidationTask Task, bool ProviderRight, string Subject, string Detail, string CheckedBy, AccountId? Catcher,
        bool Unreadable = false, SignedEnvelope? Report = null);

    /// <summary>
    /// Pays each validator whose answer stood, from the network fee pool, for the share of the job's work it re-did
    /// (<see cref="RefereeService.RewardValidatorAsync"/>), and records it as a <c>validators_paid</c> event.
    /// </summary>
    private async Task PayValidatorsAsync(JobRecord job, IEnumerable<(Judgement Judgement, double Share)> checks, CancellationToken cancellationToken)
    {
        if (!referee.PaysValidators)
        {
            return;
        }

        var lines = new List<string>();
        foreach ((Judgement judgement, double share) in checks)
        {
            if (judgement.Report is not { } report)
            {
                continue;
            }

            (long paid, string? why) = await referee.RewardValidatorAsync(report, job.Id, share, cancellationToken);
            lines.Add(paid > 0
                ? string.Create(CultureInfo.InvariantCulture, $"{report.Signer} {paid} µKUMO for {judgement.Subject} ({share * 100:0.##}% of the job's work)")
                : $"{report.Signer} nothing for {judgement.Subject}: {why}");
        }

        if (lines.Count > 0)
        {
            await EventAsync(job.Id, "validators_paid", "from the network fee pool: " + string.Join("; ", lines));
        }
    }

    /// <summary>
    /// Checked work whose right answer is known (two parties agreed on it), the material of canaries: a segment and its
    /// end root, or an inference sample and the output it was recomputed from (<paramref name="PromptChars"/>: where a
    /// generation's own characters begin). <paramref name="Share"/> is the part of its job's work that checking it
    /// re-does: what a validator that answers its canary right is paid for.
    /// </summary>
    private sealed record KnownAnswer(ValidationTask Task, string Provider, string Truth, double Share, int PromptChars = 0);

    private ValidationTask NewTask(JobRecord job, SegmentCheckRequest? segment, InferenceCheckRequest? inference) =>
        new($"vt-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}", job.Id, job.SpecJson,
            time.GetUtcNow().Add(options.ValidationDeadline).ToUnixTimeMilliseconds(), segment, inference);

    private ValidationTask Renew(ValidationTask task) =>
        task with { TaskId = $"vt-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}", DeadlineMs = time.GetUtcNow().Add(options.ValidationDeadline).ToUnixTimeMilliseconds() };

    /// <summary>
    /// Checks one piece of work: a random bonded validator (never the provider) re-executes it. Approval settles it. A
    /// rejection is a dispute, which the referee settles by re-executing the same work itself: if the provider's claim
    /// reproduces, the validator accused falsely and is slashed on its signed report; otherwise the provider was wrong
    /// and the validator earned the bounty. A validator that misses the deadline is replaced (up to three); with none
    /// available, the hub checks the work itself. Canary assignments the pool hands out on the way get known-answer
    /// tasks.
    /// </summary>
    private async Task<Judgement> JudgeAsync(JobRecord job, string provider, string workKey, ValidationTask task, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            ValidatorAssignment? assignment = validators.Assign(workKey, provider);
            for (int draws = 0; assignment is { IsCanary: true } && draws < 10; draws++)
            {
                // The pool slipped in a canary: that validator gets a known-answer task alongside (one per piece of work is
                // plenty), and the real work is drawn again.
                if (draws == 0)
                {
                    StartCanary(assignment);
                }
                else
                {
                    validators.Withdraw(assignment);
                }

                assignment = validators.Assign(workKey, provider);
            }

            if (assignment is { IsCanary: true })
            {
                validators.Withdraw(assignment);
                assignment = null;
            }

            if (assignment is null)
            {
                break;
            }

            ValidationTask attemptTask = Renew(task);
            SignedEnvelope? signed = await validators.RequestAsync(assignment, attemptTask, cancellationToken);
            if (signed is null)
            {
                continue; // missed: somebody else
            }

            ValidationReport report = signed.ReadPayload<ValidationReport>();
            string validator = $"validator {assignment.Validator}";
            if (report.Approves)
            {
                return new Judgement(task, true, report.Subject, report.Detail, validator, null, Report: signed);
            }

            if (attemptTask.Segment is not null && report.Computed is not null)
            {
                Judgement? settled = await DisputeAsync(job, provider, assignment.Validator, attemptTask, signed, cancellationToken);
                if (settled is not null)
                {
                    return settled;
                }

                continue; // the challenger forfeited: the segment is still unjudged, ask somebody else
            }

            (ValidationReport? mine, string? unreadable) = await RefereeAsync(attemptTask, cancellationToken);
            if (mine is null)
            {
                return new Judgement(task, false, report.Subject, unreadable!, $"{validator} and the referee", null, Unreadable: true);
            }

            if (mine.Approves)
            {
                if (await validators.ExpelAsync(assignment.Validator))
                {
                    await SlashAsync(ValidatorFaults.FalseAccusation, AccountId.Parse(assignment.Validator), AccountId.Parse(provider),
                        $"job {job.Id}/{mine.Subject}/accused by {assignment.Validator}",
                        $"validator {assignment.Validator} rejected {mine.Subject} of job {job.Id} ({report.Detail}); the referee re-executed it and it reproduces the provider's claim",
                        [signed], cancellationToken);
                    await EventAsync(job.Id, "validator_slashed", $"{validator} rejected {mine.Subject} falsely (the referee reproduced the provider's claim) and was slashed");
                }

                return new Judgement(task, true, mine.Subject, mine.Detail, $"the referee, after {validator} accused the provider falsely", null);
            }

            return new Judgement(task, false, mine.Subject, mine.Detail, $"{validator}, confirmed by the referee", AccountId.Parse(assignment.Validator), Report: signed);
        }

        (ValidationReport? own, string? problem) = await RefereeAsync(task, cancellationToken);
        return own is null
            ? new Judgement(task, false, "output", problem!, "the hub", null, Unreadable: true)
            : new Judgement(task, own.Approves, own.Subject, own.Detail, "the hub (no validator available)", null);
    }

    /// <summary>
    /// A validator rejected a segment with a root of its own: the provider and the validator play the refereed dispute
    /// (<see cref="DisputeService"/>) and the loser is slashed — the provider by the caller (on its signed result, the
    /// bounty to the validator), a challenger here, on its signed report and its own signed claims in the game. Null when
    /// the challenger forfeited by missing a round: the segment still needs a judge.
    /// </summary>
    private async Task<Judgement?> DisputeAsync(JobRecord job, string provider, string validator, ValidationTask task, SignedEnvelope report,
        CancellationToken cancellationToken)
    {
        SegmentCheckRequest segment = task.Segment!;
        string subject = ValidationWork.SegmentSubject(segment);
        string runKey = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(job.Id)));
        DisputeOutcome outcome;
        try
        {
            outcome = await disputes.RunAsync(runKey, task, provider, validator, cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or WorkloadException or ApiProblem)
        {
            logger.LogWarning("job {Job}: the dispute over {Subject} could not be played: {Error}", job.Id, subject, e.Message);
            return null;
        }

        string where = outcome.Step is { } step ? $" at step {step}" + (outcome.Operator is { } op ? $", operator {op} ({outcome.OperatorKind})" : "") : "";
        await EventAsync(job.Id, "dispute", $"{subject}: {validator} challenged; {Names.Of(outcome.Verdict)}{where} after {outcome.Rounds} bisection round(s): {outcome.Reason}");

        bool challengerLost = outcome.Losers.Any(l => l.Value == validator);
        if (challengerLost && await validators.ExpelAsync(validator))
        {
            SignedEnvelope[] evidence = [report, .. outcome.Evidence.Where(e => e.Signer.Value == validator)];
            await SlashAsync(ValidatorFaults.LostDispute, AccountId.Parse(validator), outcome.Winner, $"job {job.Id}/{subject}/dispute {outcome.DisputeId}",
                $"dispute {outcome.DisputeId} over {subject} of job {job.Id}: {Names.Of(outcome.Verdict)}: {outcome.Reason}", evidence, cancellationToken);
            await EventAsync(job.Id, "validator_slashed", $"validator {validator} lost the dispute over {subject} and was slashed");
        }

        return outcome.Verdict switch
        {
            DisputeVerdict.ProviderWrong or DisputeVerdict.ProviderTimedOut or DisputeVerdict.BothWrong =>
                new Judgement(task, false, subject, $"{subject}: lost the refereed dispute ({Names.Of(outcome.Verdict)}{where}): {outcome.Reason}",
                    $"validator {validator}, upheld in dispute {outcome.DisputeId}", outcome.Verdict == DisputeVerdict.BothWrong ? null : AccountId.Parse(validator),
                    Report: outcome.Verdict == DisputeVerdict.BothWrong ? null : report),
            DisputeVerdict.ChallengerTimedOut => null,
            _ => new Judgement(task, true, subject, $"{subject}: the provider won the refereed dispute ({outcome.Reason})",
                $"the referee, after validator {validator} challenged it and lost dispute {outcome.DisputeId}", null),
        };
    }

    /// <summary>
    /// Gives a canary assignment a known-answer task — a segment, or an inference sample, of another job whose answer two
    /// parties established — with the right claim (it must be approved) or a wrong one (it must be rejected): a made-up
    /// end root, or a copy of the output with one sampled row or token changed. The pool decided which. A validator that
    /// gets it wrong is slashed on its signed report. With no known answer yet, the canary is withdrawn.
    /// </summary>
    private void StartCanary(ValidatorAssignment assignment)
    {
        KnownAnswer? known;
        lock (_known)
        {
            KnownAnswer[] candidates = [.. _known.Where(k => k.Provider != assignment.Validator)];
            known = candidates.Length == 0 ? null : candidates[RandomNumberGenerator.GetInt32(candidates.Length)];
        }

        if (known is null)
        {
            validators.Withdraw(assignment);
            return;
        }

        bool expectsApproval = assignment.CanaryExpectsApproval;
        _ = Task.Run(async () =>
        {
            ValidationTask? canary = null;
            try
            {
                (canary, string claim) = await CanaryTaskAsync(known, expectsApproval);
                SignedEnvelope? signed = await validators.RequestAsync(assignment, canary, CancellationToken.None);
                if (signed is null)
                {
                    return;
                }

                ValidationReport report = signed.ReadPayload<ValidationReport>();
                if (report.Approves == expectsApproval)
                {
                    logger.LogDebug("validator {Validator} passed canary {Task}", assignment.Validator, canary.TaskId);
                    await PayCanaryAsync(known, canary, signed);
                    return;
                }

                if (!await validators.ExpelAsync(assignment.Validator))
                {
                    return; // already slashed for another wrong answer
                }

                string truth = expectsApproval ? "right" : "wrong";
                string subject = canary.Segment is { } segment ? ValidationWork.SegmentSubject(segment) : $"{canary.Inference!.Indices.Count} sampled {canary.Inference.Unit}";
                string answer = canary.Segment is not null ? $"whose end root is known to be {known.Truth}" : $"whose checked output is {known.Truth}";
                await SlashAsync(ValidatorFaults.Canary, AccountId.Parse(assignment.Validator), null, $"canary {canary.TaskId}",
                    $"validator {assignment.Validator} {(report.Approves ? "approved" : "rejected")} a {truth} claim ({claim}) for {subject} of job {canary.JobId}, {answer}",
                    [signed], CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning(e, "canary {Task} for {Validator} failed", canary?.TaskId ?? "(not made)", assignment.Validator);
                validators.Withdraw(assignment);
            }
        });
    }

    /// <summary>
    /// Pays a validator that answered a canary right as it would be paid for the same check of real work: from the network
    /// fee pool, the share of the known job's work it re-did, within that job's cap for checks
    /// (<see cref="RefereeService.RewardValidatorAsync"/>; the ledger sees an ordinary validation reward of that job, on
    /// the validator's signed report). A canary it is not paid for would be work that only costs it — and, where only
    /// canaries go unpaid, a way to tell them apart afterwards. The known job gets a <c>validators_paid</c> event.
    /// </summary>
    private async Task PayCanaryAsync(KnownAnswer known, ValidationTask canary, SignedEnvelope report)
    {
        if (!referee.PaysValidators)
        {
            return;
        }

        string subject = canary.Segment is { } segment ? ValidationWork.SegmentSubject(segment) : $"{canary.Inference!.Indices.Count} sampled {canary.Inference.Unit}";
        (long paid, string? why) = await referee.RewardValidatorAsync(report, canary.JobId, known.Share, CancellationToken.None);
        await EventAsync(canary.JobId, "validators_paid", paid > 0
            ? string.Create(CultureInfo.InvariantCulture,
                $"from the network fee pool: {report.Signer} {paid} µKUMO for a known-answer check (canary) of {subject} ({known.Share * 100:0.##}% of the job's work)")
            : $"from the network fee pool: {report.Signer} nothing for a known-answer check (canary) of {subject}: {why}");
    }

    /// <summary>The canary task made from <paramref name="known"/>, and its claim in words.</summary>
    private async Task<(ValidationTask Task, string Claim)> CanaryTaskAsync(KnownAnswer known, bool expectsApproval)
    {
        if (known.Task.Segment is { } segment)
        {
            string root = expectsApproval ? known.Truth : Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            return (Renew(known.Task) with { Segment = segment with { ClaimedRoot = root } }, root);
        }

        InferenceCheckRequest check = known.Task.Inference!;
        if (expectsApproval)
        {
            return (Renew(known.Task), $"output {known.Truth}");
        }

        (byte[] wrong, int changed) = Kumo.Verification.Inference.InferenceCanary.WrongOutput(await ReadAsync(known.Truth, CancellationToken.None),
            check.Unit, check.Indices, known.PromptChars);
        string cid = await content.StoreAsync(wrong, CancellationToken.None);
        string unit = check.Unit == "rows" ? "row" : "token";
        return (Renew(known.Task) with { Inference = check with { OutputCid = cid } }, $"output {cid}, its {unit} {changed} changed");
    }

    private void Remember(KnownAnswer answer)
    {
        lock (_known)
        {
            _known.Add(answer);
            if (_known.Count > 256)
            {
                _known.RemoveAt(0);
            }
        }
    }

    /// <summary>
    /// The referee's own recomputation of a task (one at a time, off the request path). Null with the reason when the
    /// published content cannot be read as what the job says it is.
    /// </summary>
    private async Task<(ValidationReport? Report, string? Unreadable)> RefereeAsync(ValidationTask task, CancellationToken cancellationToken)
    {
        await _refereeCpu.WaitAsync(cancellationToken);
        try
        {
            JobSpec spec = Jobs.JobService.ParseSpec(task.SpecJson);
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string cid in spec.Workload.Inputs.Select(i => i.Cid).Append(task.Segment?.StartCheckpointCid).Append(task.Inference?.OutputCid).OfType<string>().Distinct())
            {
                paths[cid] = (await content.OpenAsync(cid, cancellationToken)).Path;
            }

            return (await Task.Run(() => ValidationWork.Run(task, cid => paths[cid], new ComputeOptions { Threads = 1 }, cancellationToken), cancellationToken), null);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException or WorkloadException or KeyNotFoundException or IndexOutOfRangeException
            or Kumo.Tensor.Formats.SafeTensorsFormatException or ArgumentException)
        {
            return (null, e.Message);
        }
        finally
        {
            _refereeCpu.Release();
        }
    }

    private async Task<byte[]> ReadAsync(string cid, CancellationToken cancellationToken) =>
        await File.ReadAllBytesAsync((await content.OpenAsync(cid, cancellationToken)).Path, cancellationToken);

    /// <summary>
    /// The job's sampling draw: the one stored by an earlier check of it (a hub that restarted mid-check), or a new one
    /// (<paramref name="q"/> and fresh randomness), stored before anything is sampled. <c>First</c> is false when an
    /// earlier check drew it.
    /// </summary>
    private async Task<(ulong Seed, double Q, bool First)> DrawAsync(string jobId, double q, CancellationToken cancellationToken)
    {
        string mine = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        VerificationDrawRecord draw = await store.WriteBatchedAsync(async tx =>
        {
            await tx.InsertVerificationDrawAsync(new VerificationDrawRecord(jobId, mine, q, time.GetUtcNow().ToUnixTimeMilliseconds()));
            return (await tx.GetVerificationDrawAsync(jobId))!;
        }, cancellationToken);
        if (draw.Seed != mine)
        {
            logger.LogInformation("job {Job}: checking with the draw an earlier check made (q {Q:0.00}): the same work as before the restart", jobId, draw.Q);
        }

        return (Convert.ToUInt64(draw.Seed, 16), draw.Q, draw.Seed == mine);
    }

    private async Task EventAsync(string jobId, string kind, string detail)
    {
        await using (IHubTransaction tx = await store.BeginAsync(CancellationToken.None))
        {
            await tx.AddJobEventAsync(new JobEventRecord(jobId, time.GetUtcNow().ToUnixTimeMilliseconds(), kind, detail));
            await tx.CommitAsync();
        }

        logger.LogInformation("job {Job}: {Kind}: {Detail}", jobId, kind, detail);
        signals.JobChanged(jobId);
    }
}
