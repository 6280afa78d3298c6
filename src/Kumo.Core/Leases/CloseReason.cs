namespace Kumo.Leases;

/// <summary>
/// Why a lease ended. Values fall in ranges by the party at fault, so billing, reputation and failover can
/// act on the range without knowing every reason: 1 is success, 1000–1999 the tenant's side (including the
/// tenant's own program failing), 2000–2999 the provider's, 3000–3999 the network's.
/// Values are part of the protocol and stored: never renumber, only add.
/// </summary>
public enum CloseReason
{
    None = 0,

    /// <summary>The workload exited 0 and its outputs were uploaded.</summary>
    Completed = 1,

    // Tenant (owner) side: 1000–1999.
    TenantCancelled = 1000,
    WorkloadFailed = 1001,
    WorkloadTimedOut = 1002,
    WorkloadOutOfMemory = 1003,
    WorkloadDiskLimitExceeded = 1004,
    WorkloadKilledBySignal = 1005,
    InputUnavailable = 1006,

    // Provider side: 2000–2999.
    ProviderHeartbeatLost = 2000,
    ProviderRejected = 2001,
    ProviderOfferExpired = 2002,
    ProviderSandboxFailed = 2003,
    ProviderUploadFailed = 2004,
    ProviderUnstable = 2005,

    // Network side: 3000–3999.
    NetworkHubRestarted = 3000,
    NetworkInsufficientFunds = 3001,

    /// <summary>Another node of the cluster failed on its provider's side; the whole group is re-ordered.</summary>
    NetworkClusterFailover = 3002,

    /// <summary>Another node of the cluster ended the job (its workload failed, or its provider turned the offer down).</summary>
    NetworkClusterEnded = 3003,
}

/// <summary>Who a close reason blames.</summary>
public enum FaultParty
{
    None,
    Tenant,
    Provider,
    Network,
}

public static class CloseReasonExtensions
{
    public static FaultParty Party(this CloseReason reason) => (int)reason switch
    {
        >= 1000 and < 2000 => FaultParty.Tenant,
        >= 2000 and < 3000 => FaultParty.Provider,
        >= 3000 and < 4000 => FaultParty.Network,
        _ => FaultParty.None,
    };

    /// <summary>
    /// A fault of the provider while it held the lease (lost, crashed, broke its sandbox or upload): the job fails
    /// over to other providers, the provider's reputation suffers and the ledger slashes part of its bond. Turning an
    /// offer down (or letting it expire) before accepting is not a fault of this kind.
    /// </summary>
    public static bool IsProviderFault(this CloseReason reason) =>
        reason.Party() == FaultParty.Provider && !reason.IsRetryableElsewhere();

    /// <summary>True when another provider may succeed where this one did not (the job should be offered again).</summary>
    public static bool IsRetryableElsewhere(this CloseReason reason) =>
        reason is CloseReason.ProviderRejected or CloseReason.ProviderOfferExpired;
}
