using System.Diagnostics;
using System.Security.Cryptography;
using Kumo.Crypto;
using Kumo.Signing;
using Kumo.Tensor.Training;
using Kumo.Verification.Disputes;

namespace Kumo.Verification.Simulation;

/// <summary>
/// Where a false accuser leaves the truth: from operator <paramref name="Operator"/> of the
/// <paramref name="Step"/>-th disputed step (1 = the first step after the agreed state) onward.
/// </summary>
public sealed record Lie(int Step, int Operator);

/// <summary>
/// A settled segment dispute: the game's outcome, and what settling it cost — the steps the two parties traced or
/// opened, the operators the referee recomputed, and the seconds all of that took.
/// </summary>
public sealed record SegmentDisputeResult(DisputeOutcome Outcome, int StepsTraced, int OperatorsReplayed, int OperatorsPerStep, double Seconds)
{
    /// <summary>The provider is slashed: its claim was wrong, it could not back it, or both claims were wrong.</summary>
    public bool ProviderLoses => Outcome.Verdict is DisputeVerdict.ProviderWrong or DisputeVerdict.ProviderTimedOut or DisputeVerdict.BothWrong;

    /// <summary>The challenger is slashed: its claim was wrong, it went silent, or it rejected a root it agrees with.</summary>
    public bool ChallengerLoses => Outcome.Verdict is DisputeVerdict.ChallengerWrong or DisputeVerdict.ChallengerTimedOut
        or DisputeVerdict.BothWrong or DisputeVerdict.NoDisagreement;

    /// <summary>The compute in training steps: traced steps plus each replayed operator as its share of a step.</summary>
    public double Steps => StepsTraced + (OperatorsReplayed / (double)Math.Max(1, OperatorsPerStep));
}

/// <summary>
/// A validator's challenge of a training segment, settled by the real game (<see cref="RefereedDispute"/>) over the
/// job's real training step (<see cref="SegmentWork.Replayer"/>): bisection over the disputed steps, then over the pinned
/// step's operators, then the referee recomputes that one operator from a party's opening. The provider's path is the
/// honest one except where it committed otherwise — a fabricated or re-committed root is its state after that step,
/// and at that step it agrees with the truth up to the last operator (the update that produced the state), the most a
/// cheater can agree on; it answers and opens honestly from the states it kept. An honest challenger traces the steps
/// from the agreed state; a lying one leaves the truth where its <see cref="Lie"/> says. A provider that cannot reveal
/// the agreed state answers nothing and loses.
/// </summary>
public static class SegmentDispute
{
    /// <param name="job">The job.</param>
    /// <param name="segment">The segment disputed.</param>
    /// <param name="startRoot">The root both parties agree on (a root the provider committed), from which the disputed steps run.</param>
    /// <param name="steps">How many steps after <paramref name="startRoot"/> are disputed.</param>
    /// <param name="providerRoots">The roots the provider committed inside the disputed steps, by step after the start (1 … <paramref name="steps"/>).</param>
    /// <param name="challengerLie">Null for an honest challenger; else where it leaves the truth.</param>
    /// <param name="time">The clock the rounds' deadlines are read from.</param>
    public static SegmentDisputeResult Run(TrainingJob job, int segment, string startRoot, int steps, IReadOnlyDictionary<int, string> providerRoots,
        Lie? challengerLie, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentNullException.ThrowIfNull(providerRoots);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        using var providerKey = AccountKey.Create();
        using var challengerKey = AccountKey.Create();
        var meter = new Meter();
        var referee = new MeteredReferee(SegmentWork.Replayer(job), meter);
        int operators = meter.Time(() => referee.OperatorCount); // the wiring: derived once per job, by the referee
        TrainingState? start = SegmentWork.State(job, startRoot);
        IDisputeParty provider, challenger;
        if (start is null)
        {
            (provider, challenger) = (new Silent(providerKey.AccountId), new Silent(challengerKey.AccountId));
        }
        else
        {
            int first = start.Step;
            provider = new PathParty(providerKey, referee.Inner, start, time, meter, trace =>
                providerRoots.TryGetValue(trace.Step - first, out string? root) && !string.Equals(root, trace.After.RootHex(), StringComparison.Ordinal)
                    ? Committed(job, trace, root)
                    : trace);
            challenger = new PathParty(challengerKey, referee.Inner, start, time, meter, trace =>
                challengerLie is { } lie && trace.Step - first == lie.Step ? Made(trace, lie.Operator) : trace);
        }

        var dispute = new DisputeCase($"{job.Id}/{segment}/{startRoot[..8]}", startRoot, segment, start?.Step ?? 0, startRoot, (start?.Step ?? 0) + steps);
        DisputeOutcome outcome = RefereedDispute.Run(dispute, provider, challenger, referee, DisputeRules.Default, time);
        return new SegmentDisputeResult(outcome, meter.Steps, meter.Operators, operators, meter.Seconds);
    }

