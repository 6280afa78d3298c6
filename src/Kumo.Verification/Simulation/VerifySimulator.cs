using System.Diagnostics;
using System.Security.Cryptography;
using Kumo.Tensor.Data;
using Kumo.Tensor.Randomness;
using Kumo.Tensor.Training;
using Kumo.Verification.Checkers;
using Kumo.Verification.Replication;
using Kumo.Verification.Validators;

using Kumo.Verification.Disputes;

namespace Kumo.Verification.Simulation;

/// <summary>
/// The knobs of <see cref="VerifySimulator"/>. The defaults run in well under a minute on two cores: jobs of 60
/// segments of 8 steps of a 64-32-10 MLP on the digits, 16 samples a step.
/// </summary>
public sealed record VerifySimulationOptions
{
    public ulong Seed { get; init; } = 1;

    public int Trials { get; init; } = 24;

    public int Segments { get; init; } = 60;

    public int StepsPerSegment { get; init; } = 8;

    public int Hidden { get; init; } = 32;

    public int BatchSize { get; init; } = 16;

    /// <summary>Honest training providers past probation (a network in steady state); one more honest one is new.</summary>
    public int HonestVeterans { get; init; } = 8;

    /// <summary>Segments a veteran has delivered before the simulation starts.</summary>
    public int VeteranHistory { get; init; } = 200;

    public int HonestValidators { get; init; } = 4;

    public int ExecJobs { get; init; } = 60;

    /// <summary>Fraction of segments the skipping provider does not compute.</summary>
    public double SkipFraction { get; init; } = 0.1;

    /// <summary>Fraction of exec jobs the wrong-output provider answers wrong.</summary>
    public double ExecLieFraction { get; init; } = 0.2;

    /// <summary>Virtual time one segment takes (liveness probes run every virtual minute in between).</summary>
    public TimeSpan SegmentDuration { get; init; } = TimeSpan.FromMinutes(30);

    public SegmentSampling Sampling { get; init; } = new();

    /// <summary>
    /// Steps between a provider's commitments inside a segment (a divisor of <see cref="StepsPerSegment"/>; 1 = after
    /// every step). Null, the default, lets each provider choose it for each segment from the measured cost of a
    /// commitment and its own sampling rate (<see cref="SegmentWork.ChooseCommitInterval"/>).
    /// </summary>
    public int? CommitEvery { get; init; }

    /// <summary>How a validator checks a sampled segment: one spot-checked commit interval (the default) or the whole segment.</summary>
    public ISegmentVerifier SegmentVerifier { get; init; } = new SpotCheckSegmentVerifier();

    public IHardwareVerifier HardwareVerifier { get; init; } = new TimedGemmHardwareVerifier();
}

/// <summary>
/// The adversarial simulation behind <c>kumo sim verify</c>: in each trial, real in-process providers train real
/// segments (honest ones, one that returns random weights, one that skips 10% of its segments by re-committing the
/// previous checkpoint), validators re-execute sampled segments for real (honest ones, a lazy one that approves
/// without computing, one that falsely accuses an honest newcomer, a silent one), disagreements go to the referee, a
/// provider claiming a GPU on a CPU meets the hardware check, and exec jobs (a real GEMM whose output CID is compared)
/// run under adaptive replication with one provider returning wrong outputs. Same seed, same decisions (the hardware
/// check times real work, so its measured figures vary).
/// </summary>
public static class VerifySimulator
{
    public const string RandomWeights = "random_weights", SkipSegments = "skip_segments", FakeGpu = "fake_gpu",
        WrongExecOutput = "wrong_exec_output", LazyValidator = "lazy_validator", FalseAccuser = "false_accuser",
        SilentValidator = "silent_validator";

    private static readonly string[] CheatTypes = [RandomWeights, SkipSegments, FakeGpu, WrongExecOutput, LazyValidator, FalseAccuser, SilentValidator];

