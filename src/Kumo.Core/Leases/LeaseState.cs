namespace Kumo.Leases;

/// <summary>
/// The life of a lease:
/// <code>
///   Offered ──accept──▶ Accepted ──start──▶ Running ──result──▶ Closed(Completed | workload_* )
///      │                   │                   │
///      └─reject/expire─▶ Closed   (cancel, heartbeat lost, sandbox failure: any open state ─▶ Closed)
/// </code>
/// Closed is final; a late message about a closed lease is ignored, never applied.
/// </summary>
public enum LeaseState
{
    /// <summary>The hub offered the lease; the provider has not answered.</summary>
    Offered,
    /// <summary>The provider signed its acceptance and is fetching inputs and preparing the sandbox.</summary>
    Accepted,
    /// <summary>The workload is running.</summary>
    Running,
    Closed,
}

/// <summary>What can happen to a lease.</summary>
public enum LeaseEvent
{
    Accept,
    Reject,
    OfferExpired,
    Start,
    Finish,
    Cancel,
    HeartbeatLost,
    Fail,
}

/// <summary>The one place that says which lease transitions are legal.</summary>
public static class LeaseStateMachine
{
    public static bool TryTransition(LeaseState from, LeaseEvent @event, out LeaseState to)
    {
        to = (from, @event) switch
        {
            (LeaseState.Offered, LeaseEvent.Accept) => LeaseState.Accepted,
            (LeaseState.Offered, LeaseEvent.Reject or LeaseEvent.OfferExpired) => LeaseState.Closed,
            (LeaseState.Accepted, LeaseEvent.Start) => LeaseState.Running,
            // A very short workload may finish before its "started" report is processed.
            (LeaseState.Accepted or LeaseState.Running, LeaseEvent.Finish) => LeaseState.Closed,
            (LeaseState.Offered or LeaseState.Accepted or LeaseState.Running, LeaseEvent.Cancel or LeaseEvent.HeartbeatLost or LeaseEvent.Fail) => LeaseState.Closed,
            _ => from,
        };
        return to != from;
    }

    public static LeaseState Transition(LeaseState from, LeaseEvent @event) =>
        TryTransition(from, @event, out LeaseState to)
            ? to
            : throw new InvalidOperationException($"a lease in state {from} cannot take event {@event}");

    public static bool IsOpen(this LeaseState state) => state != LeaseState.Closed;
}
