namespace Kumo.Jobs;

/// <summary>
/// Where a job stands. Its order is open (Queued), then gathers bids (Bidding), then is leased — or expires when no
/// acceptable bid came. Succeeded, Failed, Cancelled and Expired are final. Values are stored: never renumber.
/// </summary>
public enum JobState
{
    /// <summary>The order is open: waiting for providers that could run it.</summary>
    Queued = 0,
    /// <summary>Offered to, or accepted by, providers; not yet running.</summary>
    Leased = 1,
    Running = 2,
    Succeeded = 3,
    Failed = 4,
    Cancelled = 5,
    /// <summary>Bid requests are out, or bids wait for the tenant to accept one.</summary>
    Bidding = 6,
    /// <summary>The bidding window closed without an acceptable bid; the job carries the explanation.</summary>
    Expired = 7,
}

public static class JobStateExtensions
{
    public static bool IsFinal(this JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled or JobState.Expired;

    /// <summary>The order is still looking for providers (open or bidding).</summary>
    public static bool IsOrderOpen(this JobState state) => state is JobState.Queued or JobState.Bidding;
}
