using System.Collections.Concurrent;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Hub.Control;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Verification.Checkers;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>What the checkers think of a provider now.</summary>
/// <param name="Health">Active, or paused (the market sees it offline).</param>
/// <param name="Reputation">The checkers' score in [0, 1]; the market multiplies the lease reputation by it.</param>
/// <param name="PausedSince">Since when it is paused (null while active).</param>
/// <param name="Away">It went away owing nothing: not probed, its absence is no pause.</param>
/// <param name="LastSlash">The subject and reason of the latest slash the checkers filed (null: none since the hub started).</param>
public sealed record ProviderCheckStatus(ProviderHealth Health, double Reputation, DateTimeOffset? PausedSince, bool Away, string? LastSlash);

/// <summary>
/// Runs the <see cref="ProviderChecker"/> policy live (docs/CHECKERS.md). Liveness: every
/// <see cref="CheckerRules.LivenessInterval"/> each provider on duty is probed, and the probe is answered when a signed
/// heartbeat arrived on a live control channel within the interval. Capacity: every settled hardware proof
/// (<see cref="HardwareProofService.Settled"/>) is a re-test, and a provider with none for
/// <see cref="CheckerRules.CapacityInterval"/> is challenged. Missed probes and failed re-tests pause (the market sees
/// the provider offline) and lower the checkers' reputation, which scales the market's; a provider paused longer than
/// <see cref="CheckerRules.MaxPause"/> after abandoning leases it accepted, or failing re-tests in a row, is slashed
/// through the referee, citing what it signed. Each provider's standing (health, reputation, pauses, and its streak of
/// failed capacity re-tests with what it signed in them) is kept in the hub's store after every pass and taken back
/// after a restart; missed probes and abandoned leases live in memory, so for those a restart errs toward not slashing.
/// </summary>
public sealed class ProviderCheckService : BackgroundService
{
    /// <summary>Timing codes: a slow or silent round, which counts only when nothing else can explain it.</summary>
    private static readonly HashSet<string> TimingCodes = [ProofCodes.Deadline, ProofCodes.NoOpening];

    private readonly IHubStore _store;
    private readonly ProviderSessions _sessions;
    private readonly HardwareProofService _hardware;
    private readonly RefereeService _referee;
    private readonly HubOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProviderCheckService> _logger;
    private readonly Lock _lock = new();
    private readonly ProviderChecker _checker;
    private readonly Dictionary<string, Duty> _duties = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<(HardwareProofSettled Round, bool Connected)> _settled = new();
    private readonly SemaphoreSlim _pass = new(1, 1);
    private readonly Dictionary<string, string> _savedStanding = new(StringComparer.Ordinal);
    private bool _standingLoaded;

    public ProviderCheckService(IHubStore store, ProviderSessions sessions, HardwareProofService hardware, RefereeService referee,
        HubOptions options, TimeProvider time, ILogger<ProviderCheckService> logger)
    {
        _store = store;
        _sessions = sessions;
        _hardware = hardware;
        _referee = referee;
        _options = options;
        _time = time;
        _logger = logger;
        _checker = new ProviderChecker(time, options.Checkers);
        // Whether it was connected when the round settled: a round it could not answer is liveness's business.
        hardware.Settled += round => _settled.Enqueue((round, sessions.IsConnected(round.ProviderId)));
    }

    private CheckerRules Rules => _checker.Rules;

    /// <summary>True when the checkers pause the provider: the market places no work on it.</summary>
    public bool IsPaused(string providerId)
    {
        lock (_lock)
        {
            return _checker.Knows(providerId) && _checker.Health(providerId) != ProviderHealth.Active;
        }
    }

    /// <summary>The checkers' reputation of the provider in [0, 1] (the initial one for a provider not checked yet).</summary>
    public double Reputation(string providerId)
    {
        lock (_lock)
        {
            return _checker.Knows(providerId) ? _checker.Reputation(providerId) : Rules.InitialReputation;
        }
    }

