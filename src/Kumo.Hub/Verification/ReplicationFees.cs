using System.Text.Json;
using Kumo.Hardware;
using Kumo.Hub.Control;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Verification.Replication;

namespace Kumo.Hub.Verification;

/// <summary>
/// What an <c>exec</c> lease's provider pays towards the replicas that check it (docs/REPLICATION.md, "Who pays for a
/// replica"): its replication probability on the run's hardware class, in basis points of its pay — all of it while on
/// probation, ⌈1/n⌉ once trusted —, so that every provider funds its own checks in expectation and the tenant pays for
/// one run. The offer carries the fee, the provider's signed acceptance repeats it, and the ledger splits it off each
/// settlement into the replication pool, which pays the replicas whose outputs stood.
/// </summary>
public sealed class ReplicationFees(LedgerService ledger, ProviderSessions sessions, HubOptions options)
{
    private readonly AdaptiveReplication _policy = new();

    /// <summary>
    /// The fee for offering <paramref name="allocation"/> of <paramref name="providerId"/> to a job of
    /// <paramref name="spec"/> with <paramref name="nodes"/> nodes, and why; (0, "") when the job will not be replicated
    /// (not exec, a cluster, network access, replication off, a genesis without replication fees) or when no other
    /// connected provider of its hardware class could check it now.
    /// </summary>
    public async Task<(int Bps, string Reason)> QuoteAsync(IHubReader reader, JobSpec spec, int nodes, string providerId, Allocation allocation)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(spec);
        int max = ledger.Genesis.MaxReplicationFeeBps;
        if (max == 0 || !options.ReplicateExec || nodes != 1 || spec.Workload.Exec is not { Network: false })
        {
            return (0, "");
        }

        if (await reader.GetProviderAsync(providerId) is not { } provider)
        {
            return (0, "");
        }

        string hardwareClass = ExecHardwareClass.Of(Inventory(provider), allocation);
        bool checkable = (await reader.ListProvidersAsync()).Any(p => p.Id != providerId && p.Status == ProviderStatus.Online && sessions.IsConnected(p.Id)
            && ExecHardwareClass.Fit(Inventory(p), [], allocation, hardwareClass) is not null);
        if (!checkable)
        {
            return (0, ""); // a job nobody can replicate is accepted unchecked: it should not pay for a check
        }

        int agreements = (int)Math.Min(int.MaxValue, (await reader.ListExecTrustAsync())
            .FirstOrDefault(t => t.ProviderId == providerId && t.HardwareClass == hardwareClass)?.Agreements ?? 0);
        int bps = Math.Min(max, _policy.ReplicationFeeBps(agreements));
        string reason = agreements < _policy.TrustThreshold
            ? $"on probation on {hardwareClass} with {agreements} of {_policy.TrustThreshold} agreeing results: every job is replicated"
            : $"{agreements} consecutive agreeing results on {hardwareClass}: 1 job in {Math.Min(agreements, _policy.MaxInterval)} is replicated";
        return (bps, reason);
    }

    private static HardwareInventory Inventory(ProviderRecord provider) =>
        JsonSerializer.Deserialize<HardwareInventory>(provider.InventoryJson, KumoJson.Options)!;
}
