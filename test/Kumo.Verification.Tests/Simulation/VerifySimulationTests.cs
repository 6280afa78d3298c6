using System.Diagnostics;
using Kumo.Tensor.Data;
using Kumo.Tensor.Randomness;
using Kumo.Verification.Disputes;
using Kumo.Verification.Simulation;

namespace Kumo.Verification.Tests.Simulation;

public class VerifySimulationTests
{
    [Fact]
    public void A_short_run_slashes_no_honest_party_and_catches_every_cheat_type()
    {
        VerifySimulationResult result = VerifySimulator.Run(Digits.Load(DigitsPath()), new VerifySimulationOptions { Seed = 1, Trials = 3 });

        Assert.Equal(0, result.FalseSlashes);
        foreach ((string cheat, double rate) in result.DetectionRate)
        {
            Assert.True(rate > 0, $"{cheat} was never caught: {result.ToJsonLine()}");
        }

        Assert.Equal(1.0, result.DetectionRate[VerifySimulator.RandomWeights]);
        Assert.InRange(result.MaxDisputeRounds, 1, result.DisputeRoundBound);
        Assert.Equal("spot_interval", result.Check);
        Assert.Null(result.CommitEvery); // each provider chose its own interval from the measured cost of a commitment
        Assert.NotEmpty(result.CommitIntervals);
        Assert.All(result.CommitIntervals.Keys, c => Assert.Equal(0, 8 % c));
        Assert.InRange(result.Overhead, 1.0, 1.15); // verification steps ÷ job steps: counted, not timed
        Assert.StartsWith("{\"detection_rate\":{", result.ToJsonLine(), StringComparison.Ordinal);
    }

    [Fact]
    public void Committing_after_every_step_makes_a_check_one_step_even_on_probation()
    {
        VerifySimulationResult result = VerifySimulator.Run(Digits.Load(DigitsPath()), new VerifySimulationOptions { Seed = 2, Trials = 2, CommitEvery = 1 });

        Assert.Equal(0, result.FalseSlashes);
        Assert.Equal(1.0, result.DetectionRate[VerifySimulator.RandomWeights]);
        Assert.Equal([1], result.CommitIntervals.Keys);
        Assert.InRange(result.Overhead, 1.0, 1.15);
        Assert.InRange(result.OverheadProbation, 1.0, 1.15); // a newcomer's work, sampled at q = 0.74, too
        Assert.Contains("\"commit_every\":1,", result.ToJsonLine(), StringComparison.Ordinal);
    }

    [Fact]
    public void Whole_segment_commitments_still_catch_cheats_and_slash_no_honest_party()
    {
        VerifySimulationResult result = VerifySimulator.Run(Digits.Load(DigitsPath()), new VerifySimulationOptions { Seed = 3, Trials = 2, CommitEvery = 8 });

        Assert.Equal(0, result.FalseSlashes);
        Assert.Equal(1.0, result.DetectionRate[VerifySimulator.RandomWeights]);
        Assert.Equal([8], result.CommitIntervals.Keys);
        Assert.True(result.OverheadProbation > 1.5, $"a whole segment per check on probation: {result.ToJsonLine()}");
    }

    [Theory]
    [InlineData(0.01, 0.05, 8, 1)] // a real model: a commitment is 1% of a step, commit after every step
    [InlineData(1.0, 0.05, 8, 8)] // a commitment as dear as a step, rarely sampled: commit at the checkpoint only
    [InlineData(0.3, 0.74, 8, 2)] // the toy MLP on probation: 0.3/2 + 0.74·2/8 beats both 1 and 4
    [InlineData(0.3, 0.05, 8, 8)]
    [InlineData(0.5, 0.3, 6, 3)] // only divisors of the segment: 1, 2, 3, 6
    [InlineData(0, 0.5, 8, 1)]
    public void The_commit_interval_minimizes_hashing_plus_checking(double commitCost, double q, int steps, int expected) =>
        Assert.Equal(expected, SegmentWork.ChooseCommitInterval(commitCost, q, steps));