    /// <summary>The provider's standing with the checkers, or null when they have not seen it since the hub started.</summary>
    public ProviderCheckStatus? Status(string providerId)
    {
        lock (_lock)
        {
            if (!_checker.Knows(providerId))
            {
                return null;
            }

            return new ProviderCheckStatus(_checker.Health(providerId), _checker.Reputation(providerId), _checker.PausedSince(providerId),
                _checker.IsAway(providerId), _duties.GetValueOrDefault(providerId)?.LastSlash);
        }
    }

    /// <summary>
    /// One pass: takes in connected providers and settled hardware proofs, probes those due, asks for capacity re-tests
    /// due, and slashes pauses past the limit. Returns how many liveness probes it recorded.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken);
        try
        {
            return await PassAsync(cancellationToken);
        }
        finally
        {
            _pass.Release();
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync(Rules.LivenessInterval > TimeSpan.Zero ? _options.SweepInterval : TimeSpan.Zero, _time, RunOnceAsync, _logger, "a provider check pass", runAtStart: false, stoppingToken);

    private async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        Dictionary<string, ProviderRecord> providers;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            providers = (await reader.ListProvidersAsync()).ToDictionary(p => p.Id, StringComparer.Ordinal);
        }

        await LoadStandingAsync(providers, cancellationToken);
        lock (_lock)
        {
            foreach (string id in providers.Keys.Where(_sessions.IsConnected))
            {
                _checker.Arrive(id);
                DutyOf(id);
            }
        }