    /// <summary>The step as a provider that committed <paramref name="root"/> after it claims it: true up to its last operator.</summary>
    private static StepTrace Committed(TrainingJob job, StepTrace trace, string root)
    {
        TrainingState kept = SegmentWork.State(job, root)
            ?? throw new InvalidOperationException($"the simulation keeps every committed state, but not {root} of job {job.Id}");
        OperatorRecord[] ops = [.. trace.Operators];
        ops[^1] = ops[^1] with { OutputHash = root };
        return trace with { Operators = ops, After = kept with { Step = trace.Step } };
    }

    /// <summary>The step as a liar tells it: made-up outputs from operator <paramref name="from"/> on, and a state to match.</summary>
    private static StepTrace Made(StepTrace trace, int from)
    {
        var weights = trace.After.Weights.ToList();
        weights[^1] = weights[^1] with { Data = [.. weights[^1].Data.Select(v => (v * 1.001f) + 1e-3f)] };
        TrainingState after = trace.After with { Weights = weights };
        OperatorRecord[] ops = [.. trace.Operators.Select(o => o.Index < from ? o
            : o with { OutputHash = o.Index == trace.Operators.Count - 1 ? after.RootHex()
                : Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes((trace.Step * 1_000) + o.Index))) })];
        return trace with { Operators = ops, After = after };
    }

    /// <summary>Counts and times the compute of a dispute (outermost calls only).</summary>
    private sealed class Meter
    {
        public int Steps { get; private set; }

        public int Operators { get; set; }

        public double Seconds { get; private set; }

        public T Step<T>(Func<T> work)
        {
            Steps++;
            return Time(work);
        }

        public T Time<T>(Func<T> work)
        {
            long started = Stopwatch.GetTimestamp();
            T result = work();
            Seconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
            return result;
        }
    }

    /// <summary>The referee's replayer: the game only asks it for the operator count and one replay.</summary>
    private sealed class MeteredReferee(IStepReplayer inner, Meter meter) : IStepReplayer
    {
        public IStepReplayer Inner => inner;

        public int OperatorCount => inner.OperatorCount;

        public StepTrace Trace(TrainingState before) => inner.Trace(before);

        public OperatorOpening Open(TrainingState before, int op) => inner.Open(before, op);

        public OperatorReplay Replay(string stateRootHex, string operatorInputHex, OperatorOpening opening)
        {
            meter.Operators++;
            return meter.Time(() => inner.Replay(stateRootHex, operatorInputHex, opening));
        }
    }

    /// <summary>A party on its own path: the honest step, bent by <paramref name="path"/>; every step it traces or opens is metered.</summary>
    private sealed class PathParty(AccountKey key, IStepReplayer replayer, TrainingState start, TimeProvider time, Meter meter, Func<StepTrace, StepTrace> path)
        : ReplayingParty(key, replayer, start, time)
    {
        private readonly IStepReplayer _replayer = replayer;

        public override OperatorOpening? Open(int step, int op)
        {
            _ = StateAfter(step - 1); // the steps before, traced (and metered) on their own
            return meter.Step(() => base.Open(step, op));
        }

        protected override StepTrace Execute(TrainingState before) => path(meter.Step(() => _replayer.Trace(before)));
    }

    /// <summary>A party that cannot answer: it has no state to start from.</summary>
    private sealed class Silent(AccountId account) : IDisputeParty
    {
        public AccountId Account => account;

        public SignedEnvelope? Answer(DisputeQuery query) => null;

        public OperatorOpening? Open(int step, int op) => null;
    }
}
