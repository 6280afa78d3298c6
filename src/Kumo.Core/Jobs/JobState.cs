namespace Kumo.Jobs;

/// <summary>Where a job stands. Succeeded, Failed and Cancelled are final.</summary>
public enum JobState
{
    /// <summary>Waiting for a provider with room for it.</summary>
    Queued,
    /// <summary>Offered to, or accepted by, a provider; not yet running.</summary>
    Leased,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

public static class JobStateExtensions
{
    public static bool IsFinal(this JobState state) => state is JobState.Succeeded or JobState.Failed or JobState.Cancelled;
}
