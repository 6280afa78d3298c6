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
/// (<see cref="MeasuredTier"/>). Results live in memory: after a hub restart every provider is proven again.
/// </summary>
public sealed class HardwareProofService(
    IHubStore store,
    ProviderSessions sessions,
    EnvelopeAuthenticator auth,
    Ledger.RefereeService referee,
    HubOptions options,
    TimeProvider time,
    ILogger<HardwareProofService> logger) : BackgroundService
{
    /// <summary>Failures the provider's own signed statements prove; the others (deadline, silence) only pause.</summary>
    private static readonly HashSet<string> ProvablyWrong =
        [ProofCodes.Freivalds, ProofCodes.RowMismatch, ProofCodes.ProductMismatch, ProofCodes.RootChanged, ProofCodes.BadProof, ProofCodes.WrongSize];

    private readonly object _lock = new();
    private readonly Dictionary<string, ProviderProof> _providers = new(StringComparer.Ordinal);

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
    /// provider has not passed one.
    /// </summary>
    public int? MeasuredTier(string providerId)
    {
        lock (_lock)
        {
            return _providers.TryGetValue(providerId, out ProviderProof? p) && p.LastPassed == true ? p.Tier : null;
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
        var round = new ProofRound(challengeId, [.. DeviceClaim.FromInventory(inventory).Select(claim =>
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
        return true;
    }

    /// <summary>
    /// One pass: fails challenges whose deadline passed, and challenges connected providers never proven or due again.
    /// Returns how many providers were challenged.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
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
                if (provider.Status == ProviderStatus.Online && sessions.IsConnected(provider.Id)
                    && (!_providers.TryGetValue(provider.Id, out ProviderProof? p) || (p.Round is null && (p.NextDueMs <= now || p.FailedWhileAway))))
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

        return challenged;
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
            Get(providerId).Statements.Add(envelope); // what the provider signed this round: the evidence if it lied
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
        proof.LastPassed = passed;
        proof.FailedWhileAway = !passed && !sessions.IsConnected(providerId);
        proof.LastOutcomes = outcomes;
        proof.Tier = passed ? outcomes.Min(o => o.Tier) : 0;
        proof.NextDueMs = Now + NextDelayMs(passed);
        ProofOutcome? firstFailed = outcomes.FirstOrDefault(o => !o.Passed);
        bool slashing = firstFailed is not null && ProvablyWrong.Contains(firstFailed.Code) && proof.Statements.Count > 0;
        Settled?.Invoke(new HardwareProofSettled(providerId, round.ChallengeId, passed, outcomes, [.. proof.Statements], slashing));
        if (passed)
        {
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

        double delay = passed ? interval * (0.5 + Random.Shared.NextDouble()) : Math.Min(interval, TimeSpan.FromMinutes(5).TotalMilliseconds);
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

        /// <summary>The last round failed while the provider was not connected: it is challenged again when it returns.</summary>
        public bool FailedWhileAway { get; set; }

        public bool? LastPassed { get; set; }

        public IReadOnlyList<ProofOutcome> LastOutcomes { get; set; } = [];

        public int Tier { get; set; }

        public long NextDueMs { get; set; }

        /// <summary>The provider's signed commitments and openings of the current round.</summary>
        public List<SignedEnvelope> Statements { get; } = [];
    }

    private sealed record ProofRound(string ChallengeId, IReadOnlyList<HardwareProofSession> Devices);
}
