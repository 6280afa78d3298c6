using Kumo.Crypto;
using Kumo.Signing;
using Kumo.Tensor.Training;
using Kumo.Verification.Disputes;
using Xunit.Abstractions;
using Kumo.Verification.Tests.Learning;

namespace Kumo.Verification.Tests.Disputes;

public sealed class DisputeTests(ITestOutputHelper output) : IDisposable
{
    private readonly AccountKey _providerKey = AccountKey.Create();
    private readonly AccountKey _challengerKey = AccountKey.Create();
    private readonly TimeProvider _time = new FixedTime(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));

    public void Dispose()
    {
        _providerKey.Dispose();
        _challengerKey.Dispose();
    }

    [Fact]
    public void Over_10000_steps_the_game_pins_the_cheated_step_and_operator_within_the_round_bound()
    {
        const int steps = 10_000, operators = 64;
        var honest = new SyntheticStepMachine(operators);
        var provider = new ReplayingParty(_providerKey, new SyntheticStepMachine(operators, (6_789, 37)), SyntheticStepMachine.Start, _time);
        var challenger = new ReplayingParty(_challengerKey, honest, SyntheticStepMachine.Start, _time);
        DisputeCase dispute = new("d-10k", new string('a', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), steps);

        DisputeOutcome outcome = RefereedDispute.Run(dispute, provider, challenger, honest, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ProviderWrong, outcome.Verdict);
        Assert.Equal(_challengerKey.AccountId, outcome.Winner);
        Assert.Equal([_providerKey.AccountId], outcome.Losers);
        Assert.Equal(6_789, outcome.Step);
        Assert.Equal(37, outcome.Operator);
        Assert.Equal(14 + 6, RefereedDispute.MaxRounds(steps, operators));
        Assert.InRange(outcome.Rounds, 1, RefereedDispute.MaxRounds(steps, operators));
        Assert.Equal(2 * (outcome.Rounds + 1), outcome.Evidence.Count);
        output.WriteLine($"T = {steps}, {operators} operators: {outcome.Rounds} rounds (bound {RefereedDispute.MaxRounds(steps, operators)})");
        Assert.All(outcome.Evidence, e => Assert.True(e.TryVerify(out _)));
    }

    [Fact]
    public void The_bound_holds_wherever_the_cheat_is()
    {
        const int steps = 1_000, operators = 13;
        var honest = new SyntheticStepMachine(operators);
        foreach ((int step, int op) in new[] { (1, 0), (1, 12), (1_000, 0), (1_000, 12), (500, 6), (999, 11), (2, 1) })
        {
            var provider = new ReplayingParty(_providerKey, new SyntheticStepMachine(operators, (step, op)), SyntheticStepMachine.Start, _time);
            var challenger = new ReplayingParty(_challengerKey, honest, SyntheticStepMachine.Start, _time);
            DisputeOutcome outcome = RefereedDispute.Run(new($"d-{step}-{op}", new string('a', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), steps),
                provider, challenger, honest, DisputeRules.Default, _time);

            Assert.Equal((DisputeVerdict.ProviderWrong, step, op), (outcome.Verdict, outcome.Step!.Value, outcome.Operator!.Value));
            Assert.True(outcome.Rounds <= RefereedDispute.MaxRounds(steps, operators), $"{outcome.Rounds} rounds for a cheat at ({step}, {op})");
        }
    }

    [Fact]
    public void A_provider_that_tampers_its_weights_at_one_step_of_a_real_mlp_run_is_pinned_to_that_step_and_its_optimizer_update()
    {
        TrainOptions options = DigitsRun.Options(20);
        var replayer = new TrainingReplayer(DigitsRun.Spec, DigitsRun.Digits64, options);
        TrainingState start = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options,
            Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options), 10).End;
        var provider = new WrongFromOperator(_providerKey, replayer, start, _time, atStep: 17, fromOperator: replayer.OperatorCount - 1);
        var challenger = new ReplayingParty(_challengerKey, replayer, start, _time);

        // The validator's check of the segment (10, 30] disagrees with the provider's end root; the game narrows it.
        string claimedEnd = provider.StateAfter(30)!.RootHex();
        SegmentResult recomputed = Trainer.TrainSegment(DigitsRun.Spec, DigitsRun.Digits64, options, start, 20);
        Assert.NotEqual(claimedEnd, recomputed.StepHashes[^1].RootHex);

        DisputeOutcome outcome = RefereedDispute.Run(new("d-mlp", new string('a', 64), 1, 10, start.RootHex(), 30),
            provider, challenger, replayer, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ProviderWrong, outcome.Verdict);
        Assert.Equal(17, outcome.Step);
        Assert.Equal(replayer.OperatorCount - 1, outcome.Operator);
        Assert.Equal("optimizer adamw", outcome.OperatorKind);
        Assert.Equal(recomputed.StepHashes.Single(h => h.Step == 17).RootHex, outcome.RefereeHash);
        Assert.True(outcome.Rounds <= RefereedDispute.MaxRounds(20, replayer.OperatorCount));
        output.WriteLine($"MLP: T = 20, {replayer.OperatorCount} operators: {outcome.Rounds} rounds (bound {RefereedDispute.MaxRounds(20, replayer.OperatorCount)})");
    }

    [Fact]
    public void A_provider_whose_forward_matmul_is_wrong_loses_to_a_referee_that_recomputes_only_that_operator()
    {
        TrainOptions options = DigitsRun.Options(20);
        var replayer = new TrainingReplayer(DigitsRun.Spec, DigitsRun.Digits64, options);
        TrainingState start = Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options);
        var provider = new WrongFromOperator(_providerKey, replayer, start, _time, atStep: 6, fromOperator: 3);
        var challenger = new ReplayingParty(_challengerKey, replayer, start, _time);
        var referee = new CountingReplayer(replayer);

        DisputeOutcome outcome = RefereedDispute.Run(new("d-op", new string('a', 64), 0, 0, start.RootHex(), 10),
            provider, challenger, referee, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ProviderWrong, outcome.Verdict);
        Assert.Equal((6, 3, "forward MatMul"), (outcome.Step!.Value, outcome.Operator!.Value, outcome.OperatorKind));
        Assert.Equal(replayer.Trace(challenger.StateAfter(5)!).Operators[3].OutputHash, outcome.RefereeHash);

        // The referee ran no step: it replayed one operator, once.
        Assert.Equal((0, 1), (referee.Traces, referee.Replays));
    }

    [Fact]
    public void The_referee_takes_the_challengers_opening_when_the_providers_is_forged_and_names_both_when_neither_holds()
    {
        TrainOptions options = DigitsRun.Options(20);
        var replayer = new TrainingReplayer(DigitsRun.Spec, DigitsRun.Digits64, options);
        TrainingState start = Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options);
        DisputeCase dispute = new("d-forged", new string('a', 64), 0, 0, start.RootHex(), 4);

        // The cheating provider opens with a forged input tensor; the challenger's honest opening decides.
        var cheat = new ForgesOpenings(new WrongFromOperator(_providerKey, replayer, start, _time, atStep: 2, fromOperator: 9));
        var challenger = new ReplayingParty(_challengerKey, replayer, start, _time);
        DisputeOutcome decided = RefereedDispute.Run(dispute, cheat, challenger, replayer, DisputeRules.Default, _time);
        Assert.Equal((DisputeVerdict.ProviderWrong, 2, 9), (decided.Verdict, decided.Step!.Value, decided.Operator!.Value));

        // Neither opening holds: the provider, obliged to open, loses, and the reason says what was wrong with each.
        var forgedChallenger = new ForgesOpenings(new ReplayingParty(_challengerKey, replayer, start, _time));
        DisputeOutcome unopened = RefereedDispute.Run(dispute with { DisputeId = "d-forged-2" },
            new ForgesOpenings(new WrongFromOperator(_providerKey, replayer, start, _time, atStep: 2, fromOperator: 9)),
            forgedChallenger, replayer, DisputeRules.Default, _time);
        Assert.Equal(DisputeVerdict.ProviderTimedOut, unopened.Verdict);
        Assert.Contains("the provider opened it wrongly", unopened.Reason);
        Assert.Contains("the challenger opened it wrongly", unopened.Reason);
        Assert.Contains("tensor '", unopened.Reason); // names the forged tensor
        output.WriteLine(unopened.Reason);
    }

    [Fact]
    public void A_validator_that_falsely_accuses_an_honest_provider_loses_to_the_referee()
    {
        TrainOptions options = DigitsRun.Options(20);
        var replayer = new TrainingReplayer(DigitsRun.Spec, DigitsRun.Digits64, options);
        TrainingState start = Trainer.InitialState(DigitsRun.Spec, DigitsRun.Digits64, options);
        var provider = new ReplayingParty(_providerKey, replayer, start, _time);
        var accuser = new WrongFromOperator(_challengerKey, replayer, start, _time, atStep: 4, fromOperator: replayer.OperatorCount - 1);

        DisputeOutcome outcome = RefereedDispute.Run(new("d-false", new string('a', 64), 0, 0, start.RootHex(), 10),
            provider, accuser, replayer, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ChallengerWrong, outcome.Verdict);
        Assert.Equal(_providerKey.AccountId, outcome.Winner);
        Assert.Equal([_challengerKey.AccountId], outcome.Losers);
        Assert.Equal(4, outcome.Step);
    }

    [Fact]
    public void A_provider_that_goes_offline_mid_dispute_loses_at_the_first_missed_deadline()
    {
        var honest = new SyntheticStepMachine(16);
        var provider = new OfflineAfter(new ReplayingParty(_providerKey, new SyntheticStepMachine(16, (70, 3)), SyntheticStepMachine.Start, _time), answers: 3);
        var challenger = new ReplayingParty(_challengerKey, honest, SyntheticStepMachine.Start, _time);

        DisputeOutcome outcome = RefereedDispute.Run(new("d-offline", new string('a', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), 100),
            provider, challenger, honest, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ProviderTimedOut, outcome.Verdict);
        Assert.Equal(_challengerKey.AccountId, outcome.Winner);
        Assert.Equal(3, outcome.Rounds);
        Assert.Contains("round 3", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_challenger_that_stops_answering_or_signs_with_another_key_loses()
    {
        var honest = new SyntheticStepMachine(16);
        var provider = new ReplayingParty(_providerKey, new SyntheticStepMachine(16, (70, 3)), SyntheticStepMachine.Start, _time);
        using AccountKey stranger = AccountKey.Create();
        var impostor = new ReplayingParty(stranger, honest, SyntheticStepMachine.Start, _time);
        var challenger = new SignsAs(_challengerKey.AccountId, impostor);

        DisputeOutcome outcome = RefereedDispute.Run(new("d-impostor", new string('a', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), 100),
            provider, challenger, honest, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.ChallengerTimedOut, outcome.Verdict);
        Assert.Equal(_providerKey.AccountId, outcome.Winner);
    }

    [Fact]
    public void A_second_dispute_on_the_same_segment_is_refused_while_the_first_is_open_and_after_it_is_decided()
    {
        using AccountKey third = AccountKey.Create();
        var registry = new DisputeRegistry();
        string root = new('c', 64);

        DisputeRegistration first = registry.Open(root, 3, _challengerKey.AccountId);
        DisputeRegistration second = registry.Open(root, 3, third.AccountId);

        Assert.True(first.Opened);
        Assert.False(second.Opened);
        Assert.Equal(first.DisputeId, second.DisputeId);
        Assert.True(registry.Open(root, 4, third.AccountId).Opened);

        registry.Close(root, 3, Outcome(first.DisputeId, DisputeVerdict.ProviderWrong));
        DisputeRegistration after = registry.Open(root, 3, third.AccountId);
        Assert.False(after.Opened);
        Assert.Contains("ProviderWrong", after.Reason, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => registry.Close(root, 3, Outcome(first.DisputeId, DisputeVerdict.ChallengerWrong)));

        // A dispute lost only because its challenger vanished can be taken up by another validator.
        DisputeRegistration other = registry.Open(root, 5, _challengerKey.AccountId);
        registry.Close(root, 5, Outcome(other.DisputeId, DisputeVerdict.ChallengerTimedOut));
        Assert.False(registry.Open(root, 5, _challengerKey.AccountId).Opened);
        Assert.True(registry.Open(root, 5, third.AccountId).Opened);
    }

    [Fact]
    public void Matching_end_roots_are_no_dispute_and_the_challenger_that_opened_it_loses()
    {
        var honest = new SyntheticStepMachine(8);
        DisputeOutcome outcome = RefereedDispute.Run(new("d-none", new string('a', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), 50),
            new ReplayingParty(_providerKey, honest, SyntheticStepMachine.Start, _time),
            new ReplayingParty(_challengerKey, honest, SyntheticStepMachine.Start, _time), honest, DisputeRules.Default, _time);

        Assert.Equal(DisputeVerdict.NoDisagreement, outcome.Verdict);
        Assert.Equal(0, outcome.Rounds);
    }

    private static DisputeOutcome Outcome(string id, DisputeVerdict verdict) => new(id, verdict, null, [], null, null, null, null, 0, [], "test");

    /// <summary>
    /// Computes operators from <paramref name="fromOperator"/> of one step wrongly, the last of them (the optimizer
    /// update) scaling one weight tensor by 1.001, and carries on from there.
    /// </summary>
    private sealed class WrongFromOperator(AccountKey key, IStepReplayer replayer, TrainingState start, TimeProvider time, int atStep, int fromOperator)
        : ReplayingParty(key, replayer, start, time)
    {
        private readonly IStepReplayer _replayer = replayer;

        protected override StepTrace Execute(TrainingState before)
        {
            StepTrace trace = _replayer.Trace(before);
            if (trace.Step != atStep)
            {
                return trace;
            }

            var weights = trace.After.Weights.ToList();
            weights[^1] = weights[^1] with { Data = [.. weights[^1].Data.Select(v => v * 1.001f)] };
            TrainingState after = trace.After with { Weights = weights };
            OperatorRecord[] ops = [.. trace.Operators.Select(o => o.Index < fromOperator ? o
                : o with { OutputHash = o.Index == trace.Operators.Count - 1 ? after.RootHex() : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(o.Index))) })];
            return trace with { Operators = ops, After = after };
        }
    }

    /// <summary>Opens operators with the first revealed tensor's first element changed.</summary>
    private sealed class ForgesOpenings(ReplayingParty inner) : IDisputeParty
    {
        public AccountId Account => inner.Account;

        public SignedEnvelope? Answer(DisputeQuery query) => inner.Answer(query);

        public OperatorOpening? Open(int step, int op)
        {
            OperatorOpening opening = inner.Open(step, op)!;
            Tensor.Models.NamedTensor first = opening.Tensors[0];
            float[] data = [.. first.Data];
            data[0] += 1f;
            return opening with { Tensors = [first with { Data = data }, .. opening.Tensors.Skip(1)] };
        }
    }

    /// <summary>The referee's replayer, counting what it is asked to do.</summary>
    private sealed class CountingReplayer(IStepReplayer inner) : IStepReplayer
    {
        public int Traces { get; private set; }

        public int Replays { get; private set; }

        public int OperatorCount => inner.OperatorCount;

        public StepTrace Trace(TrainingState before)
        {
            Traces++;
            return inner.Trace(before);
        }

        public OperatorOpening Open(TrainingState before, int op) => inner.Open(before, op);

        public OperatorReplay Replay(string stateRootHex, string operatorInputHex, OperatorOpening opening)
        {
            Replays++;
            return inner.Replay(stateRootHex, operatorInputHex, opening);
        }
    }

    /// <summary>Answers the first few queries, then never again (and opens nothing).</summary>
    private sealed class OfflineAfter(IDisputeParty inner, int answers) : IDisputeParty
    {
        private int _answered;

        public AccountId Account => inner.Account;

        public SignedEnvelope? Answer(DisputeQuery query) => _answered++ < answers ? inner.Answer(query) : null;

        public OperatorOpening? Open(int step, int op) => null;
    }

    /// <summary>Claims to be one account but signs with another key.</summary>
    private sealed class SignsAs(AccountId claimed, IDisputeParty inner) : IDisputeParty
    {
        public AccountId Account => claimed;

        public SignedEnvelope? Answer(DisputeQuery query) => inner.Answer(query);

        public OperatorOpening? Open(int step, int op) => inner.Open(step, op);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