    public static VerifySimulationResult Run(ClassificationData digits, VerifySimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(digits);
        ArgumentNullException.ThrowIfNull(options);
        if (options.Trials < 1 || options.Segments < 1 || options.StepsPerSegment < 1 || options.ExecJobs < 0 || options.HonestValidators < 2)
        {
            throw new ArgumentException("trials, segments and steps must be positive, and there must be at least two honest validators", nameof(options));
        }

        long started = Stopwatch.GetTimestamp();
        var totals = new Totals();

        // The trainer evaluates on the test set after every run; one test sample keeps that from dwarfing 8-step segments.
        digits = new ClassificationData(digits.FeatureCount, digits.ClassCount, digits.TrainFeatures, digits.TrainLabels,
            digits.TestFeatures[..digits.FeatureCount], digits.TestLabels[..1]);
        double machineGflops = options.HardwareVerifier.Verify(new CpuGemmProver(), new HardwareClaim("cpu", 0), options.Seed).MeasuredGflops;
        if (options.CommitEvery is { } fixedInterval && (fixedInterval < 1 || options.StepsPerSegment % fixedInterval != 0))
        {
            throw new ArgumentException($"a commit interval of {fixedInterval} steps does not divide segments of {options.StepsPerSegment}", nameof(options));
        }

        var calibration = new TrainingJob("calibration", ModelSpec.Mlp(hidden: options.Hidden), digits, options.Segments,
            options.StepsPerSegment, options.BatchSize, 3e-3f, options.Seed);
        double commitCost = SegmentWork.CommitCost(calibration);
        int operatorsPerStep = SegmentWork.Replayer(calibration).OperatorCount;
        SegmentWork.Forget(calibration);
        for (int t = 0; t < options.Trials; t++)
        {
            new Trial(digits, options, totals, t, machineGflops, commitCost).Run();
        }

        int trialBound = RefereedDispute.MaxRounds(options.StepsPerSegment, operatorsPerStep); // a dispute spans at most a segment
        (int longRounds, int longBound) = LongDispute(options.Seed);
        return new VerifySimulationResult
        {
            DetectionRate = CheatTypes.ToDictionary(c => c, c => totals.Caught.GetValueOrDefault(c)?.Count / (double)options.Trials ?? 0),
            CaughtAt = CheatTypes.ToDictionary(c => c, c => Median(totals.Caught.GetValueOrDefault(c))),
            FalseSlashes = totals.FalseSlashes,
            Overhead = 1 + (totals.VerifySteps / Math.Max(1.0, totals.JobSteps)),
            OverheadWall = 1 + ((totals.VerifySeconds + totals.CommitSeconds) / Math.Max(1e-9, totals.JobSeconds)),
            CommitOverheadWall = totals.CommitSeconds / Math.Max(1e-9, totals.JobSeconds),
            OverheadProbation = 1 + (totals.VerifyStepsProbation / Math.Max(1.0, totals.JobStepsProbation)),
            OverheadTrusted = 1 + (totals.VerifyStepsTrusted / Math.Max(1.0, totals.JobStepsTrusted)),
            MaxDisputeRounds = Math.Max(totals.MaxRounds, longRounds),
            TrialDisputeRounds = totals.MaxRounds,
            DisputeRoundsT10000 = longRounds,
            DisputeRoundBoundT10000 = longBound,
            DisputeRoundBound = Math.Max(longBound, trialBound),
            TrialDisputeRoundBound = trialBound,
            Disputes = totals.Disputes,
            Canaries = totals.Canaries,
            Q = options.Sampling.ProbationQ,
            QTrusted = options.Sampling.TrustedQ,
            ProbationSegments = options.Sampling.ProbationSegments,
            PredictedDetectionWithin60 = SegmentSampling.DetectionWithin(options.Sampling.ProbationQ, 0.1, 60),
            ExecReplicationOverhead = totals.ExecJobs == 0 ? 0 : (totals.ExecRuns - totals.ExecJobs) / (double)totals.ExecJobs,
            Trials = options.Trials,
            SegmentsPerJob = options.Segments,
            StepsPerSegment = options.StepsPerSegment,
            ExecJobsPerTrial = options.ExecJobs,
            WallSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds,
            Seed = options.Seed,
            Check = options.SegmentVerifier is SpotCheckSegmentVerifier ? "spot_interval" : "full_segment",
            CommitCost = commitCost,
            CommitEvery = options.CommitEvery,
            CommitIntervals = totals.Intervals.OrderBy(kv => kv.Key).ToDictionary(kv => kv.Key, kv => kv.Value),
        };
    }

