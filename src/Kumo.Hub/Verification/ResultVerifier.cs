using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Hub.Content;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Randomness;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Learning;
using Kumo.Verification.Validators;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// Checks finished built-in AI jobs: proof of learning for <c>train</c> jobs, and spot checks of classification
/// <c>infer</c> jobs (sampled rows recomputed bitwise). For train jobs: The provider's signed result names (by CID) its
/// <c>commitments.json</c> and a checkpoint file per commitment; once the job has succeeded, segments are sampled —
/// with probability 0.74 while the provider has fewer than 60 verified segments, 0.05 after (<see cref="SegmentSampling"/>)
/// — from randomness drawn after the result, and re-executed from the published checkpoints. Agreement is recorded as a
/// <c>verified</c> job event; a mismatch as <c>verification_failed</c>, and the referee slashes the provider on its signed
/// result, the bounty going to the job's tenant as compensation for the bad work. Today the hub itself re-executes (one thread, off the request path); delegating segments to bonded validators
/// (docs/PROOF-OF-LEARNING.md) is the next step.
/// </summary>
public sealed class ResultVerifier(
    IHubStore store,
    ContentStore content,
    RefereeService referee,
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

            int verified = 0;
            foreach (JobRecord job in jobs.Where(j => j.State == JobState.Succeeded && !_done.Contains(j.Id)))
            {
                _done.Add(job.Id);
                JobSpec spec = Jobs.JobService.ParseSpec(job.SpecJson);
                if (spec.Workload.Train is null && spec.Workload.Infer is null)
                {
                    continue;
                }

                await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
                {
                    if ((await reader.ListJobEventsAsync(job.Id)).Any(e => e.Kind is "verified" or "verification_failed" or "verification_skipped"))
                    {
                        continue; // done before a restart
                    }
                }

                if (spec.Workload.Train is { } train)
                {
                    await VerifyAsync(job, spec, train, cancellationToken);
                }
                else
                {
                    await VerifyInferenceAsync(job, spec, spec.Workload.Infer!, cancellationToken);
                }

                verified++;
            }

            return verified;
        }
        finally
        {
            _pass.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.VerifyTraining)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.SweepInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await RunOnceAsync(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "a training verification pass failed");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The lease whose signed result the job's outputs come from, and those outputs by path.</summary>
    private async Task<(LeaseRecord? Lease, Dictionary<string, string> Outputs)> ResultOfAsync(string jobId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        LeaseRecord? lease = (await reader.ListLeasesForJobAsync(jobId)).LastOrDefault(l => l.CloseReason == CloseReason.Completed && l.ResultEnvelope is not null);
        return (lease, (await reader.ListOutputsAsync(jobId)).ToDictionary(o => o.Path, o => o.Cid, StringComparer.Ordinal));
    }

    /// <summary>Records the failure and has the referee slash the provider on its signed result; the bounty compensates the tenant.</summary>
    private async Task FailAsync(JobRecord job, LeaseRecord lease, string kind, string subject, string reason, CancellationToken cancellationToken)
    {
        await EventAsync(job.Id, "verification_failed", reason);
        SignedEnvelope signedResult = JsonSerializer.Deserialize<SignedEnvelope>(lease.ResultEnvelope!, KumoJson.Options)!;
        try
        {
            await referee.SlashAsync(kind, AccountId.Parse(lease.ProviderId), AccountId.Parse(job.Tenant), $"job {job.Id}/{subject}", reason,
                [signedResult], cancellationToken);
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("could not slash {Provider} for job {Job}: {Error}", lease.ProviderId, job.Id, e.Message);
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

        string? dataCid = spec.Workload.Inputs.FirstOrDefault(i => i.Name == train.Data)?.Cid;
        List<CheckpointCommitment> commitments;
        TrainingData data;
        try
        {
            commitments = [.. JsonSerializer.Deserialize<List<JsonElement>>(await ReadAsync(commitmentsCid, cancellationToken))!
                .Select(e => new CheckpointCommitment(e.GetProperty("step").GetInt32(), e.GetProperty("root").GetString()!))];
            string dataPath = (await content.OpenAsync(dataCid!, cancellationToken)).Path;
            data = WorkloadRunner.LoadTrainingData(train, dataPath);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await EventAsync(job.Id, "verification_failed", $"proof of learning: the published commitments or the data could not be read: {e.Message}");
            return;
        }

        string provider = lease.ProviderId;
        var random = new Philox(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), 0, 0); // drawn now, after the provider committed
        double q = Sampling.Probability(provider);
        List<int> sample = [.. Enumerable.Range(0, commitments.Count).Where(_ => Sampling.ShouldVerify(provider, random))];

        // The checkpoints the sample starts from, and the last one (its engine version says whether this hub can judge the
        // run at all). Only what the job published can be judged: a checkpoint its outputs left out, or one made by
        // another engine version, makes the run unverifiable here — skipped, never slashed.
        IEnumerable<int> needed = sample.Where(i => i > 0).Select(i => commitments[i - 1].Step).Append(commitments.Count > 0 ? commitments[^1].Step : 0);
        var checkpoints = new Dictionary<int, TrainingState?>();
        foreach (int step in needed.Where(step => step > 0).Distinct())
        {
            string file = WorkloadRunner.CheckpointFileName(step);
            if (!byPath.TryGetValue("out/" + file, out string? cid))
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: the job's outputs do not include {file} (list out/* to make train jobs verifiable)");
                return;
            }

            try
            {
                checkpoints[step] = WorkloadRunner.ReadCheckpoint(await ReadAsync(cid, cancellationToken));
            }
            catch (WorkloadException e)
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: {e.Message}");
                return;
            }
            catch (Exception e) when (e is Kumo.Tensor.Formats.SafeTensorsFormatException or IOException)
            {
                checkpoints[step] = null; // published but unreadable: the provider signed it, so it is judged
            }
        }

        for (int i = 0; i < commitments.Count; i++)
        {
            Sampling.RecordDelivered(provider);
        }

        ModelSpec model = WorkloadRunner.ModelSpecFor(train);
        TrainOptions trainOptions = WorkloadRunner.OptionsFor(train, new ComputeOptions { Threads = 1 });
        TrainingRunVerifier.Result result = await Task.Run(() => TrainingRunVerifier.Verify(model, data, trainOptions, commitments,
            step => checkpoints.GetValueOrDefault(step), sample, cancellationToken), cancellationToken);

        if (result.Agrees)
        {
            await EventAsync(job.Id, "verified", result.Checked.Count == 0
                ? $"proof of learning: no segment of {commitments.Count} drawn this time (q {q:0.00})"
                : $"proof of learning: re-executed segment(s) {string.Join(", ", result.Checked)} of {commitments.Count} ({result.StepsExecuted} steps, q {q:0.00}) from the published checkpoints; every root agrees");
            return;
        }

        Sampling.RecordCaught(provider);
        await FailAsync(job, lease, "proof_of_learning", $"segment {result.FailedSegment}", $"proof of learning: {result.Reason}", cancellationToken);
    }

    /// <summary>
    /// An <c>infer</c> job of a classifier: a sample of its prediction rows (5 %, at least one) recomputed bitwise from
    /// the same model and rows (<see cref="Kumo.Verification.Inference.InferenceSpotCheck"/>). Generation jobs are not
    /// checked here yet.
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

        Kumo.Verification.Inference.InferenceSpotCheck.Outcome outcome;
        try
        {
            (ModelSpec model, IReadOnlyList<Kumo.Tensor.Models.NamedTensor> weights, string? vocabulary) = WorkloadRunner.ReadModel((await content.OpenAsync(modelCid, cancellationToken)).Path);
            if (generatedCid is not null)
            {
                // Generation: each sampled token must be the model's greedy choice after the prompt and the provider's own earlier tokens.
                string prompt = dataCid is not null ? System.Text.Encoding.UTF8.GetString(await ReadAsync(dataCid, cancellationToken)) : infer.Prompt ?? "";
                string text = System.Text.Encoding.UTF8.GetString(await ReadAsync(generatedCid, cancellationToken));
                if (!text.StartsWith(prompt, StringComparison.Ordinal))
                {
                    throw new InvalidDataException("generated.txt does not begin with the job's prompt");
                }

                var chars = new CharVocabulary(vocabulary ?? throw new InvalidDataException("the model has no vocabulary"));
                int[] promptIds = chars.Encode(prompt), generatedIds = chars.Encode(text[prompt.Length..]);
                IReadOnlyList<int> tokens = Kumo.Verification.Inference.InferenceSpotCheck.Sample(generatedIds.Length, InferenceQ, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
                outcome = await Task.Run(() => Kumo.Verification.Inference.InferenceSpotCheck.CheckGeneration(model, weights, promptIds, generatedIds, tokens,
                    new ComputeOptions { Threads = 1 }), cancellationToken);
                await ConcludeInferenceAsync(job, lease, outcome, "tokens", cancellationToken);
                return;
            }

            float[] features;
            await using (FileStream stream = File.OpenRead((await content.OpenAsync(dataCid!, cancellationToken)).Path))
            {
                (features, _) = Digits.Read(stream);
            }

            int[] claimed = [.. System.Text.Encoding.UTF8.GetString(await ReadAsync(predictionsCid!, cancellationToken))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(line => int.Parse(line.Split(',')[1], System.Globalization.CultureInfo.InvariantCulture))];
            IReadOnlyList<int> sample = Kumo.Verification.Inference.InferenceSpotCheck.Sample(claimed.Length, InferenceQ, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)));
            outcome = await Task.Run(() => Kumo.Verification.Inference.InferenceSpotCheck.CheckClassification(model, weights, features, claimed, sample,
                new ComputeOptions { Threads = 1 }), cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await EventAsync(job.Id, "verification_failed", $"inference check: the published predictions could not be read against the model and rows: {e.Message}");
            return;
        }

        await ConcludeInferenceAsync(job, lease, outcome, "rows", cancellationToken);
    }

    private async Task ConcludeInferenceAsync(JobRecord job, LeaseRecord lease, Kumo.Verification.Inference.InferenceSpotCheck.Outcome outcome, string what,
        CancellationToken cancellationToken)
    {
        if (outcome.Agrees)
        {
            await EventAsync(job.Id, "verified", $"inference check: recomputed {outcome.Checked} of {outcome.Total} {what} bit for bit; all agree");
            return;
        }

        await FailAsync(job, lease, "inference", $"{what} {outcome.FirstMismatch}", $"inference check: {outcome.Detail}", cancellationToken);
    }

    private async Task<byte[]> ReadAsync(string cid, CancellationToken cancellationToken) =>
        await File.ReadAllBytesAsync((await content.OpenAsync(cid, cancellationToken)).Path, cancellationToken);

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
