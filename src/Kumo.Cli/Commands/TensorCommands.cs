using System.CommandLine;
using Kumo.Jobs;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Workloads;

namespace Kumo.Cli.Commands;

/// <summary>
/// <c>kumo tensor run SPEC</c>: runs a built-in AI workload (train, infer, quantize) on this machine with Kumo's
/// reproducible tensor engine — exactly what a provider runs in its sandbox for such a job, so a tenant can try a
/// spec locally first, and a validator can re-run a job and compare the bytes.
/// </summary>
public static class TensorCommands
{
    public static Command Create()
    {
        var tensor = new Command("tensor", "Kumo's reproducible tensor engine: run train, infer and quantize workloads locally");

        var spec = new Argument<string>("spec") { Description = "A job spec with a train, infer or quantize workload (YAML with local input paths, or the wire-form JSON a provider receives)" };
        var inputs = new Option<string?>("--inputs") { Description = "Directory holding the inputs by name (for a wire-form spec; a YAML spec's input paths are used otherwise)" };
        var output = new Option<string>("--out") { Description = "Where the outputs go", DefaultValueFactory = _ => "out" };
        var threads = new Option<int?>("--threads") { Description = "Worker threads [default: $KUMO_THREADS, else every core]; results are the same bits for any value" };
        var keepStates = new Option<string?>("--keep-states")
        {
            Description = "Train: also keep the state after each step with a published root (not the checkpoints) in this directory, as a provider does to reveal one for a spot check",
        };
        var keepBytes = new Option<long>("--keep-bytes")
        {
            Description = "At most this many bytes of kept states; past it no more are kept (the run goes on)",
            DefaultValueFactory = _ => 256L << 20,
        };
        var run = new Command("run", "Run a job spec's train, infer or quantize workload here; progress on stdout, files under --out") { spec, inputs, output, threads, keepStates, keepBytes };
        run.SetAction((parse, ct) =>
        {
            string path = parse.GetValue(spec)!;
            if (!File.Exists(path))
            {
                throw new CliException($"no spec file {path}", ExitCodes.InvalidInput);
            }

            string text = File.ReadAllText(path);
            bool wire = text.TrimStart().StartsWith('{');
            JobSpecReadResult read = wire ? JobSpecReader.ReadWireForm(text, path) : JobSpecReader.Read(text, path);
            if (!read.Succeeded)
            {
                throw new CliException(string.Join("\n", read.Errors), ExitCodes.InvalidInput);
            }

            JobSpec job = read.Spec!;
            string inputsDirectory = parse.GetValue(inputs) ?? LinkInputs(job, Path.GetDirectoryName(Path.GetFullPath(path))!);
            int count = parse.GetValue(threads)
                ?? (int.TryParse(Environment.GetEnvironmentVariable("KUMO_THREADS"), out int fromEnvironment) && fromEnvironment > 0 ? fromEnvironment : Environment.ProcessorCount);
            var compute = new ComputeOptions { Threads = Math.Clamp(count, 1, 256) };
            try
            {
                if (parse.GetValue(keepBytes) < 0)
                {
                    throw new CliException("--keep-bytes must not be negative", ExitCodes.Usage);
                }

                StateRetention? retention = parse.GetValue(keepStates) is { Length: > 0 } keep ? new StateRetention(keep, parse.GetValue(keepBytes)) : null;
                new WorkloadRunner(Console.Out, compute) { Retention = retention }.Run(job.Workload, inputsDirectory, parse.GetValue(output)!, ct);
            }
            catch (Exception e) when (e is WorkloadException or SafeTensorsFormatException)
            {
                throw new CliException(e.Message, ExitCodes.InvalidInput);
            }

            return Task.FromResult(ExitCodes.Success);
        });
        tensor.Subcommands.Add(run);
        return tensor;
    }

    /// <summary>A YAML spec names local files: they are linked under their input names in a temporary directory.</summary>
    private static string LinkInputs(JobSpec job, string specDirectory)
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-inputs-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(directory);
        foreach (JobInput input in job.Workload.Inputs)
        {
            if (input.Path is null)
            {
                throw new CliException($"input {input.Name} has only a CID; run it on the network, or give a local path", ExitCodes.InvalidInput);
            }

            string source = Path.GetFullPath(Path.Combine(specDirectory, input.Path));
            if (!File.Exists(source))
            {
                throw new CliException($"input {input.Name}: no file {source}", ExitCodes.InvalidInput);
            }

            File.CreateSymbolicLink(Path.Combine(directory, input.Name), source);
        }

        return directory;
    }
}
