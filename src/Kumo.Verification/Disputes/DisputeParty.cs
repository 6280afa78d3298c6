using Kumo.Crypto;
using Kumo.Signing;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Disputes;

/// <summary>
/// One question of the bisection: the hash after operator <paramref name="Operator"/> of step <paramref name="Step"/>
/// (<see cref="StateOperator"/> for the committed state after the whole step), to be answered by
/// <paramref name="Deadline"/>.
/// </summary>
public sealed record DisputeQuery(string DisputeId, int Round, int Step, int Operator, DateTimeOffset Deadline)
{
    /// <summary>Operator number that asks for the state root after the step rather than one operator's output.</summary>
    public const int StateOperator = -1;
}

/// <summary>A party's answer to a <see cref="DisputeQuery"/>, which it signs: binding evidence if it turns out wrong.</summary>
public sealed record DisputeClaim(string DisputeId, int Round, int Step, int Operator, string Hash)
{
    /// <summary>The signed-envelope type of a claim.</summary>
    public const string EnvelopeType = "kumo.dispute.claim/v1";
}

/// <summary>
/// A side of a dispute: the provider defending its committed path, or the validator that challenged it. The hub maps
/// "no answer by the query's deadline" to null, which loses the dispute.
/// </summary>
public interface IDisputeParty
{
    AccountId Account { get; }

    /// <summary>The party's signed <see cref="DisputeClaim"/> for the query, or null if it did not answer in time.</summary>
    SignedEnvelope? Answer(DisputeQuery query);

    /// <summary>The full state after <paramref name="step"/>, for the referee, or null if not revealed in time.</summary>
    TrainingState? RevealState(int step);
}

/// <summary>
/// What the referee (and an honest party) can compute: one step, traced operator by operator, from a state.
/// </summary>
public interface IStepReplayer
{
    /// <summary>Operators per step (the same for every step of a job).</summary>
    int OperatorCount { get; }

    /// <summary>The step after <paramref name="before"/> with its operator trace.</summary>
    StepTrace Trace(TrainingState before);
}

/// <summary>The real training step of a job (<see cref="Trainer.TraceStep"/>).</summary>
public sealed class TrainingReplayer : IStepReplayer
{
    private readonly ModelSpec _spec;
    private readonly Tensor.Data.TrainingData _data;
    private readonly TrainOptions _options;
    private readonly Lazy<int> _operatorCount;

    public TrainingReplayer(ModelSpec spec, Tensor.Data.TrainingData data, TrainOptions options)
    {
        (_spec, _data, _options) = (spec, data, options);
        _operatorCount = new(() => Trace(Trainer.InitialState(_spec, _data, _options)).Operators.Count);
    }

    public int OperatorCount => _operatorCount.Value;

    public StepTrace Trace(TrainingState before) => Trainer.TraceStep(_spec, _data, _options, before);
}

/// <summary>
/// An honest party: recomputes every step it is asked about from a start state with the replayer, and signs what it
/// computed. Caches the states and traces it has computed. <see cref="Execute"/> is the one place a test can make it
/// dishonest.
/// </summary>
public class ReplayingParty : IDisputeParty
{
    private readonly AccountKey _key;
    private readonly IStepReplayer _replayer;
    private readonly Dictionary<int, TrainingState> _states = [];
    private readonly Dictionary<int, StepTrace> _traces = [];
    private long _nonce;

    public ReplayingParty(AccountKey key, IStepReplayer replayer, TrainingState start, TimeProvider? time = null)
    {
        (_key, _replayer) = (key, replayer);
        Time = time ?? TimeProvider.System;
        _states[start.Step] = start;
        FirstStep = start.Step;
    }

    public AccountId Account => _key.AccountId;

    /// <summary>The step of the start state; earlier steps are unknown to this party.</summary>
    public int FirstStep { get; }

    protected TimeProvider Time { get; }

    public virtual SignedEnvelope? Answer(DisputeQuery query)
    {
        if (query.Step < FirstStep || (query.Step == FirstStep && query.Operator != DisputeQuery.StateOperator))
        {
            return null;
        }

        string hash = query.Operator == DisputeQuery.StateOperator
            ? StateAt(query.Step).RootHex()
            : TraceOf(query.Step).Operators[query.Operator].OutputHash;
        return SignedEnvelope.Create(_key, DisputeClaim.EnvelopeType,
            new DisputeClaim(query.DisputeId, query.Round, query.Step, query.Operator, hash), ++_nonce, Time.GetUtcNow());
    }

    public virtual TrainingState? RevealState(int step) => step >= FirstStep ? StateAt(step) : null;

    /// <summary>One step of this party's path (honest: the replayer's).</summary>
    protected virtual StepTrace Execute(TrainingState before) => _replayer.Trace(before);

    private StepTrace TraceOf(int step)
    {
        if (!_traces.TryGetValue(step, out StepTrace? trace))
        {
            trace = Execute(StateAt(step - 1));
            _traces[step] = trace;
            _states[step] = trace.After;
        }

        return trace;
    }

    private TrainingState StateAt(int step)
    {
        int known = step;
        while (!_states.ContainsKey(known))
        {
            known--;
        }

        for (int s = known + 1; s <= step; s++)
        {
            TraceOf(s);
        }

        return _states[step];
    }
}