    [Fact]
    public void Honest_work_reproduces_and_the_real_game_pins_a_skipped_segment_to_its_first_step_s_update()
    {
        ClassificationData digits = Digits.Load(DigitsPath());
        var job = new TrainingJob("t", Kumo.Tensor.Training.ModelSpec.Mlp(hidden: 16), digits, 4, 6, 8, 3e-3f, 42);
        var clock = new SimulationClock(DateTimeOffset.UnixEpoch);
        try
        {
            SegmentRun run = SegmentWork.Run(job, 0, job.GenesisRoot, commitEvery: 1, keepStates: true);
            Assert.Equal(6, run.StepRoots.Count);
            Assert.True(run.CommitSeconds > 0 && run.CommitSeconds < run.Seconds);
            Assert.Equal([run.EndRoot], SegmentWork.Run(job, 0, job.GenesisRoot).StepRoots); // by default, the checkpoint only
            var random = new Philox(1, 0, 0);
            Assert.True(new ReexecutingSegmentVerifier().Verify(job, 0, job.GenesisRoot, run.StepRoots, random).Reproduced);
            string[] skipped = [.. Enumerable.Repeat(job.GenesisRoot, 6)];
            Assert.False(new ReexecutingSegmentVerifier().Verify(job, 0, job.GenesisRoot, skipped, random).Reproduced);

            // The skipper re-committed its start after every step: the game pins step 1 and, inside it, the update that
            // produced the state (the last operator), which the referee recomputes alone.
            int operators = SegmentWork.Replayer(job).OperatorCount;
            SegmentDisputeResult skip = SegmentDispute.Run(job, 0, job.GenesisRoot, 6, Roots(skipped), null, clock);
            Assert.Equal(DisputeVerdict.ProviderWrong, skip.Outcome.Verdict);
            Assert.True(skip.ProviderLoses && !skip.ChallengerLoses);
            Assert.Equal((1, operators - 1), (skip.Outcome.Step!.Value, skip.Outcome.Operator!.Value));
            Assert.StartsWith("optimizer", skip.Outcome.OperatorKind, StringComparison.Ordinal);
            Assert.InRange(skip.Outcome.Rounds, 1, RefereedDispute.MaxRounds(6, operators));
            Assert.Equal(1, skip.OperatorsReplayed);

            // A challenger that makes up operator 2 of step 4 of an honest run loses there.
            SegmentDisputeResult accused = SegmentDispute.Run(job, 0, job.GenesisRoot, 6, Roots(run.StepRoots), new Lie(4, 2), clock);
            Assert.Equal(DisputeVerdict.ChallengerWrong, accused.Outcome.Verdict);
            Assert.Equal((4, 2), (accused.Outcome.Step!.Value, accused.Outcome.Operator!.Value));
            Assert.True(accused.ChallengerLoses && !accused.ProviderLoses);

            // Honest against honest: nothing to dispute, and the challenger who raised it pays.
            Assert.Equal(DisputeVerdict.NoDisagreement, SegmentDispute.Run(job, 0, job.GenesisRoot, 6, Roots(run.StepRoots), null, clock).Outcome.Verdict);

            // Fabricated states committed every second step: the dispute over one interval pins its second step.
            IReadOnlyList<string> fabricated = SegmentWork.RandomSteps(job, run.StepRoots[1], new Philox(2, 0, 0), commitEvery: 2);
            SegmentDisputeResult random2 = SegmentDispute.Run(job, 0, run.StepRoots[1], 2, new Dictionary<int, string> { [2] = fabricated[0] }, null, clock);
            Assert.Equal(DisputeVerdict.ProviderWrong, random2.Outcome.Verdict);
            Assert.Equal((4, operators - 1), (random2.Outcome.Step!.Value, random2.Outcome.Operator!.Value));

            // A provider that cannot reveal the state both start from answers nothing and loses.
            SegmentDisputeResult unbacked = SegmentDispute.Run(job, 0, new string('a', 64), 2, new Dictionary<int, string>(), null, clock);
            Assert.Equal(DisputeVerdict.ProviderTimedOut, unbacked.Outcome.Verdict);
        }
        finally
        {
            SegmentWork.Forget(job);
        }

        static Dictionary<int, string> Roots(IReadOnlyList<string> roots) => roots.Select((r, i) => (r, i)).ToDictionary(x => x.i + 1, x => x.r);
    }

    [Fact]
    public void A_spot_check_costs_one_step_passes_honest_work_at_every_step_and_fails_fabricated_work_at_every_step()
    {
        ClassificationData digits = Digits.Load(DigitsPath());
        var job = new TrainingJob("spot", Kumo.Tensor.Training.ModelSpec.Mlp(hidden: 16), digits, 2, 5, 8, 3e-3f, 9);
        try
        {
            SegmentRun run = SegmentWork.Run(job, 0, job.GenesisRoot, commitEvery: 1, keepStates: true);
            IReadOnlyList<string> fabricated = SegmentWork.RandomSteps(job, job.GenesisRoot, new Philox(3, 0, 0));
            string[] skipped = [.. Enumerable.Repeat(job.GenesisRoot, 5)];

            // One honest step in the middle is not enough to pass: a provider that skips m of k steps is exposed at those m.
            string[] oneWrong = [.. run.StepRoots];
            oneWrong[2] = fabricated[2];

            var verifier = new SpotCheckSegmentVerifier();
            var random = new Philox(5, 0, 0);
            var checkedSteps = new HashSet<int>();
            int oneWrongCaught = 0, draws = 200;
            for (int i = 0; i < draws; i++)
            {
                SegmentCheck honest = verifier.Verify(job, 0, job.GenesisRoot, run.StepRoots, random);
                Assert.True(honest.Reproduced, $"honest work failed at step {honest.FromStep + 1}");
                Assert.Equal(1, honest.StepsExecuted);
                checkedSteps.Add(honest.FromStep);
                Assert.False(verifier.Verify(job, 0, job.GenesisRoot, fabricated, random).Reproduced);
                Assert.False(verifier.Verify(job, 0, job.GenesisRoot, skipped, random).Reproduced);
                SegmentCheck partial = verifier.Verify(job, 0, job.GenesisRoot, oneWrong, random);
                oneWrongCaught += partial.Reproduced ? 0 : 1;
            }

            Assert.Equal(5, checkedSteps.Count); // every step gets drawn
            Assert.InRange(oneWrongCaught / (double)draws, 0.3, 0.5); // steps 3 and 4 expose a bad root at 3: 2 of 5

            // A committed root with no state behind it cannot be revealed: the check fails.
            string[] unbacked = [.. run.StepRoots.Select(_ => new string('a', 64))];
            Assert.False(verifier.Verify(job, 0, job.GenesisRoot, unbacked, random).Reproduced);
        }
        finally
        {
            SegmentWork.Forget(job);
        }
    }

