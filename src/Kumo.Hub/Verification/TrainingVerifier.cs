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
public sealed class TrainingVerifier(
    IHubStore store,
    ContentStore content,
    RefereeService referee,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<TrainingVerifier> logger) : BackgroundService
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

    private async Task VerifyAsync(JobRecord job, JobSpec spec, TrainWorkload train, CancellationToken cancellationToken)
    {
        LeaseRecord? lease;
        IReadOnlyList<OutputRecord> outputs;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            lease = (await reader.ListLeasesForJobAsync(job.Id)).LastOrDefault(l => l.CloseReason == CloseReason.Completed && l.ResultEnvelope is not null);
            outputs = await reader.ListOutputsAsync(job.Id);
        }

        var byPath = outputs.ToDictionary(o => o.Path, o => o.Cid, StringComparer.Ordinal);
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
        ulong seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)); // drawn now, after the provider committed
        var random = new Philox(seed, 0, 0);
        double q = Sampling.Probability(provider);
        var sample = new List<int>();
        for (int i = 0; i < commitments.Count; i++)
        {
            if (Sampling.ShouldVerify(provider, random))
            {
                sample.Add(i);
            }

            Sampling.RecordDelivered(provider);
        }

        // Only what the job published can be judged: a checkpoint the tenant's outputs left out, or one made by another
        // engine version, makes the run unverifiable here — skipped, never slashed.
        var checkpoints = new Dictionary<int, TrainingState?>();
        foreach (CheckpointCommitment commitment in commitments)
        {
            if (!byPath.TryGetValue("out/" + WorkloadRunner.CheckpointFileName(commitment.Step), out string? cid))
            {
                await EventAsync(job.Id, "verification_skipped",
                    $"proof of learning: the job's outputs do not include {WorkloadRunner.CheckpointFileName(commitment.Step)} (list out/* to make train jobs verifiable)");
                return;
            }

            try
            {
                checkpoints[commitment.Step] = WorkloadRunner.ReadCheckpoint(await ReadAsync(cid, cancellationToken));
            }
            catch (WorkloadException e)
            {
                await EventAsync(job.Id, "verification_skipped", $"proof of learning: {e.Message}");
                return;
            }
            catch (Exception e) when (e is Kumo.Tensor.Formats.SafeTensorsFormatException or IOException)
            {
                checkpoints[commitment.Step] = null; // published but unreadable: the provider signed it, so it is judged
            }
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
        await EventAsync(job.Id, "verification_failed", $"proof of learning: {result.Reason}");
        SignedEnvelope signedResult = JsonSerializer.Deserialize<SignedEnvelope>(lease.ResultEnvelope!, KumoJson.Options)!;
        try
        {
            await referee.SlashAsync("proof_of_learning", AccountId.Parse(provider), AccountId.Parse(job.Tenant), $"job {job.Id}/segment {result.FailedSegment}",
                result.Reason!, [signedResult], cancellationToken);
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("could not slash {Provider} for job {Job}: {Error}", provider, job.Id, e.Message);
        }
    }

    /// <summary>
    /// An <c>infer</c> job of a classifier: a sample of its prediction rows (5 %, at least one) recomputed bitwise from
    /// the same model and rows (<see cref="Kumo.Verification.Inference.InferenceSpotCheck"/>). Generation jobs are not
    /// checked here yet.
    /// </summary>
    private async Task VerifyInferenceAsync(JobRecord job, JobSpec spec, InferWorkload infer, CancellationToken cancellationToken)
    {
        LeaseRecord? lease;
        IReadOnlyList<OutputRecord> outputs;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            lease = (await reader.ListLeasesForJobAsync(job.Id)).LastOrDefault(l => l.CloseReason == CloseReason.Completed && l.ResultEnvelope is not null);
            outputs = await reader.ListOutputsAsync(job.Id);
        }

        string? predictionsCid = outputs.FirstOrDefault(o => o.Path == "out/predictions.csv")?.Cid;
        string? generatedCid = outputs.FirstOrDefault(o => o.Path == "out/generated.txt")?.Cid;
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

        await EventAsync(job.Id, "verification_failed", $"inference check: {outcome.Detail}");
        SignedEnvelope signedResult = JsonSerializer.Deserialize<SignedEnvelope>(lease.ResultEnvelope!, KumoJson.Options)!;
        try
        {
            await referee.SlashAsync("inference", AccountId.Parse(lease.ProviderId), AccountId.Parse(job.Tenant), $"job {job.Id}/{what} {outcome.FirstMismatch}",
                outcome.Detail!, [signedResult], cancellationToken);
        }
        catch (LedgerRefusedException e)
        {
            logger.LogWarning("could not slash {Provider} for job {Job}: {Error}", lease.ProviderId, job.Id, e.Message);
        }
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
