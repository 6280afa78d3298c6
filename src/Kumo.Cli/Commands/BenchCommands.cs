using System.CommandLine;
using Kumo.Cli.Bench;
using Kumo.Tensor.Compute;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo bench heartbeat|first-log|ledger|tensor</c>: scenario benchmarks that print one JSON line with --json.</summary>
public static class BenchCommands
{
    public static Command Create()
    {
        var bench = new Command("bench", "Scenario benchmarks; each compares against an anchor measured in the same run");

        var requests = new Option<int>("--requests") { Description = "Requests per phase", DefaultValueFactory = _ => 20_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "Requests in flight", DefaultValueFactory = _ => 32 };
        var providers = new Option<int>("--providers") { Description = "Distinct provider keys signing heartbeats", DefaultValueFactory = _ => 64 };
        var heartbeat = new Command("heartbeat", "Signed heartbeats/s a hub accepts on loopback vs. an unsigned no-op endpoint of the same hub") { requests, concurrency, providers };
        heartbeat.SetAction(async (parse, ct) =>
        {
            HeartbeatBenchmark.Result result = await HeartbeatBenchmark.RunAsync(
                Math.Max(1000, parse.GetValue(requests)), Math.Clamp(parse.GetValue(concurrency), 1, 1024), Math.Clamp(parse.GetValue(providers), 1, 10_000), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Console.Out.WriteLine(BenchJson.Line(result));
            }
            else
            {
                AnsiConsole.MarkupLine($"signed heartbeats  {result.SignedHeartbeatsPerS,10:N0} /s");
                AnsiConsole.MarkupLine($"unsigned no-op     {result.NoopPerS,10:N0} /s   (anchor, same hub, same run)");
                AnsiConsole.MarkupLine($"ratio              {result.Ratio,10:0.000}");
                AnsiConsole.MarkupLine($"[grey]raw P-256 verify on one thread: {result.RawVerifyPerS:N0} /s; {result.Requests} requests per phase, {result.Concurrency} in flight, {result.Errors} errors[/]");
            }

            return result.Errors == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });

        var runs = new Option<int>("--runs") { Description = "Jobs submitted one after another", DefaultValueFactory = _ => 10 };
        var firstLog = new Command("first-log", "Time from `job submit` to the workload's first log line on a devnet, with its breakdown") { runs };
        firstLog.SetAction(async (parse, ct) =>
        {
            bool json = parse.GetValue(CliContext.Json);
            FirstLogBenchmark.Result result = await FirstLogBenchmark.RunAsync(Math.Clamp(parse.GetValue(runs), 1, 1000), json ? null : s => AnsiConsole.MarkupLine($"[grey]{s}[/]"), ct);
            if (json)
            {
                Console.Out.WriteLine(BenchJson.Line(result));
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("phase", "median ms");
            table.AddRow("submit (read spec, sign, POST)", $"{result.SubmitMsP50:0}");
            table.AddRow("queued → offered", $"{result.QueueToOfferMsP50:0}");
            table.AddRow("offered → accepted", $"{result.OfferToAcceptMsP50:0}");
            table.AddRow("accepted → sandbox started", $"{result.AcceptToStartMsP50:0}");
            table.AddRow("started → first line at hub", $"{result.StartToHubLogMsP50:0}");
            table.AddRow("hub → follower", $"{result.HubToClientMsP50:0}");
            table.AddRow("[bold]submit → first line (total)[/]", $"[bold]{result.TotalMsP50:0}[/] (max {result.TotalMsMax:0})");
            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });

        var transfers = new Option<int>("--transfers") { Description = "Signed transfers to send", DefaultValueFactory = _ => 20_000 };
        var inFlight = new Option<int>("--concurrency") { Description = "Requests in flight (each waits for its block to commit)", DefaultValueFactory = _ => 256 };
        var accounts = new Option<int>("--accounts") { Description = "Distinct signing accounts", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch") { Description = "Transfers per request (1: one per POST /v1/ledger/transactions; more: POST .../batch)", DefaultValueFactory = _ => 1 };
        var blockInterval = Durations.Option("--block-interval", "The hub's block interval", TimeSpan.FromMilliseconds(50));
        var ledger = new Command("ledger", "Signed transfers/s applied end to end, and audit replay tx/s, each vs raw P-256 verifications/s") { transfers, inFlight, batch, accounts, blockInterval };
        ledger.SetAction(async (parse, ct) =>
        {
            bool json = parse.GetValue(CliContext.Json);
            LedgerBenchmark.Result result = await LedgerBenchmark.RunAsync(Math.Max(1000, parse.GetValue(transfers)), Math.Clamp(parse.GetValue(inFlight), 1, 4096), Math.Clamp(parse.GetValue(batch), 1, 1000),
                Math.Clamp(parse.GetValue(accounts), 2, 10_000), parse.GetValue(blockInterval), json ? null : s => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s)}[/]"), ct);
            if (json)
            {
                Console.Out.WriteLine(BenchJson.Line(result));
            }
            else
            {
                AnsiConsole.MarkupLine($"signed transfers   {result.TransfersPerS,10:N0} /s   ratio {result.TransferRatio:0.000} (goal ≥ 0.5)");
                AnsiConsole.MarkupLine($"audit replay       {result.AuditTxPerS,10:N0} tx/s ratio {result.AuditRatio:0.000} (goal ≥ 0.8)");
                AnsiConsole.MarkupLine($"raw P-256 verify   {result.RawVerifyPerS,10:N0} /s   (anchor, one thread, same run)");
                AnsiConsole.MarkupLine($"[grey]{result.Transfers} transfers, {result.Concurrency} requests in flight, {result.Batch} per request, {result.Blocks} blocks of ≤ {result.BlockIntervalMs} ms, {result.Errors} errors[/]");
            }

            return result.Errors == 0 ? ExitCodes.Success : ExitCodes.Failure;
        });

        var threads = new Option<int>("--threads") { Description = "Threads for both sides (default: every core)", DefaultValueFactory = _ => ComputeOptions.Default.Threads };
        var width = new Option<SimdWidth>("--width") { Description = "SIMD width of our kernels (Auto, Scalar, W128, W256, W512)", DefaultValueFactory = _ => SimdWidth.Auto };
        var tensor = new Command("tensor", "Deterministic fp32 GEMM GFLOP/s at n = 256, 1024, 2048 vs OpenBLAS sgemm (numpy) with the same threads, and a bit-identity check") { threads, width };
        tensor.SetAction(parse =>
        {
            bool json = parse.GetValue(CliContext.Json);
            TensorBenchmark.Result result = TensorBenchmark.Run(Math.Clamp(parse.GetValue(threads), 1, 1024), parse.GetValue(width),
                json ? null : s => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s)}[/]"));
            if (json)
            {
                Console.Out.WriteLine(BenchJson.Line(result));
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("n", "kumo GFLOP/s", "OpenBLAS GFLOP/s", "ratio");
                foreach ((string n, TensorBenchmark.Size size) in new[] { ("256", result.N256), ("1024", result.N1024), ("2048", result.N2048) })
                {
                    table.AddRow(n, $"{size.KumoGflops:0.0}", $"{size.OpenblasGflops:0.0}", $"{size.Ratio:0.000}");
                }

                AnsiConsole.Write(table);
                AnsiConsole.MarkupLine($"{result.Threads} thread(s), {result.Width}; same bits under every width and thread count: {(result.Deterministic ? "[green]yes[/]" : "[red]NO[/]")}");
                AnsiConsole.MarkupLine($"[grey]anchor BLAS: {Markup.Escape(result.AnchorBlas)}[/]");
            }

            return result.Deterministic ? ExitCodes.Success : ExitCodes.Failure;
        });

        var train = new Command("train", "Training throughput of the digits MLP and the character transformer with 1 and 2 threads; held-out accuracy, int8 cost, loss vs unigram");
        train.SetAction(parse =>
        {
            bool json = parse.GetValue(CliContext.Json);
            string datasets = Datasets();

            TrainBenchmark.Result result = TrainBenchmark.Run(datasets, json ? null : s => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s)}[/]"));
            if (json)
            {
                Console.Out.WriteLine(BenchJson.Line(result));
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "1 thread", "2 threads", "quality");
                table.AddRow("MLP 64-128-10 (samples/s)", $"{result.Mlp.SamplesPerS1t:N0}", $"{result.Mlp.SamplesPerS2t:N0}",
                    $"held-out accuracy {result.Mlp.HeldoutAccuracy:P2}; int8 per channel {result.Mlp.Int8PerChannelAccuracy:P2}, q8_0 {result.Mlp.Q80Accuracy:P2}");
                table.AddRow("transformer 2×64, ctx 64 (sequences/s)", $"{result.Transformer.SequencesPerS1t:N1}", $"{result.Transformer.SequencesPerS2t:N1}",
                    $"validation {result.Transformer.ValidationLoss:0.000} vs unigram {result.Transformer.UnigramLoss:0.000} nats/char ({result.Transformer.LossRatio:0.000}×)");
                AnsiConsole.Write(table);
                AnsiConsole.MarkupLine($"train-digits with step roots (1 thread): a root every step {result.StepRoots.RatioEveryStep:0.00}×, "
                    + $"every {result.StepRoots.Interval} steps {result.StepRoots.RatioAtInterval:0.00}× the {result.StepRoots.SecondsWithout:0.000} s without");
                AnsiConsole.MarkupLine($"same commitments with 1 and 2 threads: {(result.Deterministic ? "[green]yes[/]" : "[red]NO[/]")}");
            }

            return result.Deterministic ? ExitCodes.Success : ExitCodes.Failure;
        });

        var repeats = new Option<int>("--repeats") { Description = "Timed runs of the step and of each operator (medians are reported)", DefaultValueFactory = _ => 21 };
        var referee = new Command("referee", "What a dispute's referee spends: each operator of a training step recomputed alone from an opening, against one whole traced step")
        {
            repeats,
        };
        referee.SetAction(parse =>
        {
            bool json = parse.GetValue(CliContext.Json);
            int runs = parse.GetValue(repeats);
            if (runs < 1)
            {
                throw new CliException("--repeats must be at least 1", ExitCodes.Usage);
            }

            string datasets = Datasets();

            RefereeBenchmark.Result result = RefereeBenchmark.Run(datasets, runs, json ? null : s => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(s)}[/]"));
            if (json)
            {
                Console.Out.WriteLine(BenchJson.Line(result));
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("model", "operators", "one step (anchor)", "mean operator", "largest operator", "largest fwd/bwd", "largest opening / state");
                foreach (RefereeBenchmark.Model m in new[] { result.Mlp, result.Transformer })
                {
                    table.AddRow(Markup.Escape(m.Name), $"{m.Operators}", $"{m.StepSeconds * 1000:0.000} ms", $"{m.MeanRatio:0.000}×",
                        $"{m.MaxRatio:0.000}× ({Markup.Escape(m.MaxKind)})", $"{m.ForwardBackwardMaxRatio:0.000}×", $"{m.LargestOpeningBytes:N0} / {m.StateBytes:N0} B");
                }

                AnsiConsole.Write(table);
                AnsiConsole.MarkupLine($"every replayed operator gives the traced hash: {(result.Exact ? "[green]yes[/]" : "[red]NO[/]")}");
            }

            return result.Exact ? ExitCodes.Success : ExitCodes.Failure;
        });

        bench.Subcommands.Add(heartbeat);
        bench.Subcommands.Add(referee);
        bench.Subcommands.Add(train);
        bench.Subcommands.Add(ledger);
        bench.Subcommands.Add(firstLog);
        bench.Subcommands.Add(tensor);
        return bench;
    }

    /// <summary>The repository's .kumo/datasets, with the digits and the licence corpus in it (the training benchmarks' data).</summary>
    private static string Datasets()
    {
        string datasets = Path.Combine(Environment.GetEnvironmentVariable("KUMO_REPO_ROOT") is { Length: > 0 } root ? root : Directory.GetCurrentDirectory(), ".kumo", "datasets");
        return File.Exists(Path.Combine(datasets, "digits.csv.gz")) && File.Exists(Path.Combine(datasets, "licenses.txt"))
            ? datasets
            : throw new CliException($"the data sets are not in {datasets}; run scripts/datasets.sh (./kumo does it for you)", ExitCodes.InvalidInput);
    }
}
