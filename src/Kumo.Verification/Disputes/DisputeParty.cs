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

    /// <summary>
    /// What the referee needs to recompute operator <paramref name="op"/> of <paramref name="step"/> alone
    /// (<see cref="OperatorOpening"/>), or null if not revealed in time.
    /// </summary>
    OperatorOpening? Open(int step, int op);
}

/// <summary>
/// What an honest party computes — one step, traced operator by operator, and the opening of one operator — and what
/// the referee computes: one operator alone, from an opening.
/// </summary>
public interface IStepReplayer
{
    /// <summary>Operators per step (the same for every step of a job).</summary>
    int OperatorCount { get; }

    /// <summary>The step after <paramref name="before"/> with its operator trace.</summary>
    StepTrace Trace(TrainingState before);

    /// <summary>The opening of operator <paramref name="op"/> of the step after <paramref name="before"/>.</summary>
    OperatorOpening Open(TrainingState before, int op);

    /// <summary>
    /// The referee's move: operator <see cref="OperatorOpening.Operator"/> recomputed from <paramref name="opening"/>'s
    /// inputs, authenticated against the agreed root before the step and the agreed input hash of the operator.
    /// </summary>
    OperatorReplay Replay(string stateRootHex, string operatorInputHex, OperatorOpening opening);
}

/// <summary>The real training step of a job (<see cref="Trainer.TraceStep"/>).</summary>
public sealed class TrainingReplayer : IStepReplayer
{
    private readonly ModelSpec _spec;
    private readonly Tensor.Data.TrainingData _data;
    private readonly TrainOptions _options;
    private readonly Lazy<OperatorWiring> _wiring;

    public TrainingReplayer(ModelSpec spec, Tensor.Data.TrainingData data, TrainOptions options)
    {
        (_spec, _data, _options) = (spec, data, options);
        _wiring = new(() => Trainer.Wiring(_spec, _data, _options));
    }

    /// <summary>The step's operators and how they connect, derived from the spec alone.</summary>
    public OperatorWiring Wiring => _wiring.Value;

    public int OperatorCount => Wiring.Count;

    public StepTrace Trace(TrainingState before) => Trainer.TraceStep(_spec, _data, _options, before);

    public OperatorOpening Open(TrainingState before, int op) => Trainer.OpenOperator(_spec, _data, _options, before, op);

    public OperatorReplay Replay(string stateRootHex, string operatorInputHex, OperatorOpening opening) =>
        Trainer.ReplayOperator(_spec, _data, _options, Wiring, stateRootHex, operatorInputHex, opening);
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

    public virtual OperatorOpening? Open(int step, int op) => step > FirstStep ? _replayer.Open(StateAt(step - 1), op) : null;

    /// <summary>The state after <paramref name="step"/> on this party's path (null before its start).</summary>
    public TrainingState? StateAfter(int step) => step >= FirstStep ? StateAt(step) : null;

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
