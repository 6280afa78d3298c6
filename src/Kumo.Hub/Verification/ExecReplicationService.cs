using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Kumo.Hardware;
using Kumo.Hub.Control;
using Kumo.Hub.Leases;
using Kumo.Hub.Market;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Randomness;
using Kumo.Verification.Replication;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// Adaptive replication of <c>exec</c> jobs, live (docs/REPLICATION.md; the policy is <see cref="AdaptiveReplication"/>).
/// When a single-node exec job has succeeded, the job's provider is drawn for replication with probability 1 until it
/// has <see cref="AdaptiveReplication.TrustThreshold"/> consecutive agreeing results on the run's hardware class
/// (<see cref="ExecHardwareClass"/>), 1/n after. A drawn job's same tenant-signed submission is offered as a replica
/// lease at no price to the job (<see cref="LeaseCoordinator.OfferReplicaAsync"/>) to another connected provider of the class; the
/// output manifests (path → CID, from each provider's signed result) are compared. Agreement: <c>verified</c>, both
/// gain trust. Disagreement: a third provider of the class breaks the tie — the majority stands, the odd one out is
/// marked wrong (<c>verification_failed</c> when it was the job's own provider, whose outputs are then replaced by the
/// majority's), loses its trust and takes a reputation
/// failure; the majority are not penalised, and each replica among them is paid what the job paid for its work, from
/// the replication pool that the checked providers' replication fees fill (<see cref="ReplicationFees"/>,
/// <see cref="PayReplicasAsync"/>). Nobody is slashed: a program may be non-deterministic, so being outvoted
/// is not proof of cheating. Without a provider of the class the check is <c>verification_skipped</c>; the job itself
/// succeeded when its own lease did, so a check never holds it up (its outputs are provisional until verified).
/// Progress lives in the store — replica leases name the lease they check, trust counters are in <c>exec_trust</c>,
/// a check ends with one concluding job event — so a restarted hub carries on where it stopped.
/// </summary>
public sealed class ExecReplicationService(
    IHubStore store,
    LeaseCoordinator leases,
    ProviderSessions sessions,
    HardwareProofService hardware,
    ReputationKeeper reputation,
    Ledger.RefereeService referee,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<ExecReplicationService> logger) : BackgroundService
{
    /// <summary>Replica leases offered for one job at most (replicas that do not complete are offered elsewhere until then).</summary>
    public const int MaxReplicaOffers = 4;

    /// <summary>Job events that end a job's check.</summary>
    private static readonly string[] Concluding = ["verified", "verification_failed", "verification_skipped", "verification_inconclusive"];

    private AdaptiveReplication _policy = new();
    private readonly HashSet<string> _done = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _pass = new(1, 1);
    private bool _loaded;

    /// <summary>The draw of whether a trusted provider's job is replicated (tests seed it).</summary>
    internal Philox Random { get; set; } = new(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), 0, 0);

    /// <summary>The policy's counters as this hub holds them (loaded from the store on the first pass).</summary>
    internal AdaptiveReplication Policy => _policy;

    /// <summary>One pass over the succeeded jobs: draws, offers replicas, compares results. Returns how many checks ended.</summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            IReadOnlyList<JobRecord> jobs;
            await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
            {
                if (!_loaded)
                {
                    foreach (ExecTrustRecord trust in await reader.ListExecTrustAsync())
                    {
                        _policy.Restore(trust.ProviderId, trust.HardwareClass, (int)Math.Min(trust.Agreements, int.MaxValue));
                    }

                    _loaded = true;
                }

                jobs = await reader.ListJobsAsync(null, 500);
            }

            int concluded = 0;
            foreach (JobRecord job in jobs.Where(j => j.State == JobState.Succeeded && !_done.Contains(j.Id)))
            {
                if (Jobs.JobService.ParseSpec(job.SpecJson).Workload.Exec is not { } exec)
                {
                    _done.Add(job.Id);
                    continue;
                }

                try
                {
                    if (await StepAsync(job, exec, cancellationToken))
                    {
                        _done.Add(job.Id);
                        concluded++;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    _loaded = false; // the policy may be ahead of the store: reload it next pass
                    _policy = new AdaptiveReplication();
                    throw;
                }
            }

            return concluded;
        }
        finally
        {
            _pass.Release();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync(options.ReplicateExec ? options.SweepInterval : TimeSpan.Zero, time, RunOnceAsync, logger, "an exec replication pass", runAtStart: false, stoppingToken);

    /// <summary>Moves one job's check on by what the store says; true when the check has ended (now or before).</summary>
    private async Task<bool> StepAsync(JobRecord job, ExecWorkload exec, CancellationToken cancellationToken)
    {
        IReadOnlyList<LeaseRecord> all;
        IReadOnlyList<JobEventRecord> events;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            events = await reader.ListJobEventsAsync(job.Id);
            all = await reader.ListLeasesForJobAsync(job.Id);
        }

        if (events.Any(e => Concluding.Contains(e.Kind)))
        {
            return true; // ended before (a restart)
        }

        List<LeaseRecord> primaries = [.. all.Where(l => l.ReplicaOf is null && l.Attempt == job.Attempt && l.CloseReason == CloseReason.Completed)];
        if (primaries.Count != 1 || primaries[0].ResultEnvelope is null)
        {
            await SkipAsync(job.Id, "exec replication: only a job with one completed lease of its own is replicated (not cluster jobs)", cancellationToken);
            return true;
        }

        if (exec.Network)
        {
            await SkipAsync(job.Id, "exec replication: the job has network access, and running it twice could repeat its effects", cancellationToken);
            return true;
        }

        LeaseRecord primary = primaries[0];
        Result first = ResultOf(primary);
        if (first.Outputs.Count == 0)
        {
            await SkipAsync(job.Id, "exec replication: the job produced no outputs, so there is nothing to compare", cancellationToken);
            return true;
        }

        Allocation allocation = JsonSerializer.Deserialize<Allocation>(primary.AllocationJson, KumoJson.Options)!;
        HardwareInventory? inventory = await InventoryOfAsync(primary.ProviderId, cancellationToken);
        if (inventory is null)
        {
            await SkipAsync(job.Id, "exec replication: the job's provider is not registered here", cancellationToken);
            return true;
        }

        string hardwareClass = ExecHardwareClass.Of(inventory, allocation);
        List<LeaseRecord> replicas = [.. all.Where(l => l.ReplicaOf == primary.Id)];
        if (replicas.Any(l => l.State.IsOpen()))
        {
            return false; // a replica is still running
        }

        List<Result> results = [first, .. replicas.Where(l => l.CloseReason == CloseReason.Completed && l.ResultEnvelope is not null).Select(ResultOf)];
        if (replicas.Count == 0)
        {
            double p = _policy.ReplicationProbability(primary.ProviderId, hardwareClass);
            int n = _policy.ConsecutiveAgreements(primary.ProviderId, hardwareClass);
            // One draw per job, kept as an event: a job drawn for replication that waits for a replica (busy class, hub
            // restart) is not drawn again on the next pass, where a second roll at 1/n would let it off unchecked.
            bool drawn = events.Any(e => e.Kind == "replication_drawn");
            if (!drawn && !_policy.ShouldReplicate(primary.ProviderId, hardwareClass, Random))
            {
                await ConcludeAsync(job.Id, "verified",
                    $"exec replication: not replicated this time (provider {primary.ProviderId} has {n} consecutive agreeing results on {hardwareClass}; p {p:0.00})",
                    [], cancellationToken);
                return true;
            }

            if (!drawn)
            {
                await EventAsync(job.Id, "replication_drawn", $"exec replication: drawn for a replica ({hardwareClass}, p {p:0.00}, {n} consecutive agreeing results)",
                    cancellationToken);
            }

            return await ReplicateAsync(job, primary, allocation, hardwareClass, [primary.ProviderId],
                $"{hardwareClass}, p {p:0.00} ({n} consecutive agreeing results)", results, events, cancellationToken);
        }

        if (results.Count == 1)
        {
            // Every replica so far ended without a result (turned down, expired, failed): nothing is known yet.
            return await ReplicateAsync(job, primary, allocation, hardwareClass, [primary.ProviderId, .. replicas.Select(r => r.ProviderId)],
                $"{hardwareClass}, again: the earlier replica(s) did not complete", results, events, cancellationToken, replicas.Count);
        }

        List<ExecOutput> outputs = [.. results.Select(r => new ExecOutput(r.Lease.ProviderId, r.Manifest))];
        ReplicationVerdict verdict = _policy.RecordOutcome(hardwareClass, outputs);
        switch (verdict.Outcome)
        {
            case ReplicationOutcome.NeedsTieBreaker:
                if (!events.Any(e => e.Kind == "replication_disagreed"))
                {
                    await EventAsync(job.Id, "replication_disagreed",
                        $"exec replication: lease {results[1].Lease.Id} on {results[1].Lease.ProviderId} produced other outputs than lease {primary.Id} on " +
                        $"{primary.ProviderId} ({Differences(first, results[1])}); a third provider of {hardwareClass} breaks the tie", cancellationToken);
                }

                return await ReplicateAsync(job, primary, allocation, hardwareClass, [.. all.Where(l => l.Id == primary.Id || l.ReplicaOf == primary.Id).Select(l => l.ProviderId)],
                    $"{hardwareClass}, tie-breaker", results, events, cancellationToken, replicas.Count);

            case ReplicationOutcome.Inconclusive:
                await ConcludeAsync(job.Id, "verification_inconclusive",
                    $"exec replication: three providers of {hardwareClass} produced three different outputs; nobody is shown wrong or penalised, " +
                    "and all three are replicated every time until they agree with someone again", Trust(outputs, hardwareClass), cancellationToken);
                return true;

            default:
                return await JudgeAsync(job, primary, results, verdict, hardwareClass, cancellationToken);
        }
    }

    /// <summary>Two results agree, or a tie-breaker decided: the verdict, trust and reputation in one transaction.</summary>
    private async Task<bool> JudgeAsync(JobRecord job, LeaseRecord primary, List<Result> results, ReplicationVerdict verdict, string hardwareClass,
        CancellationToken cancellationToken)
    {
        List<ExecOutput> outputs = [.. results.Select(r => new ExecOutput(r.Lease.ProviderId, r.Manifest))];
        IReadOnlyList<ExecTrustRecord> trust = Trust(outputs, hardwareClass);
        List<Result> majority = [.. results.Where(r => r.Manifest == verdict.AcceptedCid)];
        string agreeing = string.Join(", ", majority.Select(r => $"lease {r.Lease.Id} on {r.Lease.ProviderId}"));
        if (verdict.Wrong.Count == 0)
        {
            await ConcludeAsync(job.Id, "verified",
                $"exec replication: {agreeing} produced the same outputs on {hardwareClass} (manifest {verdict.AcceptedCid}); " +
                $"{primary.ProviderId} now has {_policy.ConsecutiveAgreements(primary.ProviderId, hardwareClass)} consecutive agreeing results", trust,
                cancellationToken);
            await PayReplicasAsync(job.Id, majority, cancellationToken);
            return true;
        }

        Result odd = results.Single(r => verdict.Wrong.Contains(r.Lease.ProviderId));
        string outvoted = $"lease {odd.Lease.Id} on {odd.Lease.ProviderId} was outvoted by {agreeing} on {hardwareClass} ({Differences(majority[0], odd)}); " +
            "its trust is reset and its reputation records a failure (no slash: an exec program may be non-deterministic)";
        if (odd.Lease.Id == primary.Id)
        {
            // The tenant paid for one right run and two providers produced it: the majority's outputs become the job's,
            // in the verdict's own transaction. The outvoted ones stay named here and in the lease's signed result.
            Result stood = majority[0];
            string accepted = string.Join(", ", stood.Outputs.Select(o => $"{o.Path} = {o.Cid}"));
            string rejected = string.Join(", ", odd.Outputs.Select(o => $"{o.Path} = {o.Cid}"));
            await ConcludeAsync(job.Id, "verification_failed",
                $"exec replication: the job's outputs are not the majority's: {outvoted}. The job's outputs are now the majority's, as replica lease " +
                $"{stood.Lease.Id} on {stood.Lease.ProviderId} produced them: {accepted} (the outvoted ones were {(rejected.Length == 0 ? "none" : rejected)})",
                trust, cancellationToken, wrong: odd.Lease.ProviderId,
                outputs: [.. stood.Outputs.Select(o => new OutputRecord(job.Id, o.Path, o.Cid, o.Size))]);
        }
        else
        {
            await ConcludeAsync(job.Id, "verified", $"exec replication: the job's outputs stand (manifest {verdict.AcceptedCid}); the replica {outvoted}", trust,
                cancellationToken, wrong: odd.Lease.ProviderId);
        }

        await PayReplicasAsync(job.Id, majority, cancellationToken);
        return true;
    }

    /// <summary>
    /// Pays each replica among <paramref name="majority"/> — a run whose outputs stood — what the job paid for its work,
    /// from the replication pool that the checked providers' replication fees fill (or, on a network without them, from
    /// the network fee pool like a validator; <see cref="Ledger.RefereeService.RewardReplicaAsync"/>), and records it as
    /// a <c>validators_paid</c> event. An outvoted replica is paid nothing, and neither is the job's own provider (its
    /// escrow paid it).
    /// </summary>
    private async Task PayReplicasAsync(string jobId, IEnumerable<Result> majority, CancellationToken cancellationToken)
    {
        if (!referee.PaysReplicas)
        {
            return;
        }

        var lines = new List<string>();
        foreach (LeaseRecord replica in majority.Select(r => r.Lease).Where(l => l.ReplicaOf is not null && l.AcceptanceEnvelope is not null))
        {
            SignedEnvelope acceptance = JsonSerializer.Deserialize<SignedEnvelope>(replica.AcceptanceEnvelope!, KumoJson.Options)!;
            SignedEnvelope result = JsonSerializer.Deserialize<SignedEnvelope>(replica.ResultEnvelope!, KumoJson.Options)!;
            (long paid, string? why) = await referee.RewardReplicaAsync(acceptance, result, jobId, cancellationToken);
            lines.Add(paid > 0
                ? $"{replica.ProviderId} {paid} µKUMO for replica lease {replica.Id} (it re-ran the whole job)"
                : $"{replica.ProviderId} nothing for replica lease {replica.Id}: {why}");
        }

        if (lines.Count > 0)
        {
            string pool = referee.PaysReplicasFromPool ? "from the replication pool" : "from the network fee pool";
            await EventAsync(jobId, "validators_paid", $"{pool}: " + string.Join("; ", lines), cancellationToken);
        }
    }

    /// <summary>
    /// Offers a replica to a provider of the class not in <paramref name="exclude"/> with room for it. When the class has
    /// other providers but none has room now (busy or paused), the check waits (later passes ask again) until
    /// <see cref="HubOptions.ReplicaWait"/> after the job's own run ended, saying so once with a
    /// <c>replication_waiting</c> event. Without any other provider of the class, after the wait, or after
    /// <see cref="MaxReplicaOffers"/> offers, it ends skipped — or inconclusive when two results already disagree.
    /// </summary>
    private async Task<bool> ReplicateAsync(JobRecord job, LeaseRecord primary, Allocation like, string hardwareClass, IReadOnlyList<string> exclude, string why,
        List<Result> results, IReadOnlyList<JobEventRecord> events, CancellationToken cancellationToken, int offered = 0)
    {
        ((ProviderRecord Provider, Allocation Allocation)? candidate, bool anyOfClass) = offered >= MaxReplicaOffers ? (null, false)
            : await CandidateAsync(like, hardwareClass, exclude, cancellationToken);
        long waited = time.GetUtcNow().ToUnixTimeMilliseconds() - (primary.ClosedAt ?? 0);
        if (candidate is null && anyOfClass && waited < (long)options.ReplicaWait.TotalMilliseconds)
        {
            if (!events.Any(e => e.Kind == "replication_waiting"))
            {
                await EventAsync(job.Id, "replication_waiting",
                    $"exec replication: no other connected provider of {hardwareClass} has room for a {(results.Count == 2 ? "tie-breaker" : "replica")} now; " +
                    $"waiting up to {options.ReplicaWait.TotalMinutes:0} min after the job's run for one", cancellationToken);
            }

            return false;
        }

        if (candidate is { } chosen)
        {
            LeaseRecord? replica = await leases.OfferReplicaAsync(job.Id, primary.Id, chosen.Provider.Id, chosen.Provider.Name, chosen.Allocation,
                chosen.Provider.Simulated && chosen.Allocation.GpuUuids.Count > 0, why, cancellationToken);
            if (replica is null)
            {
                logger.LogWarning("job {Job}: the replica could not be offered", job.Id);
            }

            return false;
        }

        string none = offered >= MaxReplicaOffers ? $"{offered} replica offers made"
            : anyOfClass ? $"no other connected provider of {hardwareClass} had room within {options.ReplicaWait.TotalMinutes:0} min of the job's run"
            : $"no other connected provider of {hardwareClass}";
        if (results.Count == 2)
        {
            List<ExecOutput> pair = [.. results.Select(r => new ExecOutput(r.Lease.ProviderId, r.Manifest))];
            _policy.RecordUnresolved(hardwareClass, pair);
            await ConcludeAsync(job.Id, "verification_inconclusive",
                $"exec replication: two results disagree and no tie-breaker can be had ({none}); nobody is penalised, both providers' trust is reset",
                Trust(pair, hardwareClass), cancellationToken);
            return true;
        }

        await SkipAsync(job.Id, $"exec replication: {none}; the job's outputs are accepted unchecked", cancellationToken);
        return true;
    }

    /// <summary>
    /// A connected, online, unpaused provider of the class with room for the run, chosen at random (null when there is
    /// none), and whether any other connected, online provider of the class exists at all — busy or paused — so that
    /// waiting for room can help.
    /// </summary>
    private async Task<((ProviderRecord Provider, Allocation Allocation)? Chosen, bool AnyOfClass)> CandidateAsync(Allocation like, string hardwareClass,
        IReadOnlyList<string> exclude, CancellationToken cancellationToken)
    {
        IReadOnlyList<ProviderRecord> providers;
        ILookup<string, Allocation> held;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            providers = await reader.ListProvidersAsync();
            held = (await reader.ListOpenLeasesAsync(null)).ToLookup(l => l.ProviderId, l => JsonSerializer.Deserialize<Allocation>(l.AllocationJson, KumoJson.Options)!,
                StringComparer.Ordinal);
        }

        List<(ProviderRecord, Allocation)> fitting = [];
        bool anyOfClass = false;
        foreach (ProviderRecord provider in providers.Where(p => !exclude.Contains(p.Id) && p.Status == ProviderStatus.Online && sessions.IsConnected(p.Id)))
        {
            HardwareInventory inventory = JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options)!;
            if (ExecHardwareClass.Fit(inventory, [], like, hardwareClass) is null)
            {
                continue; // another class, or too small for the run even when idle
            }

            anyOfClass = true;
            if (hardware.MayWork(provider) && ExecHardwareClass.Fit(inventory, [.. held[provider.Id]], like, hardwareClass) is { } allocation)
            {
                fitting.Add((provider, allocation));
            }
        }

        return (fitting.Count == 0 ? null : fitting[RandomNumberGenerator.GetInt32(fitting.Count)], anyOfClass);
    }

    private async Task<HardwareInventory?> InventoryOfAsync(string providerId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        ProviderRecord? provider = await reader.GetProviderAsync(providerId);
        return provider is null ? null : JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options);
    }

    /// <summary>The counters of <paramref name="outputs"/>' providers as the policy now holds them, to store.</summary>
    private List<ExecTrustRecord> Trust(IReadOnlyList<ExecOutput> outputs, string hardwareClass)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        return [.. outputs.Select(o => new ExecTrustRecord(o.Provider, hardwareClass, _policy.ConsecutiveAgreements(o.Provider, hardwareClass), now))];
    }

    /// <summary>
    /// Ends a check unchecked (<c>verification_skipped</c>). First the replication fees the job's provider paid for the
    /// check that did not happen go back to it (<see cref="Ledger.RefereeService.RefundReplicationFeesAsync"/>); the
    /// ledger refuses a second return, so a pass cut short between the two does no harm.
    /// </summary>
    private async Task SkipAsync(string jobId, string detail, CancellationToken cancellationToken)
    {
        long returned = await referee.RefundReplicationFeesAsync(jobId, detail, cancellationToken);
        await ConcludeAsync(jobId, "verification_skipped",
            returned > 0 ? $"{detail}; the {returned} µKUMO its provider paid in replication fees went back to it" : detail, [], cancellationToken);
    }

    /// <summary>
    /// Ends a check: the concluding event, the trust counters, a reputation failure for <paramref name="wrong"/> and, when
    /// the job's own outputs were outvoted, the majority's <paramref name="outputs"/> in their place — in one transaction.
    /// </summary>
    private async Task ConcludeAsync(string jobId, string kind, string detail, IReadOnlyList<ExecTrustRecord> trust, CancellationToken cancellationToken,
        string? wrong = null, IReadOnlyList<OutputRecord>? outputs = null)
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds();
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            foreach (ExecTrustRecord record in trust)
            {
                await tx.UpsertExecTrustAsync(record);
            }

            if (wrong is not null)
            {
                await reputation.RecordInAsync(tx, wrong, success: false, now);
            }

            if (outputs is not null)
            {
                await tx.ReplaceOutputsAsync(jobId, outputs);
            }

            await tx.AddJobEventAsync(new JobEventRecord(jobId, now, kind, detail));
            await tx.CommitAsync();
        }

        logger.LogInformation("job {Job}: {Kind}: {Detail}", jobId, kind, detail);
        signals.JobChanged(jobId);
    }

    private async Task EventAsync(string jobId, string kind, string detail, CancellationToken cancellationToken)
    {
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await tx.AddJobEventAsync(new JobEventRecord(jobId, time.GetUtcNow().ToUnixTimeMilliseconds(), kind, detail));
            await tx.CommitAsync();
        }

        signals.JobChanged(jobId);
    }

    /// <summary>A lease's signed outputs, sorted by path, and their manifest digest (what replicas compare).</summary>
    private static Result ResultOf(LeaseRecord lease)
    {
        LeaseResult result = JsonSerializer.Deserialize<SignedEnvelope>(lease.ResultEnvelope!, KumoJson.Options)!.PayloadAs<LeaseResult>();
        List<OutputFile> outputs = [.. result.Outputs.OrderBy(o => o.Path, StringComparer.Ordinal)];
        string canonical = string.Concat(outputs.Select(o => $"{o.Path}\t{o.Cid}\n"));
        return new Result(lease, outputs, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..32]);
    }

    /// <summary>"out/a.txt: bafy… vs bafy…; out/b.txt: missing vs bafy…" (at most three paths).</summary>
    private static string Differences(Result a, Result b)
    {
        var left = a.Outputs.ToDictionary(o => o.Path, o => o.Cid, StringComparer.Ordinal);
        var right = b.Outputs.ToDictionary(o => o.Path, o => o.Cid, StringComparer.Ordinal);
        List<string> differing = [.. left.Keys.Union(right.Keys).Order(StringComparer.Ordinal)
            .Where(p => left.GetValueOrDefault(p) != right.GetValueOrDefault(p))
            .Select(p => $"{p}: {left.GetValueOrDefault(p) ?? "missing"} vs {right.GetValueOrDefault(p) ?? "missing"}")];
        return differing.Count <= 3 ? string.Join("; ", differing) : string.Join("; ", differing.Take(3)) + $"; and {differing.Count - 3} more";
    }

    /// <summary>One provider's completed run: its lease, signed outputs and their manifest digest.</summary>
    private sealed record Result(LeaseRecord Lease, IReadOnlyList<OutputFile> Outputs, string Manifest);
}
