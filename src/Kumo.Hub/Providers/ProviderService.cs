using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Leases;
using Kumo.Hardware;
using Kumo.Hub.Storage;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Providers;

/// <summary>Registration, heartbeats and the provider listing.</summary>
public sealed class ProviderService(
    IHubStore store,
    EnvelopeAuthenticator auth,
    TimeProvider time,
    HubSignals signals,
    Market.NetworkMeasurements network,
    Verification.ProviderCheckService checks,
    Verification.ValidatorDispatch validators,
    Verification.HardwareProofService hardware,
    ILogger<ProviderService> logger)
{
    /// <summary>Registers or updates a provider from its signed <see cref="ProviderRegistration"/>.</summary>
    public async Task<ProviderView> RegisterAsync(SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        ProviderRegistration registration = envelope.ReadPayload<ProviderRegistration>();
        Validate(registration);
        long now = Now();
        ProviderRecord record;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            await auth.RecordNonceAsync(tx, envelope);
            ProviderRecord? existing = await tx.GetProviderAsync(envelope.Signer.Value);
            var mine = registration.Inventory.Gpus.Select(g => g.Uuid).ToHashSet(StringComparer.Ordinal);
            foreach (ProviderRecord other in (await tx.ListProvidersAsync()).Where(p => p.Id != envelope.Signer.Value))
            {
                HardwareInventory theirs = JsonSerializer.Deserialize<HardwareInventory>(other.InventoryJson, KumoJson.Options)!;
                if (theirs.Gpus.FirstOrDefault(g => mine.Contains(g.Uuid)) is { } claimed)
                {
                    throw ApiProblem.Conflict("gpu_claimed", $"GPU {claimed.Uuid} is already registered by provider {other.Id}; one device cannot be offered twice", "payload.inventory.gpus");
                }
            }

            record = new ProviderRecord
            {
                Id = envelope.Signer.Value,
                Name = registration.Name,
                PublicKey = envelope.PublicKey,
                RegistrationEnvelope = envelope.ToJson(),
                InventoryJson = JsonSerializer.Serialize(registration.Inventory, KumoJson.Options),
                PricingJson = JsonSerializer.Serialize(registration.Pricing, KumoJson.Options),
                Sandbox = registration.Sandbox,
                Simulated = registration.Inventory.HasSimulatedGpus,
                Status = existing?.Status ?? ProviderStatus.Offline,
                RegisteredAt = existing?.RegisteredAt ?? now,
                LastHeartbeatAt = existing?.LastHeartbeatAt,
                LastHeartbeatSeq = existing?.LastHeartbeatSeq ?? 0,
            };
            await tx.UpsertProviderAsync(record);
            await tx.CommitAsync();
        }

        logger.LogInformation("provider {Id} ({Name}) registered: {Cores} cores, {Gpus} GPU(s){Simulated}",
            record.Id, record.Name, registration.Inventory.Cpu.LogicalCores, registration.Inventory.Gpus.Count, record.Simulated ? " (simulated)" : "");
        return await GetAsync(record.Id, cancellationToken);
    }

    /// <summary>
    /// Applies a signed heartbeat: the provider is online, and any lease the hub thinks it runs but it no longer
    /// reports is closed as <see cref="CloseReason.ProviderUnstable"/> (an agent that restarted lost it).
    /// Returns the leases closed that way so the caller can notify.
    /// </summary>
    public async Task<IReadOnlyList<LeaseRecord>> HeartbeatAsync(SignedEnvelope envelope, LeaseCoordinator leases, CancellationToken cancellationToken)
    {
        Heartbeat heartbeat = envelope.ReadPayload<Heartbeat>();
        long now = Now();
        // Heartbeats are the most frequent write: they share transactions with each other (group commit).
        (bool cameOnline, List<LeaseRecord> lost) = await store.WriteBatchedAsync(async tx =>
        {
            await auth.RecordNonceAsync(tx, envelope);
            ProviderStatus before = await tx.TouchProviderAsync(envelope.Signer.Value, now, heartbeat.Sequence)
                ?? throw ApiProblem.NotFound("unknown_provider", $"{envelope.Signer} has not registered; POST /v1/providers first");

            var running = heartbeat.RunningLeases.ToHashSet(StringComparer.Ordinal);
            var closed = new List<LeaseRecord>();
            foreach (OpenLease open in await tx.ListOpenLeaseStatesAsync(envelope.Signer.Value))
            {
                bool shouldRun = open.State is LeaseState.Accepted or LeaseState.Running;
                if (shouldRun && !running.Contains(open.Id) && open.AcceptedAt < envelope.Timestamp)
                {
                    LeaseRecord lease = (await tx.GetLeaseAsync(open.Id))!;
                    closed.Add(await leases.CloseInAsync(tx, lease, LeaseEvent.Fail, CloseReason.ProviderUnstable,
                        "the provider's heartbeat no longer lists this lease (agent restarted or lost it)", exitCode: null, now, alsoClosed: closed));
                }
            }

            return (before != ProviderStatus.Online, closed);
        }, cancellationToken);

        if (cameOnline)
        {
            signals.WakeScheduler();
        }

        foreach (LeaseRecord lease in lost)
        {
            leases.AfterClose(lease);
        }

        return lost;
    }

    public async Task<ProviderView> GetAsync(string id, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        ProviderRecord provider = await reader.GetProviderAsync(id)
            ?? throw ApiProblem.NotFound("unknown_provider", $"no provider {id} is registered");
        return WithMeasurements(ToView(provider, await reader.ListOpenLeasesAsync(id), await reader.GetReputationAsync(id),
            [.. (await reader.ListAttestationsAsync()).Where(a => a.ProviderId == id)]));
    }

    public async Task<IReadOnlyList<ProviderView>> ListAsync(CancellationToken cancellationToken)
    {
        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        IReadOnlyList<LeaseRecord> open = await reader.ListOpenLeasesAsync(null);
        ILookup<string, LeaseRecord> byProvider = open.ToLookup(l => l.ProviderId, StringComparer.Ordinal);
        var reputation = (await reader.ListReputationAsync()).ToDictionary(r => r.ProviderId, StringComparer.Ordinal);
        ILookup<string, AttestationRecord> attested = (await reader.ListAttestationsAsync()).ToLookup(a => a.ProviderId, StringComparer.Ordinal);
        return [.. (await reader.ListProvidersAsync()).Select(p => WithMeasurements(ToView(p, [.. byProvider[p.Id]], reputation.GetValueOrDefault(p.Id), [.. attested[p.Id]])))];
    }

    /// <summary>Adds what peers measured of this machine's network (bandwidth, how many peers).</summary>
    private ProviderView WithMeasurements(ProviderView view)
    {
        long now = Now();
        Verification.ProviderCheckStatus? health = checks.Status(view.Id.Value);
        return view with
        {
            MeasuredBandwidthMbps = network.BandwidthMbps(view.Id.Value, now),
            MeasuredPeers = network.PeersMeasured(view.Id.Value, now),
            Health = health is null ? null : health.Away ? "away" : Leases.Names.Of(health.Health),
            Validator = validators.Standing(view.Id.Value) is { } standing ? Leases.Names.Of(standing.Status) : null,
            HardwareProof = hardware.Describe(view.Id.Value),
            MeasuredTier = hardware.MeasuredTier(view.Id.Value),
        };
    }

    internal static ProviderView ToView(ProviderRecord provider, IReadOnlyList<LeaseRecord> openLeases, ReputationRecord? reputation,
        IReadOnlyList<AttestationRecord> attestations)
    {
        HardwareInventory inventory = JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options)!;
        ProviderPricing pricing = JsonSerializer.Deserialize<ProviderPricing>(provider.PricingJson, KumoJson.Options)!;
        ProviderRegistration registration = JsonSerializer.Deserialize<SignedEnvelope>(provider.RegistrationEnvelope, KumoJson.Options)!
            .PayloadAs<ProviderRegistration>();
        List<Allocation> held = [.. openLeases.Select(l => JsonSerializer.Deserialize<Allocation>(l.AllocationJson, KumoJson.Options)!)];
        var usedGpus = held.SelectMany(a => a.GpuUuids).ToHashSet(StringComparer.Ordinal);
        var free = new ResourceAmounts(
            (int)Math.Max(0, (inventory.Cpu.LogicalCores * 1000L) - held.Sum(a => (long)a.CpuMillicores)),
            Math.Max(0, inventory.MemoryBytes - held.Sum(a => a.MemoryBytes)),
            Math.Max(0, inventory.DiskBytes - held.Sum(a => a.DiskBytes)),
            inventory.Gpus.Count(g => !usedGpus.Contains(g.Uuid)));
        return new ProviderView(
            Kumo.Crypto.AccountId.Parse(provider.Id),
            provider.Name,
            provider.Status,
            provider.Simulated,
            inventory,
            provider.Sandbox,
            pricing,
            DateTimeOffset.FromUnixTimeMilliseconds(provider.RegisteredAt),
            provider.LastHeartbeatAt is { } at ? DateTimeOffset.FromUnixTimeMilliseconds(at) : null,
            openLeases.Count,
            free)
        {
            Region = registration.Region,
            LatencyZone = registration.LatencyZone,
            PerformanceTier = registration.PerformanceTier,
            Reputation = Market.ReputationKeeper.Score(reputation),
            Outcomes = reputation?.Outcomes ?? 0,
            Attested = attestations.ToDictionary(
                a => a.Auditor,
                a => (IReadOnlyDictionary<string, string>)JsonSerializer.Deserialize<Dictionary<string, string>>(a.AttributesJson, KumoJson.Options)!,
                StringComparer.Ordinal),
        };
    }

    private static void Validate(ProviderRegistration registration)
    {
        if (string.IsNullOrWhiteSpace(registration.Name) || registration.Name.Length > 64)
        {
            throw ApiProblem.BadRequest("invalid_registration", "name must be 1–64 characters", "payload.name");
        }

        if (registration.Inventory.Cpu.LogicalCores <= 0 || registration.Inventory.MemoryBytes <= 0)
        {
            throw ApiProblem.BadRequest("invalid_registration", "inventory must declare at least one core and some memory", "payload.inventory");
        }

        if (registration.Inventory.Gpus.Select(g => g.Uuid).Distinct(StringComparer.Ordinal).Count() != registration.Inventory.Gpus.Count)
        {
            throw ApiProblem.BadRequest("invalid_registration", "two GPUs share a UUID", "payload.inventory.gpus");
        }

        ProviderPricing pricing = registration.Pricing;
        if (pricing.PerGpuHourMicros < 0 || pricing.PerCpuCoreHourMicros < 0 || pricing.PerGibMemoryHourMicros < 0 || pricing.PerGibDiskHourMicros < 0
            || pricing.FloorPerHourMicros < 0 || pricing.PerGpuModel.Any(p => p.PerHourMicros < 0))
        {
            throw ApiProblem.BadRequest("invalid_registration", "prices cannot be negative", "payload.pricing");
        }

        if (pricing.PerGpuModel.Count > 64 || pricing.PerGpuModel.Any(p => string.IsNullOrWhiteSpace(p.Pattern) || p.Pattern.Length > 128))
        {
            throw ApiProblem.BadRequest("invalid_registration", "per-model GPU prices: at most 64, each with a pattern of 1–128 characters", "payload.pricing.perGpuModel");
        }

        if (!IsName(registration.Region) || !IsName(registration.LatencyZone))
        {
            throw ApiProblem.BadRequest("invalid_registration", "region and latency zone are 0–32 lower-case letters, digits and '-' (eu-west)", "payload.region");
        }

        if (registration.PerformanceTier is < 0 or > 1_000_000 || registration.Address.Length > 255)
        {
            throw ApiProblem.BadRequest("invalid_registration", "performance tier must be 0–1,000,000 and the address at most 255 characters", "payload.performanceTier");
        }

        if (registration.ProbeAddress.Length > 0 && !HostPort.TryParse(registration.ProbeAddress, out _, out _, out _))
        {
            throw ApiProblem.BadRequest("invalid_registration",
                $"probe address must be host:port with a port from 1 to 65535 (10.0.0.5:7300), found '{registration.ProbeAddress}'", "payload.probeAddress");
        }
    }

    private static bool IsName(string value) =>
        value.Length <= 32 && value.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');

    private long Now() => time.GetUtcNow().ToUnixTimeMilliseconds();
}
