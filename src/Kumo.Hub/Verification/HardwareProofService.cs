using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hardware;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Control;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// Proves that providers have the devices they registered (docs/VERIFICATION.md, "Hardware proof"). Each connected
/// provider is challenged when it is first seen and again at random around <see cref="HubOptions.HardwareProofInterval"/>;
/// a provider whose last proof failed is paused (<see cref="IsPaused"/>) and one that passed has a measured tier
/// (<see cref="MeasuredTier"/>). A proof holds for the claims it tested (<see cref="DeviceClaim.Fingerprint"/>): a
/// provider that re-registers other devices is challenged again at once, and while periodic proofs are on
/// (<see cref="HubOptions.HardwareProofInterval"/>) the market offers work only to a provider whose current claims
/// passed (<see cref="MayWork"/>). Each provider's standing is written to the store (<c>hardware_proofs</c>) moments
/// after it changes and read back at start, so a restarted hub keeps a failure a failure, keeps each tier, and proves
/// nobody early — except a provider whose round the restart cut short, which is challenged at once.
/// </summary>
public sealed class HardwareProofService(
    IHubStore store,
    ProviderSessions sessions,
    EnvelopeAuthenticator auth,
    Ledger.RefereeService referee,
    HubSignals signals,
    HubOptions options,
    TimeProvider time,
    ILogger<HardwareProofService> logger) : BackgroundService
{
    /// <summary>Failures the provider's own signed statements prove; the others (deadline, silence) only pause.</summary>
    private static readonly HashSet<string> ProvablyWrong =
        [ProofCodes.Freivalds, ProofCodes.RowMismatch, ProofCodes.ProductMismatch, ProofCodes.RootChanged, ProofCodes.BadProof, ProofCodes.WrongSize];

    private readonly object _lock = new();
    private readonly Dictionary<string, ProviderProof> _providers = new(StringComparer.Ordinal);

    /// <summary>The claims each provider's latest registration makes, by its inventory JSON (parsed once per change).</summary>
    private readonly Dictionary<string, (string InventoryJson, string Key)> _claims = new(StringComparer.Ordinal);

    /// <summary>Providers whose standing changed since it was last written.</summary>
    private readonly HashSet<string> _dirty = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _saving = new(1, 1);
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile bool _loaded;

    /// <summary>
    /// Raised when a provider's round settles (passed or failed), under the service's lock: a handler must be quick and
    /// must not call back into this service. <see cref="ProviderCheckService"/> takes it as the capacity re-test.
    /// </summary>
    public event Action<HardwareProofSettled>? Settled;

    /// <summary>The policy every challenge is sized and timed by.</summary>
    public HardwareProofPolicy Policy { get; init; } = HardwareProofPolicy.Default;

    /// <summary>True when the provider's latest completed proof failed: the market should not place work on it.</summary>
    public bool IsPaused(string providerId)
    {
        lock (_lock)
        {
            return _providers.TryGetValue(providerId, out ProviderProof? p) && p.LastPassed == false;
        }
    }

    /// <summary>
    /// The performance tier the latest passing proof measured (TFLOP/s × 100 of the slowest device), or null when the
    /// provider has not passed one, or has since registered devices that proof did not test.
    /// </summary>
    public int? MeasuredTier(string providerId)
    {
        lock (_lock)
        {
            return _providers.TryGetValue(providerId, out ProviderProof? p) && p.LastPassed == true && ProvesCurrentClaims(providerId, p) ? p.Tier : null;
        }
    }

    /// <summary>
    /// Whether the market may place work on <paramref name="provider"/>: never after a failed proof; with periodic proofs
    /// on, only once a round has passed for the devices it registers now (a provider that just joined, or re-registered
    /// other devices, waits for its challenge, typically a few seconds). With periodic proofs off (tests that drive the
    /// service by hand), anything not failed.
    /// </summary>
    public bool MayWork(ProviderRecord provider)
    {
        lock (_lock)
        {
            _providers.TryGetValue(provider.Id, out ProviderProof? p);
            if (p?.LastPassed == false)
            {
                return false;
            }

            return !ProofRequired || (p?.LastPassed == true && p.ClaimsKey == ClaimsKeyLocked(provider));
        }
    }

    /// <summary>
    /// What <c>kumo provider list</c> shows: <c>passed</c>, the failing code, <c>claims_changed</c> (it passed, then
    /// registered devices that round did not test), or null before its first round.
    /// </summary>
    public string? Describe(string providerId)
    {
        lock (_lock)
        {
            if (!_providers.TryGetValue(providerId, out ProviderProof? p) || p.LastPassed is null)
            {
                return null;
            }

            return p.LastOutcomes.FirstOrDefault(o => !o.Passed)?.Code
                ?? (ProvesCurrentClaims(providerId, p) ? ProofCodes.Passed : "claims_changed");
        }
    }

    /// <summary>The outcomes of the provider's latest completed round (one per device), empty before the first.</summary>
    public IReadOnlyList<ProofOutcome> LatestOutcomes(string providerId)
    {
        lock (_lock)
        {
            return _providers.TryGetValue(providerId, out ProviderProof? p) ? p.LastOutcomes : [];
        }
    }

    /// <summary>True while a challenge to the provider is unanswered or unchecked.</summary>
    public bool IsChallenging(string providerId)
    {
        lock (_lock)
        {
            return _providers.TryGetValue(providerId, out ProviderProof? p) && p.Round is not null;
        }
    }

    /// <summary>Challenges every device of a provider now. False when it is unknown, not connected, or already being challenged.</summary>
    public async Task<bool> ChallengeAsync(string providerId, CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        ProviderRecord? record;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            record = await reader.GetProviderAsync(providerId);
        }

        if (record is null || !sessions.IsConnected(providerId))
        {
            return false;
        }

        HardwareInventory inventory = JsonSerializer.Deserialize<HardwareInventory>(record.InventoryJson, KumoJson.Options)!;
        long now = Now;
        string challengeId = "hwc-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        // Every claimed device, real GPUs included: a GPU nobody proved is how a CPU passes as one (docs/VERIFICATION.md).
        IReadOnlyList<DeviceClaim> claims = DeviceClaim.FromInventory(inventory);
        var round = new ProofRound(challengeId, DeviceClaim.Fingerprint(claims), [.. claims.Select(claim =>
            new HardwareProofSession(challengeId, claim, RandomSeed(), now, Policy))]);
        lock (_lock)
        {
            ProviderProof proof = Get(providerId);
            if (proof.Round is not null)
            {
                return false;
            }

            proof.Round = round;
            proof.FailedWhileAway = false;
            proof.Statements.Clear();
            _dirty.Add(providerId); // a round is open: a hub that restarts before it settles challenges again at once
        }

        var request = new HardwareChallengeRequest(challengeId, [.. round.Devices.Select(d => d.Challenge)]);
        if (!await sessions.TrySendAsync(providerId, ChannelMessageTypes.HardwareChallenge, request, cancellationToken))
        {
            lock (_lock)
            {
                Get(providerId).Round = null;
            }

            return false;
        }

        logger.LogInformation("hardware challenge {Challenge} to {Provider}: {Devices}", challengeId, providerId,
            string.Join(", ", round.Devices.Select(d => $"{d.Claim.Model} n={d.N} within {d.Deadline.TotalMilliseconds:0} ms")));
        await SaveAsync(cancellationToken); // after sending: the deadline runs from the challenge, not from a disk write
        return true;
    }

    /// <summary>
    /// One pass: fails challenges whose deadline passed, and challenges connected providers never proven or due again.
    /// Returns how many providers were challenged.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await LoadAsync(cancellationToken);
        long now = Now;
        var due = new List<string>();
        IReadOnlyList<ProviderRecord> providers;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            providers = await reader.ListProvidersAsync();
        }

        lock (_lock)
        {
            foreach (var (id, proof) in _providers)
            {
                if (proof.Round is { } round)
                {
                    foreach (HardwareProofSession device in round.Devices)
                    {
                        lock (device)
                        {
                            device.Expire(now);
                        }
                    }

                    Settle(id, proof);
                }
            }

            foreach (ProviderRecord provider in providers)
            {
                // A round that failed while the provider was gone (it could not answer) is tried again as soon as it is
                // back, not after the retry delay: until then it is paused, and the market offers it nothing.
                // So is a provider that registered other devices than its latest round tested: until it passes for
                // them, the market offers it nothing (MayWork).
                if (provider.Status == ProviderStatus.Online && sessions.IsConnected(provider.Id)
                    && (!_providers.TryGetValue(provider.Id, out ProviderProof? p)
                        || (p.Round is null && (p.NextDueMs <= now || p.FailedWhileAway || p.ClaimsKey != ClaimsKeyLocked(provider)))))
                {
                    due.Add(provider.Id);
                }
            }
        }

        int challenged = 0;
        foreach (string id in due)
        {
            if (await ChallengeAsync(id, cancellationToken))
            {
                challenged++;
            }
        }

        await SaveAsync(cancellationToken); // whatever settled since the last write and failed to be written then
        return challenged;
    }

    /// <summary>
    /// Writes every provider's standing that changed since it was last written (the service also writes on its own,
    /// moments after a round opens or settles). A write that fails is tried again on the next pass.
    /// </summary>
    public async Task SaveAsync(CancellationToken cancellationToken)
    {
        await _saving.WaitAsync(cancellationToken);
        try
        {
            List<HardwareProofRecord> changed;
            lock (_lock)
            {
                if (_dirty.Count == 0)
                {
                    return;
                }

                long now = Now;
                changed = [.. _dirty.Select(id => new HardwareProofRecord(id, JsonSerializer.Serialize(_providers[id].ToStored(), KumoJson.Options), now))];
                _dirty.Clear();
            }

            try
            {
                await store.WriteBatchedAsync(async tx =>
                {
                    foreach (HardwareProofRecord record in changed)
                    {
                        await tx.UpsertHardwareProofAsync(record);
                    }

                    return true;
                }, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lock (_lock)
                {
                    _dirty.UnionWith(changed.Select(r => r.ProviderId));
                }

                logger.LogWarning("could not store the hardware-proof standing of {Count} provider(s); will retry: {Error}", changed.Count, e.Message);
            }
        }
        finally
        {
            _saving.Release();
        }
    }

    /// <summary>Reads the stored standings back, once, before the first pass or challenge.</summary>
    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        if (_loaded)
        {
            return;
        }

        await _loading.WaitAsync(cancellationToken);
        try
        {
            if (_loaded)
            {
                return;
            }

            IReadOnlyList<HardwareProofRecord> saved;
            await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
            {
                saved = await reader.ListHardwareProofsAsync();
            }

            int interrupted = 0;
            lock (_lock)
            {
                foreach (HardwareProofRecord record in saved)
                {
                    if (_providers.ContainsKey(record.ProviderId) || Read(record) is not { } stored)
                    {
                        continue;
                    }

                    ProviderProof proof = ProviderProof.FromStored(stored);
                    if (stored.OpenChallenge is not null)
                    {
                        // The hub stopped while this round was open: its answer can no longer be checked, so ask again now.
                        // Its earlier verdict stands until then (a failure stays a failure).
                        proof.NextDueMs = 0;
                        interrupted++;
                    }

                    _providers[record.ProviderId] = proof;
                }

                _loaded = true;
            }

            if (saved.Count > 0)
            {
                logger.LogInformation("hardware proofs: {Count} provider standing(s) restored from the store, {Interrupted} round(s) cut short by the restart to ask again",
                    saved.Count, interrupted);
                signals.WakeScheduler(); // the market may now offer work to the providers proven before the restart
            }
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>A signed <see cref="HardwareCommitment"/> or <see cref="HardwareOpening"/> from a provider's channel.</summary>
    public async Task OnMessageAsync(string providerId, string type, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        bool commit = type == ChannelMessageTypes.HardwareCommit;
        auth.Verify(envelope, commit ? HardwareProofMessageTypes.Commit : HardwareProofMessageTypes.Open);
        if (envelope.Signer.Value != providerId)
        {
            throw ApiProblem.Forbidden("wrong_signer", $"{type} signed by {envelope.Signer}, not by this channel's provider");
        }

        lock (_lock)
        {
            // What the provider signed this round: the evidence if it lied. No entry is made for a provider never
            // challenged here (the message is refused below), so nothing unsolicited displaces its stored standing.
            if (_providers.TryGetValue(providerId, out ProviderProof? proof))
            {
                proof.Statements.Add(envelope);
            }
        }

        if (commit)
        {
            await OnCommitAsync(providerId, envelope.ReadPayload<HardwareCommitment>(), cancellationToken);
        }
        else
        {
            await OnOpenAsync(providerId, envelope.ReadPayload<HardwareOpening>());
        }
    }

    /// <summary>A stored standing, or null (logged) when it does not read: that provider is simply proven again.</summary>
    private StoredProof? Read(HardwareProofRecord record)
    {
        try
        {
            return JsonSerializer.Deserialize<StoredProof>(record.ProofJson, KumoJson.Options);
        }
        catch (JsonException e)
        {
            logger.LogWarning("the stored hardware-proof standing of {Provider} does not read ({Error}); it will be proven again", record.ProviderId, e.Message);
            return null;
        }
    }

    private bool ProofRequired => options.HardwareProofInterval > TimeSpan.Zero;

    /// <summary>The fingerprint of the devices <paramref name="provider"/> registers now (caller holds the lock; parsed once per registration).</summary>
    private string ClaimsKeyLocked(ProviderRecord provider)
    {
        if (_claims.TryGetValue(provider.Id, out var known) && string.Equals(known.InventoryJson, provider.InventoryJson, StringComparison.Ordinal))
        {
            return known.Key;
        }

        HardwareInventory inventory = JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options)!;
        string key = DeviceClaim.Fingerprint(DeviceClaim.FromInventory(inventory));
        _claims[provider.Id] = (provider.InventoryJson, key);
        return key;
    }

    /// <summary>Whether the provider's latest round tested the claims it was last seen registering (true when not seen yet).</summary>
    private bool ProvesCurrentClaims(string providerId, ProviderProof proof) =>
        !_claims.TryGetValue(providerId, out var current) || current.Key == proof.ClaimsKey;

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        PeriodicPass.RunAsync(options.HardwareProofInterval > TimeSpan.Zero ? options.SweepInterval : TimeSpan.Zero, time, RunOnceAsync, logger, "a hardware proof pass", runAtStart: true, stoppingToken);

    private async Task OnCommitAsync(string providerId, HardwareCommitment commitment, CancellationToken cancellationToken)
    {
        HardwareReveal? reveal;
        lock (_lock)
        {
            HardwareProofSession device = Find(providerId, commitment.ChallengeId, commitment.DeviceId);
            IReadOnlyList<int> rows = device.DrawRows(RandomNumberGenerator.GetInt32);
            try
            {
                reveal = device.Commit(commitment, Now, RandomSeed(), rows);
            }
            catch (ProofRefusedException e)
            {
                throw ApiProblem.Conflict(e.Code, e.Message);
            }

            if (reveal is null)
            {
                Settle(providerId, Get(providerId));
            }
        }

        if (reveal is not null && !await sessions.TrySendAsync(providerId, ChannelMessageTypes.HardwareReveal, reveal, cancellationToken))
        {
            logger.LogInformation("could not reveal challenge {Challenge} to {Provider}; it will time out", commitment.ChallengeId, providerId);
        }
    }

    private Task OnOpenAsync(string providerId, HardwareOpening opening)
    {
        HardwareProofSession device;
        lock (_lock)
        {
            device = Find(providerId, opening.ChallengeId, opening.DeviceId);
            if (device.Phase != ProofPhase.AwaitingOpening)
            {
                throw ApiProblem.Conflict("not_awaiting_opening", $"device {opening.DeviceId} of challenge {opening.ChallengeId} is {device.Phase}, not awaiting an opening");
            }
        }

        // The check streams A and B (O(n²)): off the channel's receive loop, so heartbeats keep flowing.
        _ = Task.Run(() =>
        {
            try
            {
                lock (device)
                {
                    device.Verify(opening);
                }
            }
            catch (ProofRefusedException e)
            {
                logger.LogInformation("hardware opening from {Provider} refused: {Code}: {Message}", providerId, e.Code, e.Message);
            }

            lock (_lock)
            {
                Settle(providerId, Get(providerId));
            }
        });
        return Task.CompletedTask;
    }

    /// <summary>The device session a message names; refused as stale when it belongs to no open challenge of this provider.</summary>
    private HardwareProofSession Find(string providerId, string challengeId, string deviceId)
    {
        ProofRound? round = _providers.TryGetValue(providerId, out ProviderProof? p) ? p.Round : null;
        if (round is null || round.ChallengeId != challengeId)
        {
            throw ApiProblem.Conflict("unknown_challenge", $"challenge {challengeId} is not open for this provider (stale, expired or never issued)");
        }

        return round.Devices.FirstOrDefault(d => d.Claim.DeviceId == deviceId)
            ?? throw ApiProblem.Conflict("unknown_device", $"challenge {challengeId} did not ask about device {deviceId}");
    }

    /// <summary>Ends the provider's round once every device has an outcome (caller holds the lock).</summary>
    private void Settle(string providerId, ProviderProof proof)
    {
        if (proof.Round is not { } round || round.Devices.Any(d => d.Outcome is null))
        {
            return;
        }

        // A failed device fails the round at once; the others' pending work no longer matters.
        List<ProofOutcome> outcomes = [.. round.Devices.Select(d => d.Outcome!)];
        bool passed = outcomes.All(o => o.Passed);
        proof.Round = null;
        proof.ClaimsKey = round.ClaimsKey;
        proof.LastPassed = passed;
        proof.FailedWhileAway = !passed && !sessions.IsConnected(providerId);
        proof.LastOutcomes = outcomes;
        proof.Tier = passed ? outcomes.Min(o => o.Tier) : 0;
        proof.NextDueMs = Now + NextDelayMs(passed);
        ProofOutcome? firstFailed = outcomes.FirstOrDefault(o => !o.Passed);
        bool slashing = firstFailed is not null && ProvablyWrong.Contains(firstFailed.Code) && proof.Statements.Count > 0;
        Settled?.Invoke(new HardwareProofSettled(providerId, round.ChallengeId, passed, outcomes, [.. proof.Statements], slashing));
        _dirty.Add(providerId);
        var verdict = new HardwareProofResult(round.ChallengeId, passed, proof.Tier,
            [.. outcomes.Select(o => new HardwareDeviceResult(o.DeviceId, o.Passed, o.Code, o.Reason, o.N, o.ElapsedMs))], Math.Max(0, proof.NextDueMs - Now));
        _ = Task.Run(async () =>
        {
            try
            {
                // Stored first, then the operator's answer to "why no work?" (a provider that is gone learns it from
                // kumo provider list): an agent that was told its verdict holds one a restarted hub still has.
                await SaveAsync(CancellationToken.None);
                await sessions.TrySendAsync(providerId, ChannelMessageTypes.HardwareResult, verdict, CancellationToken.None);
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
            {
                logger.LogDebug("hardware proof standing of {Provider} not stored now: {Error}", providerId, e.Message); // the store is closing
            }
        });
        if (passed)
        {
            signals.WakeScheduler(); // it may be the proof that lets the market offer this provider work
            logger.LogInformation("hardware proof {Challenge} of {Provider} passed: tier {Tier}{Simulated}", round.ChallengeId, providerId, proof.Tier,
                outcomes.Any(o => o.Simulated) ? " (simulated devices)" : "");
        }
        else
        {
            ProofOutcome failed = outcomes.First(o => !o.Passed);
            logger.LogWarning("hardware proof {Challenge} of {Provider} failed on {Device}: {Code}: {Reason}; paused", round.ChallengeId, providerId,
                failed.DeviceId, failed.Code, failed.Reason);
            if (slashing)
            {
                // A wrong product or a commitment it could not stand by is provable from what the provider signed: slashed.
                // Slowness or silence is not (a network can be slow): those only pause.
                IReadOnlyList<SignedEnvelope> evidence = [.. proof.Statements];
                string subject = $"challenge {round.ChallengeId}/device {failed.DeviceId}";
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await referee.SlashAsync("hardware_proof", Kumo.Crypto.AccountId.Parse(providerId), null, subject,
                            $"{failed.Code}: {failed.Reason}", evidence, CancellationToken.None);
                    }
                    catch (Exception e) when (e is Ledger.LedgerRefusedException or InvalidOperationException)
                    {
                        logger.LogWarning("could not slash {Provider} for {Subject}: {Error}", providerId, subject, e.Message);
                    }
                });
            }
        }
    }

    /// <summary>
    /// Around the interval, uniformly in [0.5, 1.5)×, so a provider cannot predict the next one; a failure is retried
    /// sooner. With no interval (periodic proofs off), never again unless <see cref="ChallengeAsync"/> is called.
    /// </summary>
    private long NextDelayMs(bool passed)
    {
        double interval = options.HardwareProofInterval.TotalMilliseconds;
        if (interval <= 0)
        {
            return long.MaxValue / 2;
        }

        double delay = passed ? interval * (0.5 + Random.Shared.NextDouble()) : Math.Min(interval, options.HardwareProofRetry.TotalMilliseconds);
        return (long)delay;
    }

    private ProviderProof Get(string providerId)
    {
        if (!_providers.TryGetValue(providerId, out ProviderProof? proof))
        {
            proof = new ProviderProof();
            _providers[providerId] = proof;
        }

        return proof;
    }

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static ulong RandomSeed() => BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private sealed class ProviderProof
    {
        public ProofRound? Round { get; set; }

        /// <summary>The claims the latest settled round tested (<see cref="DeviceClaim.Fingerprint"/>).</summary>
        public string? ClaimsKey { get; set; }

        /// <summary>The last round failed while the provider was not connected: it is challenged again when it returns.</summary>
        public bool FailedWhileAway { get; set; }

        public bool? LastPassed { get; set; }

        public IReadOnlyList<ProofOutcome> LastOutcomes { get; set; } = [];

        public int Tier { get; set; }

        public long NextDueMs { get; set; }

        /// <summary>The provider's signed commitments and openings of the current round.</summary>
        public List<SignedEnvelope> Statements { get; } = [];

        public StoredProof ToStored() => new(ClaimsKey, LastPassed, Tier, LastOutcomes, NextDueMs, FailedWhileAway, Round?.ChallengeId);

        public static ProviderProof FromStored(StoredProof s) => new()
        {
            ClaimsKey = s.ClaimsKey,
            LastPassed = s.Passed,
            Tier = s.Tier,
            LastOutcomes = s.Outcomes,
            NextDueMs = s.NextDueMs,
            FailedWhileAway = s.FailedWhileAway,
        };
    }

    /// <summary>
    /// What the store keeps of a provider's standing (<see cref="HardwareProofRecord.ProofJson"/>): the claims its latest
    /// settled round tested, its verdict (null before any) and tier, its outcomes, when the next round is due, and
    /// <c>OpenChallenge</c>, the round open when it was written (set: the hub stopped before that round settled).
    /// </summary>
    private sealed record StoredProof(string? ClaimsKey, bool? Passed, int Tier, IReadOnlyList<ProofOutcome> Outcomes, long NextDueMs,
        bool FailedWhileAway, string? OpenChallenge);

    private sealed record ProofRound(string ChallengeId, string ClaimsKey, IReadOnlyList<HardwareProofSession> Devices);
}
