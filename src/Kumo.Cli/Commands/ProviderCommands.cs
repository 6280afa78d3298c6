using System.CommandLine;
using Kumo.Cli.Output;
using Kumo.Hardware;
using Kumo.Protocol;
using Kumo.Provider;
using Kumo.Provider.Inventory;
using Kumo.Provider.Sandbox;
using Kumo.Provider.Verification;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Kumo.Cli.Commands;

/// <summary><c>kumo provider start|inventory|prove|list</c>.</summary>
public static class ProviderCommands
{
    public static Command Create()
    {
        var provider = new Command("provider", "Contribute this machine to a network, or list the network's providers");

        var data = new Option<string>("--data") { Description = "Agent data directory (key, lease work dirs)", DefaultValueFactory = _ => Path.Combine(Path.GetDirectoryName(CliContext.DefaultKeyPath())!, "provider") };
        var name = new Option<string>("--name") { Description = "Display name", DefaultValueFactory = _ => Environment.MachineName.ToLowerInvariant() };
        var simulate = new Option<string?>("--simulate-gpus") { Description = "Declare fake GPUs for a devnet, e.g. \"2xH100-80GB,1xA100-40GB\"; always shown as simulated" };
        var priceGpu = new Option<decimal>("--price-gpu") { Description = "Asking price per GPU-hour in KUMO", DefaultValueFactory = _ => 1.2m };
        var priceCpu = new Option<decimal>("--price-cpu") { Description = "Asking price per core-hour in KUMO", DefaultValueFactory = _ => 0.02m };
        var priceMemory = new Option<decimal>("--price-memory") { Description = "Asking price per GiB-hour of memory in KUMO", DefaultValueFactory = _ => 0.005m };
        var priceModel = new Option<string?>("--price-gpu-model") { Description = "Per-model GPU prices in KUMO per GPU-hour, first match wins, e.g. \"H100*=2.1,A100*=1.1\" (others: --price-gpu)" };
        var priceDisk = new Option<decimal>("--price-disk") { Description = "Asking price per GiB-hour of disk in KUMO", DefaultValueFactory = _ => 0m };
        var floor = new Option<decimal>("--floor") { Description = "Least this machine takes per node-hour in KUMO, in every pricing mode", DefaultValueFactory = _ => 0m };
        var script = new Option<string?>("--pricing-script") { Description = "A program that prices bids: JSON of the allocated resources on stdin, KUMO per hour (or NNNu µKUMO) on stdout; runs sandboxed, 5 s limit" };
        var region = new Option<string>("--region") { Description = "Where the machine is, e.g. eu-west (orders may require regions)", DefaultValueFactory = _ => "" };
        var zone = new Option<string>("--zone") { Description = "Data centre or rack: machines in one zone are < 1 ms apart (cluster latency)", DefaultValueFactory = _ => "" };
        var tier = new Option<int>("--performance-tier") { Description = "Benchmark units per device, for performance-priced orders (0: none)", DefaultValueFactory = _ => 0 };
        var address = new Option<string>("--address") { Description = "host:port cluster peers use to reach this machine", DefaultValueFactory = _ => "" };
        var probeAddress = new Option<string>("--probe-address") { Description = "host:port where this agent answers other providers' latency and bandwidth probes (port 0: any free port); clusters use what is measured", DefaultValueFactory = _ => "" };
        var keep = new Option<bool>("--keep-lease-dirs") { Description = "Keep each lease's working directory after it ends (debugging)" };
        var maxFee = new Option<double>("--max-replication-fee")
        {
            Description = "Largest replication fee to sign, in percent of an exec lease's pay: what funds the replicas that check this machine " +
                "(100% while on probation, 5-10% once trusted; docs/REPLICATION.md). Exec leases offered with more are turned down",
            DefaultValueFactory = _ => 100,
        };
        var bond = new Option<bool>("--bond") { Description = "At start, bond the network's minimum stake for this machine from its wallet if less is bonded" };
        var faucet = new Option<bool>("--faucet") { Description = "Devnet: take what --bond needs from the hub's faucet" };
        var validate = new Option<bool>("--validate") { Description = "Also validate other providers' train and infer jobs (re-execute sampled segments and rows) while bonded; never your own" };
        var validatorFault = new Option<Kumo.Provider.Verification.ValidatorBehavior>("--validator-fault")
        {
            Description = "Testing only: answer validation tasks as a cheat would (lazy: approve everything; accuser: reject everything; silent: never answer) — the network slashes or drops such validators",
            DefaultValueFactory = _ => Kumo.Provider.Verification.ValidatorBehavior.Honest,
            Hidden = true,
        };
        var execFault = new Option<bool>("--exec-fault-wrong-outputs")
        {
            Description = "Testing only: change every output file of an exec lease before uploading it, as a cheat would — adaptive replication outvotes such a provider",
            Hidden = true,
        };
        var sandboxUid = new Option<int?>("--sandbox-uid") { Description = "Host user that workloads run as when the agent runs as root [default 65534 (nobody)]; -1 keeps root (not recommended)" };

        var start = new Command("start", "Detect this machine's hardware, join the hub and run leases in a bubblewrap sandbox until interrupted");
        foreach (Option option in new Option[] { data, name, simulate, priceGpu, priceModel, priceCpu, priceMemory, priceDisk, floor, script, region, zone, tier, address, probeAddress, keep, maxFee, bond, faucet, validate, validatorFault, execFault, sandboxUid, ParentWatch.ParentPid })
        {
            start.Options.Add(option);
        }

        start.SetAction(async (parse, ct) =>
        {
            string dataDirectory = Path.GetFullPath(parse.GetValue(data)!);
            HardwareInventory detected = await DetectInventoryAsync(dataDirectory, parse.GetValue(simulate), parse.GetValue(name)!, quiet: false, ct);
            // A real GPU this agent cannot prove would fail its first hardware challenge and pause the whole machine.
            using ProofDevices proofDevices = ProofDevices.For(detected);
            HardwareInventory inventory = proofDevices.Provable(detected, out IReadOnlyList<string> unprovable);
            foreach (string warning in unprovable)
            {
                Console.Error.WriteLine($"kumo: warning: {warning}");
            }

            if (proofDevices.GpuBackend is { } backend)
            {
                Console.Out.WriteLine($"kumo: hardware proofs of this machine's GPUs run on {backend}");
            }

            var pricing = new ProviderPricing(ToMicros(parse.GetValue(priceGpu)), ToMicros(parse.GetValue(priceCpu)), ToMicros(parse.GetValue(priceMemory)))
            {
                PerGpuModel = ParseModelPrices(parse.GetValue(priceModel)),
                PerGibDiskHourMicros = ToMicros(parse.GetValue(priceDisk)),
                FloorPerHourMicros = ToMicros(parse.GetValue(floor)),
            };
            string? pricingScript = parse.GetValue(script) is { } scriptPath ? Path.GetFullPath(scriptPath) : null;
            if (pricingScript is not null && !File.Exists(pricingScript))
            {
                throw new CliException($"--pricing-script: {pricingScript} does not exist", ExitCodes.Usage);
            }
            using ILoggerFactory loggers = LoggerFactory.Create(b => b
                .AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.TimestampFormat = "HH:mm:ss.fff ";
                })
                .SetMinimumLevel(LogLevel.Information));
            // A root agent runs workloads as an unprivileged host user, so that inside the sandbox nothing of the
            // host's (even read-only) passes an owner check. See docs/SANDBOX.md.
            int? uid = parse.GetValue(sandboxUid) ?? (Environment.IsPrivilegedProcess ? 65534 : null);
            var sandbox = new BubblewrapSandbox(new BubblewrapSandboxOptions
            {
                ScratchDirectory = Path.Combine(dataDirectory, "sandbox"),
                HostUserId = uid is < 0 ? null : uid,
            }, TimeProvider.System);
            try
            {
                await sandbox.VerifyAsync(ct);
            }
            catch (SandboxException e)
            {
                throw new CliException($"the sandbox does not work on this machine: {e.Message}", ExitCodes.Failure);
            }

            var options = new ProviderAgentOptions
            {
                HubUrl = new Uri(parse.GetValue(CliContext.Hub)!.TrimEnd('/') + "/"),
                DataDirectory = dataDirectory,
                Name = parse.GetValue(name)!,
                Inventory = inventory,
                ProofDevices = proofDevices,
                Pricing = pricing,
                PricingScript = pricingScript,
                Region = parse.GetValue(region)!,
                LatencyZone = parse.GetValue(zone)!,
                PerformanceTier = parse.GetValue(tier),
                Address = parse.GetValue(address)!,
                ProbeAddress = parse.GetValue(probeAddress)!,
                KeepLeaseDirectories = parse.GetValue(keep),
                MaxReplicationFeeBps = ParseFee(parse.GetValue(maxFee)),
                EnsureStake = parse.GetValue(bond),
                Validate = parse.GetValue(validate) || parse.GetValue(validatorFault) != Kumo.Provider.Verification.ValidatorBehavior.Honest,
                ValidatorBehavior = parse.GetValue(validatorFault),
                WrongExecOutputs = parse.GetValue(execFault),
                UseFaucet = parse.GetValue(faucet),
            };
            await using var agent = new ProviderAgent(options, sandbox, TimeProvider.System, loggers);
            Console.Out.WriteLine($"kumo provider {options.Name} ({agent.AccountId}) joining {options.HubUrl} with sandbox {sandbox.Name}");
            await agent.RunAsync(ParentWatch.Link(parse, ct));
            return ExitCodes.Success;
        });

        var show = new Command("inventory", "Show what this machine would offer (CPU, memory, disk, GPUs) without joining");
        show.Options.Add(data);
        show.Options.Add(simulate);
        show.SetAction(async (parse, ct) =>
        {
            HardwareInventory inventory = await DetectInventoryAsync(Path.GetFullPath(parse.GetValue(data)!), parse.GetValue(simulate), Environment.MachineName, parse.GetValue(CliContext.Json), ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(inventory);
                return ExitCodes.Success;
            }

            AnsiConsole.MarkupLine($"[bold]cpu[/]     {Markup.Escape(inventory.Cpu.Model)}, {inventory.Cpu.LogicalCores} logical cores{(inventory.Cpu.PhysicalCores is { } p ? $" ({p} physical)" : "")}");
            AnsiConsole.MarkupLine($"[bold]memory[/]  {Display.Bytes(inventory.MemoryBytes)}");
            AnsiConsole.MarkupLine($"[bold]disk[/]    {Display.Bytes(inventory.DiskBytes)} free");
            AnsiConsole.MarkupLine($"[bold]os[/]      {Markup.Escape(inventory.Os)} ({inventory.Architecture})");
            using ProofDevices proofDevices = ProofDevices.For(inventory);
            foreach (GpuDevice gpu in inventory.Gpus)
            {
                AnsiConsole.MarkupLine($"[bold]gpu {gpu.Index}[/]   {Markup.Escape(gpu.Model)}, {Display.Bytes(gpu.VramBytes)}, {Markup.Escape(gpu.Uuid)}{(gpu.Simulated ? " [yellow](simulated)[/]" : $", driver {gpu.DriverVersion}, CUDA {gpu.CudaVersion}")}");
                if (!gpu.Simulated)
                {
                    AnsiConsole.MarkupLine(proofDevices.CanProve(gpu, out string why)
                        ? $"          hardware proof on {Markup.Escape(proofDevices.GpuBackend ?? "")}"
                        : $"          [red]not offered:[/] its hardware proof cannot run here ({Markup.Escape(why)})");
                }
            }

            if (inventory.Gpus.Count == 0)
            {
                AnsiConsole.MarkupLine("[bold]gpu[/]     none found (nvidia-smi absent or lists none)");
            }

            return ExitCodes.Success;
        });

        var list = new Command("list", "List the hub's providers with their hardware and free capacity");
        list.SetAction(async (parse, ct) =>
        {
            using var client = CliContext.CreateClient(parse);
            IReadOnlyList<ProviderView> providers = await client.ListProvidersAsync(ct);
            if (parse.GetValue(CliContext.Json))
            {
                Display.Json(providers);
            }
            else
            {
                Display.Providers(providers);
            }

            return ExitCodes.Success;
        });

        provider.Subcommands.Add(start);
        provider.Subcommands.Add(show);
        provider.Subcommands.Add(Prove(data, simulate));
        provider.Subcommands.Add(list);
        provider.Subcommands.Add(MarketCommands.Attest());
        return provider;
    }

    /// <summary>
    /// <c>kumo provider prove</c>: the hub's hardware proof of every device, computed and checked here, so an operator
    /// learns before joining whether the machine passes, how close it is to the deadline and which tier it would get.
    /// </summary>
    private static Command Prove(Option<string> data, Option<string?> simulate)
    {
        var prove = new Command("prove", "Rehearse the hub's hardware proof on this machine: compute each device's challenge as the agent would, check it as the hub would, and show the time against the deadline and the tier it earns (exit 1 if a device fails)");
        var size = new Option<int?>("--size")
        {
            Description = "Challenge every device with n × n matrices instead of the size the hub would pick (a multiple of 64, 64–32768): to measure the hub's check and this machine at other sizes; the deadline follows n",
        };
        prove.Options.Add(data);
        prove.Options.Add(simulate);
        prove.Options.Add(size);
        prove.SetAction(async (parse, ct) =>
        {
            bool json = parse.GetValue(CliContext.Json);
            HardwareProofPolicy policy = HardwareProofPolicy.Default;
            if (parse.GetValue(size) is { } n)
            {
                if (n is < 64 or > 32768 || n % 64 != 0)
                {
                    throw new CliException($"--size {n}: must be a multiple of 64 from 64 to 32768", ExitCodes.Usage);
                }

                policy = policy with { MinN = n, MaxN = n, SimulatedMaxN = n, TargetSeconds = 1e6, MemoryFraction = 1e6 };
            }

            HardwareInventory inventory = await DetectInventoryAsync(Path.GetFullPath(parse.GetValue(data)!), parse.GetValue(simulate), Environment.MachineName, json, ct);
            using ProofDevices devices = ProofDevices.For(inventory);
            IReadOnlyList<LocalProofResult> results = json
                ? await LocalProof.RunAsync(inventory, devices, policy)
                : await AnsiConsole.Status().StartAsync("rehearsing the hardware proof…", ctx => LocalProof.RunAsync(inventory, devices, policy, s => ctx.Status(Markup.Escape(s))));
            bool passed = results.All(r => r.Outcome.Passed);
            if (json)
            {
                Display.Json(new
                {
                    passed,
                    gpu_backend = devices.GpuBackend,
                    devices = results.Select(r => new
                    {
                        device_id = r.Claim.DeviceId,
                        model = r.Claim.Model,
                        gpu = r.Claim.IsGpu,
                        simulated = r.Claim.Simulated,
                        engine = r.Engine,
                        n = r.Outcome.N,
                        deadline_ms = r.DeadlineMs,
                        elapsed_ms = r.Outcome.ElapsedMs,
                        claimed_flops = ThroughputTable.ClaimedFlops(r.Claim),
                        measured_flops = r.Outcome.MeasuredFlops,
                        tier = r.Outcome.Tier,
                        hub_check_ms = r.CheckMs,
                        passed = r.Outcome.Passed,
                        code = r.Outcome.Code,
                        reason = r.Outcome.Reason,
                    }),
                });
                return passed ? ExitCodes.Success : ExitCodes.Failure;
            }

            var table = new Table().AddColumns("device", "engine", "n", "deadline", "committed in", "measured", "tier", "hub's check", "result");
            foreach (LocalProofResult r in results)
            {
                table.AddRow(
                    Markup.Escape($"{r.Claim.Model}{(r.Claim.Simulated ? " (simulated)" : "")}"),
                    Markup.Escape(r.Engine),
                    r.Outcome.N.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    $"{r.DeadlineMs} ms",
                    r.Outcome.Code == LocalProof.NotComputed ? "-" : $"{r.Outcome.ElapsedMs} ms",
                    r.Outcome.Passed ? Markup.Escape(Flops(r.Outcome.MeasuredFlops)) : "-",
                    r.Outcome.Tier.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    r.CheckMs > 0 ? $"{r.CheckMs} ms" : "-",
                    r.Outcome.Passed ? "[green]passed[/]" : $"[red]{Markup.Escape(r.Outcome.Code)}[/]: {Markup.Escape(r.Outcome.Reason)}");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLine(passed
                ? "[green]this machine passes the hub's hardware proof[/] (allow for the round trip to the hub: the deadline includes 500 ms for it)"
                : "[red]this machine would fail the hub's hardware proof and be paused[/]");
            return passed ? ExitCodes.Success : ExitCodes.Failure;
        });
        return prove;
    }

    private static string Flops(double flops) => flops >= 1e12
        ? $"{flops / 1e12:0.0} TFLOP/s"
        : $"{flops / 1e9:0.0} GFLOP/s";

    internal static async Task<HardwareInventory> DetectInventoryAsync(string dataDirectory, string? simulatedGpus, string seed, bool quiet, CancellationToken ct)
    {
        Directory.CreateDirectory(dataDirectory);
        HardwareDetection detection = await new HardwareDetector().DetectAsync(dataDirectory, ct);
        if (!quiet)
        {
            foreach (string warning in detection.Warnings)
            {
                Console.Error.WriteLine($"kumo: warning: {warning}");
            }
        }

        HardwareInventory detected = detection.Inventory;
        if (string.IsNullOrWhiteSpace(simulatedGpus))
        {
            return detected;
        }

        IReadOnlyList<GpuDevice> fake;
        try
        {
            fake = SimulatedGpus.Parse(simulatedGpus, seed);
        }
        catch (FormatException e)
        {
            throw new CliException($"--simulate-gpus: {e.Message}", ExitCodes.Usage);
        }

        // Simulated devices are numbered after the real ones; they have no device node either way.
        return detected with { Gpus = [.. detected.Gpus, .. fake.Select((g, i) => g with { Index = detected.Gpus.Count + i })] };
    }

    /// <summary>"H100*=2.1,A100*=1.1" → per-model prices in order.</summary>
    internal static IReadOnlyList<GpuModelPrice> ParseModelPrices(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return [];
        }

        var prices = new List<GpuModelPrice>();
        foreach (string entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int equals = entry.LastIndexOf('=');
            if (equals <= 0 || !decimal.TryParse(entry[(equals + 1)..], System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out decimal kumo))
            {
                throw new CliException($"--price-gpu-model: '{entry}' is not PATTERN=KUMO (e.g. H100*=2.1)", ExitCodes.Usage);
            }

            prices.Add(new GpuModelPrice(entry[..equals].Trim(), ToMicros(kumo)));
        }

        return prices;
    }

    /// <summary>--max-replication-fee in percent (0..100) as basis points.</summary>
    private static int ParseFee(double percent) =>
        percent is >= 0 and <= 100 ? (int)Math.Round(percent * 100) : throw new CliException($"--max-replication-fee {percent}% is outside 0..100", ExitCodes.Usage);

    private static long ToMicros(decimal kumo)
    {
        if (kumo < 0 || kumo > 1_000_000)
        {
            throw new CliException($"price {kumo} KUMO is outside 0..1,000,000", ExitCodes.Usage);
        }

        return (long)decimal.Round(kumo * 1_000_000m, 0, MidpointRounding.AwayFromZero);
    }
}