        await CapacityResultsAsync(providers, cancellationToken);
        int probed = await LivenessAsync(providers, now, cancellationToken);
        await AskCapacityAsync(now, cancellationToken);
        await SweepAsync(providers, cancellationToken);
        await SaveStandingAsync(cancellationToken);
        return probed;
    }

    /// <summary>
    /// The standings the store holds, on the first pass: a hub restart keeps a paused provider paused (until it passes
    /// again) and a slashed one slashed, where it used to forget both.
    /// </summary>
    private async Task LoadStandingAsync(Dictionary<string, ProviderRecord> providers, CancellationToken cancellationToken)
    {
        if (_standingLoaded)
        {
            return;
        }

        IReadOnlyList<ProviderCheckRecord> saved;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            saved = await reader.ListProviderChecksAsync();
        }

        lock (_lock)
        {
            foreach (ProviderCheckRecord record in saved.Where(r => providers.ContainsKey(r.ProviderId)))
            {
                if (JsonSerializer.Deserialize<CheckerStanding>(record.StandingJson, KumoJson.Options) is { } standing)
                {
                    // The failed re-tests of the current streak, with what the provider signed in them: a second failure
                    // after the restart is slashed citing both, as it would have been without one.
                    List<HardwareProofSettled> failures = record.CapacityFailuresJson is { } json
                        ? JsonSerializer.Deserialize<List<HardwareProofSettled>>(json, KumoJson.Options) ?? []
                        : [];
                    _checker.Restore(record.ProviderId, standing with { CapacityFailures = failures.Count });
                    Duty duty = DutyOf(record.ProviderId);
                    duty.CapacityFailures.Clear();
                    duty.CapacityFailures.AddRange(failures);
                    _savedStanding[record.ProviderId] = Saved(record.StandingJson, record.CapacityFailuresJson);
                }
            }

            _standingLoaded = true;
        }
    }

    /// <summary>Writes the standings this pass changed.</summary>
    private async Task SaveStandingAsync(CancellationToken cancellationToken)
    {
        List<(string Id, string Json, string? Failures)> changed;
        lock (_lock)
        {
            changed = [.. _checker.Providers
                .Select(id => (Id: id, Json: JsonSerializer.Serialize(_checker.Standing(id), KumoJson.Options),
                    Failures: _duties.TryGetValue(id, out Duty? duty) && duty.CapacityFailures.Count > 0
                        ? JsonSerializer.Serialize(duty.CapacityFailures, KumoJson.Options)
                        : null))
                .Where(s => !_savedStanding.TryGetValue(s.Id, out string? saved) || saved != Saved(s.Json, s.Failures))];
        }

        if (changed.Count == 0)
        {
            return;
        }

        await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
        {
            long now = _time.GetUtcNow().ToUnixTimeMilliseconds();
            foreach ((string id, string json, string? failures) in changed)
            {
                await tx.UpsertProviderCheckAsync(new ProviderCheckRecord(id, json, now, failures));
            }

            await tx.CommitAsync();
        }

        lock (_lock)
        {
            foreach ((string id, string json, string? failures) in changed)
            {
                _savedStanding[id] = Saved(json, failures);
            }
        }
    }

    /// <summary>What was last written for a provider, to tell whether it changed.</summary>
    private static string Saved(string standingJson, string? failuresJson) => standingJson + "\n" + failuresJson;

    /// <summary>Records the settled hardware proofs as capacity re-tests; files the slash when they fail too often in a row.</summary>
    private async Task CapacityResultsAsync(Dictionary<string, ProviderRecord> providers, CancellationToken cancellationToken)
    {
        while (_settled.TryDequeue(out var item))
        {
            (HardwareProofSettled round, bool connected) = item;
            string id = round.ProviderId;
            if (!providers.ContainsKey(id) || !Known(id))
            {
                continue;
            }

            if (!round.Passed && await ExcusedAsync(round, connected, cancellationToken) is { } excuse)
            {
                _logger.LogInformation("hardware proof {Challenge} of {Provider} failed but is no capacity re-test: {Excuse}", round.ChallengeId, id, excuse);
                continue;
            }

            ProviderHealth before, after;
            List<HardwareProofSettled> failures;
            lock (_lock)
            {
                before = _checker.Health(id);
                Duty duty = DutyOf(id);
                if (round.Passed)
                {
                    duty.CapacityFailures.Clear();
                }
                else
                {
                    duty.CapacityFailures.Add(round);
                }

                failures = [.. duty.CapacityFailures];
                after = _checker.RecordCapacity(id, round.Passed);
            }

            LogChange(id, before, after, round.Passed ? "passed a capacity re-test" : $"failed capacity re-test {round.ChallengeId}");
            if (after == ProviderHealth.Slashed)
            {
                await SlashForCapacityAsync(providers[id], failures, cancellationToken);
            }
        }
    }

    /// <summary>
    /// Why a failed round says nothing about the claimed hardware, or null when it counts. A slow or silent round does not
    /// count when the provider was not connected (liveness covers that), was running leases (a busy machine is slow),
    /// or the device is simulated (a devnet device proves nothing about speed). Any other failure counts.
    /// </summary>
    private async Task<string?> ExcusedAsync(HardwareProofSettled round, bool connected, CancellationToken cancellationToken)
    {
        ProofOutcome failed = round.Outcomes.First(o => !o.Passed);
        if (!TimingCodes.Contains(failed.Code))
        {
            return null;
        }

        if (!connected)
        {
            return $"{failed.Code} while disconnected";
        }

        if (failed.Simulated)
        {
            return $"{failed.Code} on a simulated device";
        }

        await using IHubReader reader = await _store.OpenReaderAsync(cancellationToken);
        IReadOnlyList<LeaseRecord> open = await reader.ListOpenLeasesAsync(round.ProviderId);
        return open.Any(l => l.AcceptedAt is not null) ? $"{failed.Code} while running {open.Count} lease(s)" : null;
    }

    /// <summary>Probes every provider due; returns how many.</summary>
    private async Task<int> LivenessAsync(Dictionary<string, ProviderRecord> providers, DateTimeOffset now, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> due;
        lock (_lock)
        {
            due = _checker.DueForLiveness();
        }

        if (due.Count == 0)
        {
            return 0;
        }

        ILookup<string, LeaseRecord> open;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            open = (await reader.ListOpenLeasesAsync(null)).ToLookup(l => l.ProviderId, StringComparer.Ordinal);
        }

        long nowMs = now.ToUnixTimeMilliseconds();
        // A heartbeat the watchdog still counts as live answers too (a hub configured with slow heartbeats is no fault).
        double window = Math.Max(Rules.LivenessInterval.TotalMilliseconds, _options.HeartbeatTimeout.TotalMilliseconds);
        int probed = 0;
        foreach (string id in due)
        {
            if (!providers.TryGetValue(id, out ProviderRecord? record))
            {
                continue;
            }

            bool connected = _sessions.IsConnected(id);
            bool answered = connected && record.Status == ProviderStatus.Online && nowMs - (record.LastHeartbeatAt ?? 0) < window;
            List<LeaseRecord>? abandoned = null;
            if (!answered && !connected)
            {
                abandoned = await AbandonedAsync(id, cancellationToken);
            }

            ProviderHealth before, after;
            lock (_lock)
            {
                before = _checker.Health(id);
                Duty duty = DutyOf(id);
                if (answered)
                {
                    // What it owes from here on: the leases it accepted and still holds.
                    duty.LastAnsweredAt = nowMs;
                    duty.Owed = [.. open[id].Where(l => l.AcceptedAt is not null).Select(l => l.Id)];
                    duty.Abandoned = [];
                    duty.Missing = false;
                    after = _checker.RecordLiveness(id, answered: true);
                }
                else if (abandoned is { Count: 0 })
                {
                    // Gone, owing nothing: a polite leave (or a crash while idle) is no fault.
                    _checker.Leave(id);
                    duty.Owed = [];
                    after = _checker.Health(id);
                    _logger.LogInformation("provider {Provider} went away owing no work: not probed until it returns", id);
                }
                else
                {
                    duty.Abandoned = abandoned ?? duty.Abandoned;
                    after = _checker.RecordLiveness(id, answered: false);
                }
            }

            probed++;
            LogChange(id, before, after, answered ? "answered a liveness probe" : "missed liveness probes");
        }

        return probed;
    }

    /// <summary>
    /// The leases a provider that is not connected accepted and did not finish: those it held when it last answered a
    /// probe, or accepted since, that are still open or were closed because its heartbeat was lost.
    /// </summary>
    private async Task<List<LeaseRecord>> AbandonedAsync(string id, CancellationToken cancellationToken)
    {
        HashSet<string> candidates;
        long since;
        bool known;
        lock (_lock)
        {
            Duty duty = DutyOf(id);
            candidates = [.. duty.Owed];
            since = duty.LastAnsweredAt;
            known = duty.Missing; // no new lease reaches a provider that is not connected: look for them once
            duty.Missing = true;
        }

        var abandoned = new List<LeaseRecord>();
        await using IHubReader reader = await _store.OpenReaderAsync(cancellationToken);
        if (!known)
        {
            foreach (LeaseRecord lease in await reader.ListLeasesAcceptedSinceAsync(since, 10_000))
            {
                if (lease.ProviderId == id)
                {
                    candidates.Add(lease.Id);
                }
            }
        }

        foreach (string leaseId in candidates.Order(StringComparer.Ordinal))
        {
            if (await reader.GetLeaseAsync(leaseId) is { AcceptanceEnvelope: not null } lease
                && (lease.ClosedAt is null || lease.CloseReason == CloseReason.ProviderHeartbeatLost))
            {
                abandoned.Add(lease);
            }
        }

        lock (_lock)
        {
            DutyOf(id).Owed = [.. candidates]; // kept until it answers again, so later misses see the same work
        }

        return abandoned;
    }

    /// <summary>Challenges connected providers whose daily capacity re-test is due (no settled proof for a day).</summary>
    private async Task AskCapacityAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        TimeSpan backoff = Rules.CapacityInterval < TimeSpan.FromMinutes(5) ? Rules.CapacityInterval : TimeSpan.FromMinutes(5);
        var ask = new List<string>();
        lock (_lock)
        {
            foreach (string id in _checker.DueForCapacity())
            {
                Duty duty = DutyOf(id);
                if (_sessions.IsConnected(id) && !_hardware.IsChallenging(id) && now - duty.LastCapacityAsk >= backoff)
                {
                    duty.LastCapacityAsk = now;
                    ask.Add(id);
                }
            }
        }

        foreach (string id in ask)
        {
            await _hardware.ChallengeAsync(id, cancellationToken);
        }
    }

    /// <summary>Slashes providers paused past the limit that abandoned accepted work, citing their signed acceptances.</summary>
    private async Task SweepAsync(Dictionary<string, ProviderRecord> providers, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> slashed;
        Dictionary<string, (List<LeaseRecord> Leases, DateTimeOffset? PausedSince)> evidence = new(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (string id in _duties.Keys)
            {
                // Only work it accepted and lost by going silent; a lease still open has not been given up on yet.
                List<LeaseRecord> lost = [.. _duties[id].Abandoned.Where(l => l.ClosedAt is not null && l.CloseReason == CloseReason.ProviderHeartbeatLost)];
                evidence[id] = (lost, _checker.PausedSince(id));
            }

            slashed = _checker.Sweep(id => evidence.TryGetValue(id, out var e) && e.Leases.Count > 0);
        }

        foreach (string id in slashed)
        {
            (List<LeaseRecord> leases, DateTimeOffset? pausedSince) = evidence[id];
            await SlashForAbsenceAsync(providers.GetValueOrDefault(id), id, leases, pausedSince, cancellationToken);
        }
    }

    private async Task SlashForAbsenceAsync(ProviderRecord? record, string id, List<LeaseRecord> abandoned, DateTimeOffset? pausedSince,
        CancellationToken cancellationToken)
    {
        IReadOnlyList<SignedEnvelope> statements = [.. abandoned.Select(l => JsonSerializer.Deserialize<SignedEnvelope>(l.AcceptanceEnvelope!, KumoJson.Options)!)];
        string leases = string.Join(", ", abandoned.Take(4).Select(l => l.Id)) + (abandoned.Count > 4 ? $" (+{abandoned.Count - 4})" : "");
        string subject = "abandoned " + leases;
        string lastHeard = record?.LastHeartbeatAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at).ToString("O") : "never";
        string reason = $"the referee observed no signed heartbeat since {lastHeard}; paused since {pausedSince:O}, more than "
            + $"{Rules.MaxPause.TotalHours:0} h, after abandoning {abandoned.Count} accepted lease(s) (closed as provider_heartbeat_lost): {leases}";
        AccountId? winner = null;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            // The bounty compensates the tenant whose work was abandoned (the first lease's).
            if (await reader.GetJobAsync(abandoned[0].JobId) is { } job && AccountId.TryParse(job.Tenant, out AccountId tenant, out _))
            {
                winner = tenant;
            }
        }

        await FileAsync("liveness", id, winner, subject, reason, statements, cancellationToken);
        lock (_lock)
        {
            _checker.Readmit(id);
            Duty duty = DutyOf(id);
            duty.Abandoned = [];
            duty.Owed = [];
            duty.Missing = false;
            if (!_sessions.IsConnected(id))
            {
                _checker.Leave(id); // it owes nothing more; on return it must pass a capacity re-test first
            }
        }
    }

    private async Task SlashForCapacityAsync(ProviderRecord record, List<HardwareProofSettled> failures, CancellationToken cancellationToken)
    {
        string id = record.Id;
        if (failures.Any(f => f.SlashedByProof))
        {
            // A provably wrong answer among them: the proof service slashed that round on its own evidence already.
            _logger.LogWarning("provider {Provider} failed {Count} capacity re-tests in a row; slashed by the hardware proof itself", id, failures.Count);
        }
        else
        {
            // What it signed: the registration claiming the hardware, and whatever it said during the failed rounds.
            SignedEnvelope registration = JsonSerializer.Deserialize<SignedEnvelope>(record.RegistrationEnvelope, KumoJson.Options)!;
            IReadOnlyList<SignedEnvelope> statements = [registration, .. failures.SelectMany(f => f.Statements)];
            string subject = "re-tests " + string.Join(", ", failures.Select(f => f.ChallengeId));
            string reason = $"failed {failures.Count} capacity re-tests in a row: " + string.Join("; ", failures.Select(f =>
                f.Outcomes.First(o => !o.Passed) is var o ? $"{f.ChallengeId} {o.DeviceId}: {o.Code}: {o.Reason}" : ""));
            await FileAsync("capacity", id, null, subject, reason, statements, cancellationToken);
        }

        lock (_lock)
        {
            DutyOf(id).CapacityFailures.Clear();
            _checker.Readmit(id);
        }
    }

    private async Task FileAsync(string kind, string id, AccountId? winner, string subject, string reason, IReadOnlyList<SignedEnvelope> statements,
        CancellationToken cancellationToken)
    {
        string? filed = null;
        try
        {
            if (await _referee.SlashAsync(kind, AccountId.Parse(id), winner, subject, reason, statements, cancellationToken) is not null)
            {
                filed = $"{kind}: {subject}: {reason}";
            }
        }
        catch (Exception e) when (e is LedgerRefusedException or InvalidOperationException)
        {
            _logger.LogWarning("could not slash {Provider} for {Subject}: {Error}", id, subject, e.Message);
        }

        lock (_lock)
        {
            DutyOf(id).LastSlash = filed ?? $"{kind}: {subject}: {reason} (not filed)";
        }
    }

    private void LogChange(string id, ProviderHealth before, ProviderHealth after, string what)
    {
        if (before == after)
        {
            return;
        }

        if (after == ProviderHealth.Active)
        {
            _logger.LogInformation("provider {Provider} is active again: {What}", id, what);
        }
        else
        {
            _logger.LogWarning("provider {Provider} is {Health}: {What}", id, after, what);
        }
    }

    private bool Known(string id)
    {
        lock (_lock)
        {
            return _checker.Knows(id);
        }
    }

    /// <summary>The provider's duty record (caller holds the lock).</summary>
    private Duty DutyOf(string id)
    {
        if (!_duties.TryGetValue(id, out Duty? duty))
        {
            duty = new Duty { LastAnsweredAt = _time.GetUtcNow().ToUnixTimeMilliseconds() };
            _duties[id] = duty;
        }

        return duty;
    }

    /// <summary>What the hub holds a provider to, beside the policy's own counters.</summary>
    private sealed class Duty
    {
        /// <summary>When it last answered a probe (or was first seen).</summary>
        public long LastAnsweredAt { get; set; }

        /// <summary>Leases it had accepted and held when it last answered.</summary>
        public List<string> Owed { get; set; } = [];

        /// <summary>It has missed a probe while not connected, and <see cref="Owed"/> holds every lease it accepted since it last answered.</summary>
        public bool Missing { get; set; }

        /// <summary>Of those, what it left unfinished since it stopped answering.</summary>
        public List<LeaseRecord> Abandoned { get; set; } = [];

        /// <summary>Its failed capacity re-tests since the last passed one.</summary>
        public List<HardwareProofSettled> CapacityFailures { get; } = [];

        public DateTimeOffset LastCapacityAsk { get; set; } = DateTimeOffset.MinValue;

        public string? LastSlash { get; set; }
    }
}
