using System.Text.Json;
using Kumo.Hub.Storage;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Market;

public sealed partial class MarketService
{
    // What each provider's book record was built from, to rebuild it only when that changes.
    private readonly Dictionary<string, string> _builtFrom = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _addresses = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _probeAddresses = new(StringComparer.Ordinal);
    private readonly HashSet<string> _bookLeases = new(StringComparer.Ordinal);
    private bool _clearingsLoaded;

    /// <summary>
    /// Brings the book in step with the store and the ledger: registrations (with attested attributes), liveness
    /// (online in the store and connected now), bond (stake ≥ the network minimum per device), reputation, and open
    /// leases (added when the book does not know them — after a hub restart — and ended when the store closed them).
    /// </summary>
    public async Task SyncAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<ProviderRecord> providers;
        IReadOnlyList<LeaseRecord> open;
        IReadOnlyList<ReputationRecord> reputations;
        IReadOnlyList<AttestationRecord> attestations;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            providers = await reader.ListProvidersAsync();
            open = await reader.ListOpenLeasesAsync(null);
            reputations = await reader.ListReputationAsync();
            attestations = await reader.ListAttestationsAsync();
        }

        IReadOnlyList<LeaseRecord> recent = [];
        if (!_clearingsLoaded)
        {
            // After a restart the market price of each model comes back from the leases of the last week.
            await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
            recent = await reader.ListLeasesAcceptedSinceAsync(Now() - (long)TimeSpan.FromDays(7).TotalMilliseconds, 10_000);
        }

        var reputation = reputations.ToDictionary(r => r.ProviderId, ReputationKeeper.Score, StringComparer.Ordinal);
        ILookup<string, AttestationRecord> attested = attestations.ToLookup(a => a.ProviderId, StringComparer.Ordinal);
        long minBond = ledger.Genesis.MinBondPerDevice;
        var released = new List<Bid>();
        lock (_gate)
        {
            foreach (ProviderRecord record in providers)
            {
                bool proven = hardware.MayWork(record); // first: it notes the claims this registration makes
                int? measuredTier = hardware.MeasuredTier(record.Id);
                string source = record.RegistrationEnvelope + "|" + string.Join("|", attested[record.Id].Select(a => a.Auditor + a.AttributesJson)) + "|" + measuredTier;
                MarketProvider? known = _book.Get(record.Id);
                if (known is null || !_builtFrom.TryGetValue(record.Id, out string? built) || built != source)
                {
                    ProviderRegistration registration = JsonSerializer.Deserialize<SignedEnvelope>(record.RegistrationEnvelope, KumoJson.Options)!
                        .PayloadAs<ProviderRegistration>();
                    MarketProvider provider = ProtocolMapping.ToMarketProvider(record.Id, registration) with
                    {
                        Attested = attested[record.Id].ToDictionary(
                            a => a.Auditor,
                            a => (IReadOnlyDictionary<string, string>)JsonSerializer.Deserialize<Dictionary<string, string>>(a.AttributesJson, KumoJson.Options)!,
                            StringComparer.Ordinal),
                    };
                    if (measuredTier is { } tier)
                    {
                        provider = provider with { PerformanceTier = tier }; // measured by the hardware proof, not declared
                    }

                    try
                    {
                        UpsertResult result = _book.Upsert(provider);
                        released.AddRange(result.ReleasedReservations);
                        foreach (string conflict in result.Conflicts)
                        {
                            logger.LogWarning("provider {Provider} re-registered with less than its leases hold: {Conflict}", record.Id, conflict);
                        }

                        _builtFrom[record.Id] = source;
                        _addresses[record.Id] = registration.Address;
                        if (registration.ProbeAddress.Length > 0)
                        {
                            _probeAddresses[record.Id] = registration.ProbeAddress;
                        }
                        else
                        {
                            _probeAddresses.Remove(record.Id);
                        }
                    }
                    catch (ArgumentException e)
                    {
                        logger.LogWarning("provider {Provider} cannot be in the market: {Error}", record.Id, e.Message);
                        continue;
                    }
                }

                // A provider not proven for the devices it registers (new, changed, or its latest proof failed), or that the
                // checkers paused, gets no work until that changes.
                _book.SetOnline(record.Id, record.Status == ProviderStatus.Online && sessions.IsConnected(record.Id)
                    && proven && !checks.IsPaused(record.Id));
                MarketProvider current = _book.Get(record.Id)!;
                long bonded = ledger.Read(s => s.Bonded(Crypto.AccountId.Parse(record.Id)));
                _book.SetBonded(record.Id, bonded >= minBond * Math.Max(1, current.Gpus.Count));
                // Lease outcomes times the checkers' liveness and capacity score (docs/CHECKERS.md).
                _book.SetReputation(record.Id, reputation.GetValueOrDefault(record.Id, 1) * checks.Reputation(record.Id));
            }

            var stillOpen = open.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
            foreach (string leaseId in _bookLeases.Where(id => !stillOpen.Contains(id)).ToList())
            {
                _book.EndLease(leaseId);
                _bookLeases.Remove(leaseId);
            }

            foreach (LeaseRecord lease in open.Where(l => !_bookLeases.Contains(l.Id)))
            {
                Allocation allocation = JsonSerializer.Deserialize<Allocation>(lease.AllocationJson, KumoJson.Options)!;
                var handle = new LeaseHandle(lease.Id, lease.JobId, lease.BidId ?? lease.Id, lease.ProviderId, ProtocolMapping.ToNode(allocation),
                    lease.PricePerHourMicros, lease.AcceptedAt ?? lease.OfferedAt, null);
                if (_book.AdoptLease(handle, out string? reason))
                {
                    _bookLeases.Add(lease.Id);
                }
                else
                {
                    logger.LogWarning("lease {Lease} is not in the market's book: {Reason}", lease.Id, reason);
                }
            }

            if (!_clearingsLoaded)
            {
                _clearingsLoaded = true;
                foreach (LeaseRecord lease in recent.Reverse().Where(l => l.ReplicaOf is null)) // replicas run at no price: not a market price
                {
                    Allocation allocation = JsonSerializer.Deserialize<Allocation>(lease.AllocationJson, KumoJson.Options)!;
                    if (allocation.GpuUuids.Count > 0 && allocation.GpuModel is { } model)
                    {
                        _book.RecordClearing(model, lease.PricePerHourMicros / allocation.GpuUuids.Count, lease.AcceptedAt ?? lease.OfferedAt);
                    }
                    else if (allocation.CpuMillicores > 0)
                    {
                        _book.RecordClearing("cpu", (long)((Int128)lease.PricePerHourMicros * 1000 / allocation.CpuMillicores), lease.AcceptedAt ?? lease.OfferedAt);
                    }
                }
            }

            foreach (Bid bid in released)
            {
                if (_byOrder.TryGetValue(bid.OrderId, out OrderRound? round))
                {
                    round.Bids.Remove(bid.Id);
                }
            }
        }

        if (released.Count > 0)
        {
            await MarkBidsAsync([.. released.Select(b => (b.Id, BidState.Lost, "the provider re-registered without that capacity"))], Now(), cancellationToken);
            await TellLosersAsync(released, null, "the provider re-registered without that capacity", cancellationToken);
        }
    }
}
