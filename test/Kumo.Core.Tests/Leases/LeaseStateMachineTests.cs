using Kumo.Leases;

namespace Kumo.Core.Tests.Leases;

public class LeaseStateMachineTests
{
    /// <summary>The intended table, written out independently of the implementation: every legal move.</summary>
    private static readonly Dictionary<(LeaseState From, LeaseEvent Event), LeaseState> Legal = new()
    {
        [(LeaseState.Offered, LeaseEvent.Accept)] = LeaseState.Accepted,
        [(LeaseState.Offered, LeaseEvent.Reject)] = LeaseState.Closed,
        [(LeaseState.Offered, LeaseEvent.OfferExpired)] = LeaseState.Closed,
        [(LeaseState.Offered, LeaseEvent.Cancel)] = LeaseState.Closed,
        [(LeaseState.Offered, LeaseEvent.HeartbeatLost)] = LeaseState.Closed,
        [(LeaseState.Offered, LeaseEvent.Fail)] = LeaseState.Closed,

        [(LeaseState.Accepted, LeaseEvent.Start)] = LeaseState.Running,
        [(LeaseState.Accepted, LeaseEvent.Finish)] = LeaseState.Closed,
        [(LeaseState.Accepted, LeaseEvent.Cancel)] = LeaseState.Closed,
        [(LeaseState.Accepted, LeaseEvent.HeartbeatLost)] = LeaseState.Closed,
        [(LeaseState.Accepted, LeaseEvent.Fail)] = LeaseState.Closed,

        [(LeaseState.Running, LeaseEvent.Finish)] = LeaseState.Closed,
        [(LeaseState.Running, LeaseEvent.Cancel)] = LeaseState.Closed,
        [(LeaseState.Running, LeaseEvent.HeartbeatLost)] = LeaseState.Closed,
        [(LeaseState.Running, LeaseEvent.Fail)] = LeaseState.Closed,
    };

    public static TheoryData<LeaseState, LeaseEvent> EveryPair()
    {
        var data = new TheoryData<LeaseState, LeaseEvent>();
        foreach (LeaseState state in Enum.GetValues<LeaseState>())
        {
            foreach (LeaseEvent @event in Enum.GetValues<LeaseEvent>())
            {
                data.Add(state, @event);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(EveryPair))]
    public void Every_state_and_event_pair_follows_the_intended_table(LeaseState from, LeaseEvent @event)
    {
        bool moved = LeaseStateMachine.TryTransition(from, @event, out LeaseState to);

        if (Legal.TryGetValue((from, @event), out LeaseState expected))
        {
            Assert.True(moved, $"{from} --{@event}--> should be legal");
            Assert.Equal(expected, to);
            Assert.Equal(expected, LeaseStateMachine.Transition(from, @event));
        }
        else
        {
            Assert.False(moved, $"{from} --{@event}--> should be illegal");
            Assert.Equal(from, to);
            var error = Assert.Throws<InvalidOperationException>(() => LeaseStateMachine.Transition(from, @event));
            Assert.Contains(from.ToString(), error.Message, StringComparison.Ordinal);
            Assert.Contains(@event.ToString(), error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_table_covers_four_states_and_eight_events_with_fifteen_legal_moves()
    {
        // If a state or an event is added, this fails and the table above must be extended deliberately.
        Assert.Equal(4, Enum.GetValues<LeaseState>().Length);
        Assert.Equal(8, Enum.GetValues<LeaseEvent>().Length);
        Assert.Equal(15, Legal.Count);
    }

    [Fact]
    public void Closed_is_final_no_event_leaves_it()
    {
        foreach (LeaseEvent @event in Enum.GetValues<LeaseEvent>())
        {
            Assert.False(LeaseStateMachine.TryTransition(LeaseState.Closed, @event, out LeaseState to), $"Closed took {@event}");
            Assert.Equal(LeaseState.Closed, to);
        }
    }

    [Fact]
    public void Only_closed_is_not_open()
    {
        Assert.True(LeaseState.Offered.IsOpen());
        Assert.True(LeaseState.Accepted.IsOpen());
        Assert.True(LeaseState.Running.IsOpen());
        Assert.False(LeaseState.Closed.IsOpen());
    }

    [Fact]
    public void Every_open_state_reaches_closed_on_cancel_heartbeat_lost_and_fail()
    {
        LeaseState[] open = [LeaseState.Offered, LeaseState.Accepted, LeaseState.Running];
        LeaseEvent[] endings = [LeaseEvent.Cancel, LeaseEvent.HeartbeatLost, LeaseEvent.Fail];
        foreach (LeaseState state in open)
        {
            foreach (LeaseEvent @event in endings)
            {
                Assert.Equal(LeaseState.Closed, LeaseStateMachine.Transition(state, @event));
            }
        }
    }

    [Fact]
    public void The_happy_path_runs_offered_accepted_running_closed()
    {
        LeaseState state = LeaseState.Offered;
        state = LeaseStateMachine.Transition(state, LeaseEvent.Accept);
        Assert.Equal(LeaseState.Accepted, state);
        state = LeaseStateMachine.Transition(state, LeaseEvent.Start);
        Assert.Equal(LeaseState.Running, state);
        state = LeaseStateMachine.Transition(state, LeaseEvent.Finish);
        Assert.Equal(LeaseState.Closed, state);
    }

    [Fact]
    public void A_late_event_on_a_closed_lease_throws_naming_state_and_event()
    {
        var error = Assert.Throws<InvalidOperationException>(() => LeaseStateMachine.Transition(LeaseState.Closed, LeaseEvent.Finish));
        Assert.Equal("a lease in state Closed cannot take event Finish", error.Message);
    }
}
