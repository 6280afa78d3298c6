using System.CommandLine;
using System.Globalization;
using Kumo.Tensor.Data;
using Kumo.Verification.Simulation;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary>
/// <c>kumo sim verify</c>: the verification protocols against cheating providers and validators, in-process with
/// real training and real re-execution, so the detection rates and overhead in docs/VERIFY-SIM.md can be reproduced.
/// </summary>
public static class VerifyCommands
{
    /// <summary>Adds <c>verify</c> to the <c>kumo sim</c> command and returns it.</summary>
    public static Command AddTo(Command sim)
    {
        ArgumentNullException.ThrowIfNull(sim);
        var seed = new Option<ulong>("--seed") { Description = "Random seed (same seed, same decisions)", DefaultValueFactory = _ => 1 };
        var trials = new Option<int>("--trials") { Description = "Independent trials (fresh population each)", DefaultValueFactory = _ => new VerifySimulationOptions().Trials };
        var fullSegments = new Option<bool>("--full-segments")
        {
            Description = "Validators re-execute a sampled segment whole (k steps) instead of spot-checking one commit interval of it: the comparison for the overhead figure",
        };
        var segmentSteps = new Option<int>("--segment-steps")
        {
            Description = "Training steps per segment, k (a checkpoint after each; the longer the segment, the rarer its roots and checks next to its work)",
            DefaultValueFactory = _ => new VerifySimulationOptions().StepsPerSegment,
        };
        var commitEvery = new Option<int?>("--commit-every")
        {
            Description = "Steps between a provider's commitments inside a segment, a divisor of --segment-steps (1 = after every step, so a spot check re-executes one step). "
                + "Default: each provider chooses it from the measured cost of hashing its state next to a step and from how often it is sampled",
        };
        var batch = new Option<int>("--batch")
        {
            Description = "Samples per training step (a bigger batch makes a step cost more next to hashing the state after it)",
            DefaultValueFactory = _ => new VerifySimulationOptions().BatchSize,
        };
        var verify = new Command("verify", "Honest and cheating providers and validators with real training and re-execution; detection rates, false slashes, overhead; one JSON line with --json")
        {
            seed, trials, fullSegments, batch, segmentSteps, commitEvery,
        };
        verify.SetAction((parse, ct) =>
        {
            if (parse.GetValue(trials) < 1)
            {
                throw new CliException("--trials must be positive", ExitCodes.Usage);
            }

            if (parse.GetValue(batch) < 1)
            {
                throw new CliException("--batch must be positive", ExitCodes.Usage);
            }

            if (parse.GetValue(segmentSteps) is < 1 or > 1000)
            {
                throw new CliException($"--segment-steps must be between 1 and 1000, not {parse.GetValue(segmentSteps)}", ExitCodes.Usage);
            }

            var options = new VerifySimulationOptions
            {
                Seed = parse.GetValue(seed), Trials = parse.GetValue(trials), BatchSize = parse.GetValue(batch),
                StepsPerSegment = parse.GetValue(segmentSteps), CommitEvery = parse.GetValue(commitEvery),
            };
            if (options.CommitEvery is { } every && (every < 1 || options.StepsPerSegment % every != 0))
            {
                string divisors = string.Join(", ", Enumerable.Range(1, options.StepsPerSegment).Where(d => options.StepsPerSegment % d == 0));
                throw new CliException($"--commit-every must divide the segment's {options.StepsPerSegment} steps (--segment-steps): {divisors}; not {every}", ExitCodes.Usage);
            }

            // Usage first, then the data: a wrong option is named even where the data set is missing.
            string datasets = Path.Combine(Environment.GetEnvironmentVariable("KUMO_REPO_ROOT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory(), ".kumo", "datasets");
            string digitsPath = Path.Combine(datasets, "digits.csv.gz");
            if (!File.Exists(digitsPath))
            {
                throw new CliException($"the digits data set is not in {datasets}; run scripts/datasets.sh (./kumo does it for you)", ExitCodes.InvalidInput);
            }

            if (parse.GetValue(fullSegments))
            {
                options = options with { SegmentVerifier = new ReexecutingSegmentVerifier() };
            }

            ClassificationData digits = Digits.Load(digitsPath);
            bool json = parse.GetValue(CliContext.Json);
            VerifySimulationResult result = json || !AnsiConsole.Profile.Capabilities.Interactive
                ? VerifySimulator.Run(digits, options)
                : AnsiConsole.Status().Start($"simulating {options.Trials} trials of cheaters against the verifiers…", _ => VerifySimulator.Run(digits, options));
            if (json)
            {
                Console.Out.WriteLine(result.ToJsonLine());
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("cheat", "caught in trials", "caught at (median)");
                foreach ((string cheat, double rate) in result.DetectionRate)
                {
                    table.AddRow(cheat, rate.ToString("P0", CultureInfo.InvariantCulture),
                        result.CaughtAt[cheat] is { } at ? at.ToString("0.#", CultureInfo.InvariantCulture) : "–");
                }

                AnsiConsole.Write(table);
                var figures = new Table().Border(TableBorder.Rounded).AddColumns("", "result", "goal");
                figures.AddRow("false slashes", result.FalseSlashes.ToString(CultureInfo.InvariantCulture), "0");
                figures.AddRow("overhead (steps; wall)", $"{result.Overhead:0.000}; {result.OverheadWall:0.000}", "≤ 1.15");
                figures.AddRow("committing ÷ training (wall)", result.CommitOverheadWall.ToString("0.000", CultureInfo.InvariantCulture), "");
                figures.AddRow("one commitment ÷ one step; intervals used", $"{result.CommitCost:0.000}; "
                    + string.Join(", ", result.CommitIntervals.Select(kv => $"every {kv.Key}: {kv.Value} segments")), "");
                figures.AddRow("overhead on probation / trusted", $"{result.OverheadProbation:0.000} / {result.OverheadTrusted:0.000}", "");
                figures.AddRow("max dispute rounds", result.MaxDisputeRounds.ToString(CultureInfo.InvariantCulture), $"≤ {result.DisputeRoundBound}");
                figures.AddRow("q (probation / trusted)", $"{result.Q} for {result.ProbationSegments} segments / {result.QTrusted}", "");
                figures.AddRow("exec replication overhead", result.ExecReplicationOverhead.ToString("0.000", CultureInfo.InvariantCulture), "");
                AnsiConsole.Write(figures);
                AnsiConsole.MarkupLine($"[grey]{result.Trials} trials of {result.SegmentsPerJob} segments × {result.StepsPerSegment} steps in {result.WallSeconds:0.0} s[/]");
            }

            return Task.FromResult(result.FalseSlashes == 0 ? ExitCodes.Success : ExitCodes.Failure);
        });
        sim.Subcommands.Add(verify);
        return sim;
    }
}