    /// <summary>
    /// The refereed game (<see cref="RefereedDispute"/>) over T = 10,000 steps of 64 operators, the provider cheating at
    /// one operator of one step drawn from the seed: the rounds it takes, and the bound ⌈log₂ T⌉ + ⌈log₂ ops⌉.
    /// </summary>
    private static (int Rounds, int Bound) LongDispute(ulong seed)
    {
        const int steps = 10_000, operators = 64;
        var random = new Philox(seed, 0, 11);
        (int Step, int Operator) cheat = (1 + random.NextInt(steps), random.NextInt(operators));
        var time = new SimulationClock(DateTimeOffset.UnixEpoch);
        using var providerKey = Kumo.Crypto.AccountKey.Create();
        using var challengerKey = Kumo.Crypto.AccountKey.Create();
        var honest = new SyntheticStepMachine(operators);
        var provider = new ReplayingParty(providerKey, new SyntheticStepMachine(operators, cheat), SyntheticStepMachine.Start, time);
        var challenger = new ReplayingParty(challengerKey, honest, SyntheticStepMachine.Start, time);
        DisputeOutcome outcome = RefereedDispute.Run(new DisputeCase("d-t10000", new string('0', 64), 0, 0, SyntheticStepMachine.Start.RootHex(), steps),
            provider, challenger, honest, DisputeRules.Default, time);
        if (outcome.Verdict != Disputes.DisputeVerdict.ProviderWrong || outcome.Step != cheat.Step || outcome.Operator != cheat.Operator)
        {
            throw new InvalidOperationException($"the 10,000-step dispute did not pin the cheat at step {cheat.Step}, operator {cheat.Operator}: {outcome.Reason}");
        }

        return (outcome.Rounds, RefereedDispute.MaxRounds(steps, operators));
    }

