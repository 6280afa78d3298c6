using System.CommandLine;
using System.Globalization;
using Kumo.Cli.Output;
using Kumo.Client;
using Kumo.Jobs;
using Kumo.Market.Simulation;
using Kumo.Protocol;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary>
/// The market from the command line: <c>kumo job plan|bids|accept</c>, <c>kumo stats</c>, <c>kumo provider attest</c>
/// and <c>kumo sim market</c>.
/// </summary>
public static class MarketCommands
{
    /// <summary>Adds plan, bids and accept to <c>kumo job</c>.</summary>
    public static void AddToJob(Command job)
    {
        job.Subcommands.Add(Plan());
        job.Subcommands.Add(Bids());
        job.Subcommands.Add(Accept());
    }

    private static Command Plan()
    {
        var spec = new Argument<string>("spec") { Description = "Job spec YAML file" };
        var command = new Command("plan", "Before paying: how many providers could run the job now, what excludes the rest, recent prices and the expected wait") { spec };
        command.SetAction(async (parse, ct) =>
        {
            JobSpec read = JobSubmitter.ReadSpec(parse.GetValue(spec)!);
            using HubClient client = CliContext.CreateClient(parse);
            PlanView plan = await client.PlanAsync(JobSpecWriter.ToJson(read), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(plan);
                return ExitCodes.Success;
            }

            string nodes = plan.NodesNeeded > 1 ? $" ({plan.NodesNow} of the {plan.NodesNeeded} nodes it needs)" : "";
            AnsiConsole.MarkupLine($"[bold]{plan.CanRunNow}[/] of {plan.Providers} provider(s) could run [bold]{Markup.Escape(read.Name)}[/] now{nodes}; {plan.CanRunWhenIdle} when idle");
            if (plan.Exclusions.Count > 0)
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("providers", "excluded because they");
                foreach (ExclusionView e in plan.Exclusions)
                {
                    table.AddRow(e.Count.ToString(CultureInfo.InvariantCulture), Markup.Escape(e.Reason));
                }

                AnsiConsole.Write(table);
            }

            if (plan.RecentPrices is { } p)
            {
                string unit = p.Model == "cpu" ? "core-hour" : "GPU-hour";
                AnsiConsole.MarkupLine($"recent prices of {Markup.Escape(p.Model)}: {Display.Micros(p.Min)} – {Display.Micros(p.Max)} per {unit}, median {Display.Micros(p.Median)} ({p.Count} leases)");
            }
            else
            {
                AnsiConsole.MarkupLine("[grey]no recent clearing prices for what it would get[/]");
            }

            AnsiConsole.MarkupLine($"your maximum: {Display.Micros(plan.MaxPricePerHourMicros)} per hour for the whole order");
            AnsiConsole.MarkupLine(plan.ExpectedWaitMs switch
            {
                0 => "expected wait: none, it can be leased now",
                { } ms => $"expected wait: about {TimeSpan.FromMilliseconds(ms).TotalMinutes:0.#} min (when running leases end)",
                null => "expected wait: unknown",
            });
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(plan.Explanation)}[/]");
            return plan.CanRunWhenIdle > 0 ? ExitCodes.Success : ExitCodes.Failure;
        });
        return command;
    }

    private static Command Bids()
    {
        var jobId = new Argument<string>("job-id") { Description = "The job" };
        var command = new Command("bids", "A job's bids and declines: price, provider, reputation, allocated model, state") { jobId };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            IReadOnlyList<BidView> bids = await client.ListBidsAsync(parse.GetValue(jobId)!, ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(bids);
                return ExitCodes.Success;
            }

            if (bids.Count == 0)
            {
                AnsiConsole.MarkupLine("[grey]no bids yet[/]");
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("bid", "attempt", "provider", "reputation", "nodes", "price/h", "state", "detail");
            foreach (BidView bid in bids.OrderBy(b => b.State == "open" ? 0 : 1).ThenBy(b => b.PricePerHourMicros))
            {
                string nodes = bid.Nodes.Count == 0 ? "" : $"{bid.Nodes.Count}× " + (bid.Nodes[0].GpuUuids.Count > 0
                    ? $"{bid.Nodes[0].GpuUuids.Count}× {bid.Nodes[0].GpuModel}"
                    : $"{bid.Nodes[0].CpuMillicores / 1000.0:0.###} cpu");
                table.AddRow(Markup.Escape(bid.Id), (bid.Attempt + 1).ToString(CultureInfo.InvariantCulture), Markup.Escape(bid.ProviderName),
                    bid.Reputation.ToString("0.00", CultureInfo.InvariantCulture), Markup.Escape(nodes),
                    bid.State is "declined" ? "" : Display.Micros(bid.PricePerHourMicros), bid.State, Markup.Escape(bid.Detail));
            }

            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    private static Command Accept()
    {
        var jobId = new Argument<string>("job-id") { Description = "The job" };
        var bidIds = new Argument<string[]>("bid-ids") { Description = "The bid(s) to accept; together they must cover the job's nodes", Arity = ArgumentArity.OneOrMore };
        var command = new Command("accept", "Accept bids by hand (for orders with market.accept: manual, or any order still bidding)") { jobId, bidIds };
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            JobView view = await client.AcceptBidsAsync(CliContext.LoadSigner(parse), parse.GetValue(jobId)!, parse.GetValue(bidIds)!, ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(view);
            }
            else
            {
                AnsiConsole.MarkupLine($"accepted: [bold]{Markup.Escape(view.Id)}[/] is {Display.StateMarkup(view.State)} with {view.Leases.Count(l => l.State != Leases.LeaseState.Closed)} lease(s) offered");
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>kumo stats</c>: the network's hardware table.</summary>
    public static Command Stats()
    {
        var command = new Command("stats", "The network at a glance: GPUs, CPUs, H100/A100 counts and median prices, utilization, open orders");
        command.SetAction(async (parse, ct) =>
        {
            using HubClient client = CliContext.CreateClient(parse);
            NetworkStats stats = await client.GetStatsAsync(ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(stats);
                return ExitCodes.Success;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumns("", "this network");
            table.AddRow("providers (online)", $"{stats.Providers} ({stats.ProvidersOnline})");
            table.AddRow("GPUs", stats.SimulatedGpus > 0 ? $"{stats.Gpus} ({stats.SimulatedGpus} simulated)" : stats.Gpus.ToString(CultureInfo.InvariantCulture));
            table.AddRow("CPU cores", stats.CpuCores.ToString(CultureInfo.InvariantCulture));
            table.AddRow("H100", stats.H100Gpus.ToString(CultureInfo.InvariantCulture));
            table.AddRow("A100", stats.A100Gpus.ToString(CultureInfo.InvariantCulture));
            table.AddRow("H100 price / GPU-hour (median)", stats.H100MedianPerGpuHour is { } h ? Display.Micros(h) : "–");
            table.AddRow("A100 price / GPU-hour (median)", stats.A100MedianPerGpuHour is { } a ? Display.Micros(a) : "–");
            table.AddRow("GPU utilization", stats.GpuUtilization.ToString("P0", CultureInfo.InvariantCulture));
            table.AddRow("CPU utilization", stats.CpuUtilization.ToString("P0", CultureInfo.InvariantCulture));
            table.AddRow("open orders", stats.OpenOrders.ToString(CultureInfo.InvariantCulture));
            table.AddRow("open bids / active leases", $"{stats.OpenBids} / {stats.ActiveLeases}");
            AnsiConsole.Write(table);
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>kumo provider attest PROVIDER key=value…</c>: sign attributes of a machine as an auditor.</summary>
    public static Command Attest()
    {
        var provider = new Argument<string>("provider") { Description = "The provider's account id (kumo1…)" };
        var attributes = new Argument<string[]>("attributes") { Description = "key=value pairs you vouch for, e.g. tier=datacenter; none withdraws your attestation", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("attest", "As an auditor (your key), sign attributes of a provider machine that orders naming you may require") { provider, attributes };
        command.SetAction(async (parse, ct) =>
        {
            var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string pair in parse.GetValue(attributes) ?? [])
            {
                int equals = pair.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || equals == pair.Length - 1)
                {
                    throw new CliException($"'{pair}' is not key=value", ExitCodes.Usage);
                }

                pairs[pair[..equals]] = pair[(equals + 1)..];
            }

            using HubClient client = CliContext.CreateClient(parse);
            RequestSigner auditor = CliContext.LoadSigner(parse);
            await client.AttestAsync(auditor, parse.GetValue(provider)!, pairs, ct);
            AnsiConsole.MarkupLine(pairs.Count == 0
                ? $"withdrawn: {Markup.Escape(auditor.AccountId.Value)} no longer vouches for {Markup.Escape(parse.GetValue(provider)!)}"
                : $"{Markup.Escape(auditor.AccountId.Value)} vouches for {Markup.Escape(string.Join(", ", pairs.Select(p => p.Key + "=" + p.Value)))}");
            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary><c>kumo sim market</c>: the real matching code at network scale, in-process, with virtual time.</summary>
    public static Command Simulate()
    {
        var providers = new Option<int>("--providers") { Description = "Simulated providers", DefaultValueFactory = _ => 5_000 };
        var gpus = new Option<int>("--gpus") { Description = "GPUs across them", DefaultValueFactory = _ => 40_000 };
        var orders = new Option<int>("--orders") { Description = "Orders to place", DefaultValueFactory = _ => 10_000 };
        var clusters = new Option<int>("--clusters64") { Description = "How many of them are 64-GPU clusters", DefaultValueFactory = _ => 20 };
        var seed = new Option<int>("--seed") { Description = "Random seed (same seed, same market)", DefaultValueFactory = _ => 1 };
        var market = new Command("market", "Run the real auction and matching code on simulated providers in virtual time; prints one JSON line with --json")
        {
            providers, gpus, orders, clusters, seed,
        };
        market.SetAction((parse, ct) =>
        {
            var options = new SimulationOptions
            {
                Providers = parse.GetValue(providers),
                Gpus = parse.GetValue(gpus),
                Orders = parse.GetValue(orders),
                Clusters64 = parse.GetValue(clusters),
                Seed = parse.GetValue(seed),
            };
            if (options.Providers <= 0 || options.Gpus < 0 || options.Orders <= 0 || options.Clusters64 < 0)
            {
                throw new CliException("--providers and --orders must be positive, --gpus and --clusters64 not negative", ExitCodes.Usage);
            }

            SimulationResult result = parse.GetValue(CliContext.Json) || !AnsiConsole.Profile.Capabilities.Interactive
                ? MarketSimulator.Run(options)
                : AnsiConsole.Status().Start($"simulating {options.Orders:N0} orders on {options.Providers:N0} providers…", _ => MarketSimulator.Run(options));
            if (parse.GetValue(CliContext.Json))
            {
                Console.Out.WriteLine(result.ToJsonLine());
            }
            else
            {
                var table = new Table().Border(TableBorder.Rounded).AddColumns("", "result", "goal");
                table.AddRow("orders matched per second", result.OrdersMatchedPerSecond.ToString("N0", CultureInfo.InvariantCulture), "≥ 5,000");
                table.AddRow("order → lease p50 / p99 (wall)", $"{result.P50OrderToLeaseMs:0.###} / {result.P99OrderToLeaseMs:0.###} ms", "");
                table.AddRow("64-GPU cluster leased in (median / max)",
                    result.Cluster64LeaseMs is { } c ? $"{c:0.###} / {result.Cluster64MaxMs:0.###} ms" : "–", "< 1 s");
                table.AddRow("feasible orders filled", result.FeasibleFilledFraction.ToString("P2", CultureInfo.InvariantCulture), "100%");
                table.AddRow("orders leased / feasible / infeasible", $"{result.LeasedOrders:N0} / {result.FeasibleOrders:N0} / {result.InfeasibleOrders:N0}", "");
                table.AddRow("peak memory", $"{result.PeakMemoryMb:0} MB", "");
                AnsiConsole.Write(table);
            }

            return Task.FromResult(result.Missed.Count == 0 ? ExitCodes.Success : ExitCodes.Failure);
        });
        var sim = new Command("sim", "Simulations that drive the real code at scale");
        sim.Subcommands.Add(market);
        return sim;
    }
}