    [Fact]
    public void A_spot_check_of_a_segment_committed_every_second_step_re_executes_one_interval_of_two_steps()
    {
        ClassificationData digits = Digits.Load(DigitsPath());
        var job = new TrainingJob("intervals", Kumo.Tensor.Training.ModelSpec.Mlp(hidden: 16), digits, 2, 6, 8, 3e-3f, 11);
        try
        {
            SegmentRun run = SegmentWork.Run(job, 0, job.GenesisRoot, commitEvery: 2, keepStates: true);
            Assert.Equal(3, run.StepRoots.Count);
            Assert.Equal(SegmentWork.Run(job, 0, job.GenesisRoot, commitEvery: 1).StepRoots.Where((_, i) => i % 2 == 1), run.StepRoots);
            IReadOnlyList<string> fabricated = SegmentWork.RandomSteps(job, job.GenesisRoot, new Philox(4, 0, 0), commitEvery: 2);
            Assert.Equal(3, fabricated.Count);

            var verifier = new SpotCheckSegmentVerifier();
            var random = new Philox(6, 0, 0);
            var starts = new HashSet<int>();
            for (int i = 0; i < 60; i++)
            {
                SegmentCheck honest = verifier.Verify(job, 0, job.GenesisRoot, run.StepRoots, random);
                Assert.True(honest.Reproduced);
                Assert.Equal(2, honest.StepsExecuted);
                starts.Add(honest.FromStep);
                Assert.False(verifier.Verify(job, 0, job.GenesisRoot, fabricated, random).Reproduced);
                Assert.False(verifier.Verify(job, 0, job.GenesisRoot, [.. Enumerable.Repeat(job.GenesisRoot, 3)], random).Reproduced);
            }

            Assert.Equal([0, 2, 4], starts.Order());
            Assert.Throws<ArgumentException>(() => verifier.Verify(job, 0, job.GenesisRoot, [.. run.StepRoots.Take(2), "x", "y"], random));
        }
        finally
        {
            SegmentWork.Forget(job);
        }
    }

    [Fact]
    public void A_cpu_claiming_a_gpu_fails_the_timed_gemm_and_an_honest_claim_passes()
    {
        var verifier = new TimedGemmHardwareVerifier();
        double measured = verifier.Verify(new CpuGemmProver(), new HardwareClaim("cpu", 0), 1).MeasuredGflops;
        Assert.True(verifier.Verify(new CpuGemmProver(), new HardwareClaim("cpu", measured * 0.8), 2).Passed);
        Assert.False(verifier.Verify(new CpuGemmProver(), new HardwareClaim("gpu-h100", measured * 100), 3).Passed);
        HardwareCheck wrong = verifier.Verify(new ZeroProver(), new HardwareClaim("cpu", 0), 4);
        Assert.False(wrong.Correct);
        Assert.False(wrong.Passed);
    }

    private sealed class ZeroProver : IGemmProver
    {
        public float[] Multiply(float[] a, float[] b, int n) => new float[n * n];
    }

    /// <summary>The digits under the repository root, fetched with scripts/datasets.sh the first time.</summary>
    internal static string DigitsPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Kumo.slnx")))
        {
            dir = dir.Parent;
        }

        string root = dir?.FullName ?? throw new InvalidOperationException($"no Kumo.slnx above {AppContext.BaseDirectory}");
        string path = Path.Combine(root, ".kumo", "datasets", "digits.csv.gz");
        if (!File.Exists(path))
        {
            using Process fetch = Process.Start(new ProcessStartInfo("bash", [Path.Combine(root, "scripts", "datasets.sh")]) { RedirectStandardOutput = true })
                ?? throw new InvalidOperationException("could not start scripts/datasets.sh");
            fetch.StandardOutput.ReadToEnd();
            Assert.True(fetch.WaitForExit(TimeSpan.FromMinutes(2)) && File.Exists(path), $"scripts/datasets.sh did not produce {path}");
        }

        return path;
    }
}