    private static double? Median(List<int>? values)
    {
        if (values is null || values.Count == 0)
        {
            return null;
        }

        int[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2.0;
    }

    private sealed class Totals
    {
        public Dictionary<string, List<int>> Caught { get; } = new(StringComparer.Ordinal);

        public int FalseSlashes { get; set; }

        public double JobSteps { get; set; }

        public double VerifySteps { get; set; }

        public double JobSeconds { get; set; }

        public double VerifySeconds { get; set; }

        public double CommitSeconds { get; set; }

        public double JobStepsProbation { get; set; }

        public double VerifyStepsProbation { get; set; }

        public double JobStepsTrusted { get; set; }

        public double VerifyStepsTrusted { get; set; }

        public int MaxRounds { get; set; }

        public int Disputes { get; set; }

        public int Canaries { get; set; }

        /// <summary>How many segments were committed at each commit interval.</summary>
        public Dictionary<int, int> Intervals { get; } = [];

        public int ExecJobs { get; set; }

        public int ExecRuns { get; set; }
    }

    private enum TrainerKind { Honest, RandomWeights, Skipper }

    private enum ValidatorKind { Honest, Lazy, FalseAccuser, Silent }

    private sealed class Trainer(string name, TrainerKind kind, TrainingJob job)
    {
        public string Name { get; } = name;

        public TrainerKind Kind { get; } = kind;

        public TrainingJob Job { get; } = job;

        public string LastRoot { get; set; } = job.GenesisRoot;

        public bool Slashed { get; set; }
    }

    /// <summary>
    /// A delivered segment: who, which, its start, the roots the provider committed inside it (after every
    /// <see cref="Every"/>-th step; the last is the segment's checkpoint), and whether its provider was on probation.
    /// </summary>
    private sealed record Claim(Trainer Trainer, int Segment, string Start, IReadOnlyList<string> StepRoots, bool Probation)
    {
        public int Every => Trainer.Job.StepsPerSegment / StepRoots.Count;

        /// <summary>The committed root after step <paramref name="step"/> of the segment (0: its start; a multiple of <see cref="Every"/>).</summary>
        public string RootAt(int step) => step == 0 ? Start : StepRoots[(step / Every) - 1];
    }

    private sealed class Trial
    {
        private const string TargetOfAccuser = "honest-new";
        private readonly ClassificationData _data;
        private readonly VerifySimulationOptions _options;
        private readonly Totals _totals;
        private readonly int _index;
        private readonly double _machineGflops;
        private readonly double _commitCost;
        private readonly Philox _random;
        private readonly SimulationClock _clock = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
        private readonly ProviderChecker _checker;
        private readonly SegmentSampling _sampling;
        private readonly ValidatorPool _pool = new();
        private readonly List<Trainer> _trainers = [];
        private readonly Dictionary<string, ValidatorKind> _validators = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<Claim>> _approvals = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Claim> _claimsByKey = new(StringComparer.Ordinal);
        private readonly Dictionary<string, HardwareClaim> _hardware = new(StringComparer.Ordinal);
        private readonly HashSet<string> _caughtThisTrial = new(StringComparer.Ordinal);
        private readonly TrainingJob _canaryJob;
        private IReadOnlyList<string>? _canaryTruth, _canaryFake;
        private int _segment;

        public Trial(ClassificationData data, VerifySimulationOptions options, Totals totals, int index, double machineGflops, double commitCost)
        {
            _commitCost = commitCost;
            _data = data;
            _options = options;
            _totals = totals;
            _index = index;
            _machineGflops = machineGflops;
            _random = new Philox(options.Seed, (ulong)index, 11);
            _checker = new ProviderChecker(_clock);
            _sampling = new SegmentSampling(options.Sampling.ProbationQ, options.Sampling.ProbationSegments, options.Sampling.TrustedQ);
            _canaryJob = NewJob("canary");
        }

        public void Run()
        {
            for (int v = 0; v < _options.HonestVeterans; v++)
            {
                AddTrainer($"honest-{v}", TrainerKind.Honest, _options.VeteranHistory);
            }

            AddTrainer(TargetOfAccuser, TrainerKind.Honest, 0);
            AddTrainer(RandomWeights, TrainerKind.RandomWeights, 0);
            AddTrainer(SkipSegments, TrainerKind.Skipper, 0);
            _checker.Register(FakeGpu);
            _hardware[FakeGpu] = new HardwareClaim("gpu-h100", _machineGflops * 100);
            for (int v = 0; v < _options.HonestValidators; v++)
            {
                AddValidator($"validator-{v}", ValidatorKind.Honest, veteran: true);
            }

            // The misbehaving validators are new identities, as a cheater's are; the honest ones are past probation.
            AddValidator(LazyValidator, ValidatorKind.Lazy, veteran: false);
            AddValidator(FalseAccuser, ValidatorKind.FalseAccuser, veteran: false);
            AddValidator(SilentValidator, ValidatorKind.Silent, veteran: false);

            for (_segment = 0; _segment < _options.Segments; _segment++)
            {
                PassTime();
                foreach (Trainer trainer in _trainers.Where(t => !t.Slashed && _checker.Health(t.Name) == ProviderHealth.Active))
                {
                    Deliver(trainer);
                }
            }

            RunExec();
            foreach (Trainer trainer in _trainers)
            {
                SegmentWork.Forget(trainer.Job);
            }

            SegmentWork.Forget(_canaryJob);
        }

        public void CountVerification(double steps, double seconds, bool? probation)
        {
            _totals.VerifySteps += steps;
            _totals.VerifySeconds += seconds;
            if (probation == true)
            {
                _totals.VerifyStepsProbation += steps;
            }
            else if (probation == false)
            {
                _totals.VerifyStepsTrusted += steps;
            }
        }

        private TrainingJob NewJob(string name) =>
            new($"{_index}/{name}", ModelSpec.Mlp(hidden: _options.Hidden), _data, _options.Segments, _options.StepsPerSegment,
                _options.BatchSize, 3e-3f, ((ulong)_random.NextUInt32() << 32) | _random.NextUInt32());

        private void AddTrainer(string name, TrainerKind kind, int history)
        {
            _trainers.Add(new Trainer(name, kind, NewJob(name)));
            _sampling.SetHistory(name, history);
            _checker.Register(name);
            _hardware[name] = new HardwareClaim("cpu", _machineGflops * 0.8);
        }

        private void AddValidator(string name, ValidatorKind kind, bool veteran)
        {
            _validators[name] = kind;
            _approvals[name] = [];
            _pool.Register(name, 10_000_000, veteran ? _pool.ProbationAssignments : 0);
        }

        /// <summary>One segment's worth of virtual time: liveness every minute, capacity when due, deadlines.</summary>
        private void PassTime()
        {
            for (var elapsed = TimeSpan.Zero; elapsed < _options.SegmentDuration; elapsed += TimeSpan.FromMinutes(1))
            {
                _clock.Advance(TimeSpan.FromMinutes(1));
                foreach (string p in _checker.DueForLiveness())
                {
                    _checker.RecordLiveness(p, answered: true);
                }

                foreach (string p in _checker.DueForCapacity())
                {
                    HardwareCheck check = _options.HardwareVerifier.Verify(new CpuGemmProver(), _hardware[p], _random.NextUInt32());
                    if (_checker.RecordCapacity(p, check.Passed) == ProviderHealth.Slashed)
                    {
                        SlashProvider(p);
                    }
                }

                foreach (string p in _checker.Sweep())
                {
                    SlashProvider(p);
                }

                foreach (ValidatorAssignment replacement in _pool.Expire(_clock.GetUtcNow(), _random))
                {
                    Handle(replacement);
                }

                if (_pool.Status(SilentValidator) == ValidatorStatus.Dropped)
                {
                    Caught(SilentValidator, _segment);
                }
            }
        }

        /// <summary>
        /// The interval a provider sampled at rate <paramref name="q"/> commits at: the imposed one, else its cheapest;
        /// where whole segments are checked, roots inside them buy nothing, so the checkpoint only.
        /// </summary>
        private int CommitInterval(double q) => _options.CommitEvery
            ?? (_options.SegmentVerifier is SpotCheckSegmentVerifier ? SegmentWork.ChooseCommitInterval(_commitCost, q, _options.StepsPerSegment) : _options.StepsPerSegment);

        private void Deliver(Trainer trainer)
        {
            // Every provider commits a root after every c-th step, c chosen from what a commitment costs and how often
            // its segments are sampled, and keeps the states behind them (the segment's checkpoint for good) until its
            // spot check has been drawn.
            string start = trainer.LastRoot;
            bool probation = _sampling.Delivered(trainer.Name) < _sampling.ProbationSegments;
            int every = CommitInterval(probation ? _options.Sampling.ProbationQ : _options.Sampling.TrustedQ);
            _totals.Intervals[every] = _totals.Intervals.GetValueOrDefault(every) + 1;
            IReadOnlyList<string> roots;
            switch (trainer.Kind)
            {
                case TrainerKind.RandomWeights:
                    roots = SegmentWork.RandomSteps(trainer.Job, start, _random, every);
                    break;
                case TrainerKind.Skipper when _random.NextFloat() < _options.SkipFraction:
                    roots = [.. Enumerable.Repeat(start, _options.StepsPerSegment / every)];
                    break;
                default:
                    SegmentRun run = SegmentWork.Run(trainer.Job, _segment, start, commitEvery: every, keepStates: true);
                    _totals.JobSeconds += run.Seconds - run.CommitSeconds; // committing is verification's cost
                    _totals.CommitSeconds += run.CommitSeconds;
                    roots = run.StepRoots;
                    break;
            }

            _totals.JobSteps += _options.StepsPerSegment;
            if (probation)
            {
                _totals.JobStepsProbation += _options.StepsPerSegment;
            }
            else
            {
                _totals.JobStepsTrusted += _options.StepsPerSegment;
            }

            var claim = new Claim(trainer, _segment, start, roots, probation);
            trainer.LastRoot = roots[^1];
            if (_sampling.ShouldVerify(trainer.Name, _random))
            {
                Verify(claim);
            }

            if (!trainer.Slashed)
            {
                _sampling.RecordDelivered(trainer.Name);
            }
        }

        private void Verify(Claim claim)
        {
            string key = $"{claim.Trainer.Name}/{claim.Segment}";
            _claimsByKey[key] = claim;
            while (_pool.Assign(key, claim.Trainer.Name, _clock.GetUtcNow(), _random) is { } assignment)
            {
                Handle(assignment);
                if (!assignment.IsCanary)
                {
                    return;
                }
            }
        }

        private void Handle(ValidatorAssignment a)
        {
            if (a.IsCanary)
            {
                HandleCanary(a);
                return;
            }

            Claim claim = _claimsByKey[a.SegmentKey];
            if (claim.Trainer.Slashed)
            {
                _pool.Answer(a.Id, approves: false, _clock.GetUtcNow()); // moot: the provider is gone
                return;
            }

            ValidatorKind kind = _validators[a.Validator];
            switch (kind)
            {
                case ValidatorKind.Silent:
                    return; // the deadline will hand it to somebody else
                case ValidatorKind.Lazy:
                    _pool.Answer(a.Id, approves: true, _clock.GetUtcNow());
                    _approvals[a.Validator].Add(claim);
                    return;
            }

            SegmentCheck check = _options.SegmentVerifier.Verify(claim.Trainer.Job, claim.Segment, claim.Start, claim.StepRoots, _random);
            CountVerification(check.StepsExecuted, check.Seconds, claim.Probation);
            bool accuse = kind == ValidatorKind.FalseAccuser && claim.Trainer.Name == TargetOfAccuser;
            if (check.Reproduced && !accuse)
            {
                _pool.Answer(a.Id, approves: true, _clock.GetUtcNow());
                _approvals[a.Validator].Add(claim);
                return;
            }

            // The dispute is over the steps the validator checked, from the state both sides agree on.
            _pool.Answer(a.Id, approves: false, _clock.GetUtcNow());
            int steps = check.StepsExecuted > 0 ? check.StepsExecuted : claim.Every;
            Lie? lie = accuse && check.Reproduced
                ? new Lie(1 + _random.NextInt(steps), _random.NextInt(SegmentWork.Replayer(claim.Trainer.Job).OperatorCount)) // a made-up trace
                : null;
            Dispute(claim, a.Validator, lie, check.FromStep, steps);
        }

        private void HandleCanary(ValidatorAssignment a)
        {
            _totals.Canaries++;
            if (_canaryTruth is null)
            {
                // A segment whose every step root is known (run once, states kept to reveal), and a made-up one of
                // random states (revealable too, so a canary looks like any other claim).
                // Committed at a veteran's interval, like most claims.
                int every = CommitInterval(_options.Sampling.TrustedQ);
                SegmentRun known = SegmentWork.Run(_canaryJob, 0, _canaryJob.GenesisRoot, commitEvery: every, keepStates: true);
                CountVerification(_canaryJob.StepsPerSegment, known.Seconds, null);
                _canaryTruth = known.StepRoots;
                _canaryFake = SegmentWork.RandomSteps(_canaryJob, _canaryJob.GenesisRoot, _random, every);
            }

            IReadOnlyList<string> claimed = a.CanaryExpectsApproval ? _canaryTruth : _canaryFake!;
            bool approves;
            switch (_validators[a.Validator])
            {
                case ValidatorKind.Silent:
                    return;
                case ValidatorKind.Lazy:
                    approves = true;
                    break;
                default:
                    SegmentCheck check = _options.SegmentVerifier.Verify(_canaryJob, 0, _canaryJob.GenesisRoot, claimed, _random);
                    CountVerification(check.StepsExecuted, check.Seconds, null);
                    approves = check.Reproduced && !(_validators[a.Validator] == ValidatorKind.FalseAccuser && a.Provider == TargetOfAccuser);
                    break;
            }

            if (_pool.Answer(a.Id, approves, _clock.GetUtcNow()) == AnswerOutcome.Slashed)
            {
                ValidatorSlashed(a.Validator);
            }
        }

        /// <summary>
        /// A dispute over <paramref name="steps"/> steps of the claim after its step <paramref name="from"/>, settled by the
        /// real game (<see cref="SegmentDispute"/>): the provider stands by the roots it committed (it signed them before
        /// the check) and recomputes the steps in between from the state it committed at <paramref name="from"/>; the
        /// challenger traces the steps itself, honestly or along <paramref name="lie"/>.
        /// </summary>
        private void Dispute(Claim claim, string validator, Lie? lie, int from, int steps)
        {
            Trainer trainer = claim.Trainer;
            var committed = new Dictionary<int, string>();
            for (int i = 1; i <= steps; i++)
            {
                if ((from + i) % claim.Every == 0)
                {
                    committed[i] = claim.RootAt(from + i);
                }
            }

            SegmentDisputeResult result = SegmentDispute.Run(trainer.Job, claim.Segment, claim.RootAt(from), steps, committed, lie, _clock);
            CountVerification(result.Steps, result.Seconds, claim.Probation);
            _totals.Disputes++;
            _totals.MaxRounds = Math.Max(_totals.MaxRounds, result.Outcome.Rounds);
            if (result.ProviderLoses)
            {
                SlashProvider(trainer.Name);
            }

            if (result.ChallengerLoses)
            {
                _pool.Slash(validator);
                ValidatorSlashed(validator);
            }
        }

        /// <summary>A slashed validator's approvals count for nothing: each goes to another validator.</summary>
        private void ValidatorSlashed(string validator)
        {
            Caught(validator, _segment);
            List<Claim> approved = [.. _approvals[validator]];
            _approvals[validator].Clear();
            foreach (Claim claim in approved.Where(c => !c.Trainer.Slashed))
            {
                Verify(claim);
            }
        }

        private void SlashProvider(string name)
        {
            if (_trainers.Find(t => t.Name == name) is { } trainer)
            {
                if (trainer.Slashed)
                {
                    return;
                }

                trainer.Slashed = true;
                _sampling.RecordCaught(name);
            }

            Caught(name, _segment);
        }

        private void Caught(string party, int at)
        {
            if (!CheatTypes.Contains(party))
            {
                _totals.FalseSlashes++;
                return;
            }

            if (_caughtThisTrial.Add(party))
            {
                (_totals.Caught.TryGetValue(party, out var list) ? list : _totals.Caught[party] = []).Add(at);
            }
        }

        /// <summary>Exec jobs: a real GEMM each, output CIDs compared under adaptive replication.</summary>
        private void RunExec()
        {
            const string hardwareClass = "cpu-x86-64";
            var replication = new AdaptiveReplication();
            var providers = new List<string> { "exec-0", "exec-1", "exec-2", WrongExecOutput };
            for (int job = 0; job < _options.ExecJobs; job++)
            {
                ulong input = _random.NextUInt32();
                string primary = providers[job % providers.Count];
                var outputs = new List<ExecOutput> { Execute(primary, input) };
                ReplicationVerdict verdict;
                if (replication.ShouldReplicate(primary, hardwareClass, _random))
                {
                    outputs.Add(Execute(Other(providers, outputs), input));
                    verdict = replication.RecordOutcome(hardwareClass, outputs);
                    if (verdict.Outcome == ReplicationOutcome.NeedsTieBreaker && providers.Count > 2)
                    {
                        outputs.Add(Execute(Other(providers, outputs), input));
                        verdict = replication.RecordOutcome(hardwareClass, outputs);
                    }
                }
                else
                {
                    verdict = replication.RecordOutcome(hardwareClass, outputs);
                }

                _totals.ExecJobs++;
                _totals.ExecRuns += outputs.Count;
                foreach (string wrong in verdict.Wrong)
                {
                    providers.Remove(wrong);
                    Caught(wrong, job);
                }
            }
        }

        private string Other(List<string> providers, List<ExecOutput> used)
        {
            string[] candidates = [.. providers.Where(p => !used.Any(o => o.Provider == p))];
            return candidates[_random.NextInt(candidates.Length)];
        }

        private ExecOutput Execute(string provider, ulong input)
        {
            if (provider == WrongExecOutput && _random.NextFloat() < _options.ExecLieFraction)
            {
                return new ExecOutput(provider, $"cid:{_random.NextUInt32():x8}");
            }

            const int n = 32;
            var random = new Philox(input, 0, 3);
            float[] a = new float[n * n], b = new float[n * n];
            random.FillUniform(a);
            random.FillUniform(b);
            float[] c = new CpuGemmProver().Multiply(a, b, n);
            byte[] bytes = new byte[c.Length * sizeof(float)];
            Buffer.BlockCopy(c, 0, bytes, 0, bytes.Length);
            return new ExecOutput(provider, "cid:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
    }
}
