using System.Globalization;
using System.Runtime.InteropServices;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Leases;

/// <summary>
/// Runs the built-in AI workloads (train, infer, quantize) as an ordinary sandboxed program: this agent's own
/// <c>kumo</c> runtime, mounted read-only at <c>/opt/kumo</c>, executes <c>kumo tensor run</c> on a task file the
/// agent writes (the job's normalized spec). The sandbox's limits, isolation and output handling are exactly those
/// of an exec job; only the program is ours.
/// </summary>
public sealed class BuiltInRuntime
{
    /// <summary>Where the runtime appears inside the sandbox.</summary>
    public const string SandboxRuntimeDirectory = "/opt/kumo";

    /// <summary>Where the task file appears inside the sandbox.</summary>
    public const string SandboxTaskDirectory = "/kumo/task";

    /// <summary>The job directory's subdirectory a train run keeps its step states in (not an output: it is never uploaded).</summary>
    public const string KeptStatesDirectory = "keep";

    private BuiltInRuntime(string runtimeDirectory, string dotnetRoot)
    {
        RuntimeDirectory = runtimeDirectory;
        DotnetRoot = dotnetRoot;
    }

    /// <summary>The host directory holding kumo.dll and its dependencies.</summary>
    public string RuntimeDirectory { get; }

    /// <summary>The host's .NET installation (the muxer and the shared runtime), mounted read-only at the same path.</summary>
    public string DotnetRoot { get; }

    /// <summary>The runtime next to this agent (the `kumo` command), or null when the agent runs without it (then built-in kinds are declined).</summary>
    public static BuiltInRuntime? Locate(string? runtimeDirectory = null)
    {
        string directory = runtimeDirectory ?? AppContext.BaseDirectory;
        if (!File.Exists(Path.Combine(directory, "kumo.dll")))
        {
            return null;
        }

        // …/shared/Microsoft.NETCore.App/10.0.x/ → the installation root, which holds the `dotnet` muxer.
        string? root = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'))));
        if (root is null || !File.Exists(Path.Combine(root, "dotnet")))
        {
            return null;
        }

        return new BuiltInRuntime(Path.GetFullPath(directory), root);
    }

    /// <summary>
    /// Writes the task file under <paramref name="leaseDirectory"/> and returns the sandbox request for the workload
    /// (the caller adds job directory, inputs, limits and the rest).
    /// </summary>
    public (string Command, IReadOnlyList<string> Args, IReadOnlyList<SandboxMount> Mounts, IReadOnlyDictionary<string, string> Environment) Prepare(
        JobSpec spec, Allocation allocation, string leaseDirectory)
    {
        string taskDirectory = Path.Combine(leaseDirectory, "task");
        Directory.CreateDirectory(taskDirectory);
        File.WriteAllText(Path.Combine(taskDirectory, "spec.json"), JobSpecWriter.ToJson(spec));

        int threads = Math.Max(1, (allocation.CpuMillicores + 999) / 1000);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["DOTNET_ROOT"] = DotnetRoot,
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
            ["DOTNET_EnableDiagnostics"] = "0", // no debugger/profiler IPC endpoints inside the sandbox
            ["DOTNET_gcServer"] = "0",
            ["KUMO_THREADS"] = threads.ToString(CultureInfo.InvariantCulture),
        };
        if (allocation.MemoryBytes > 0)
        {
            // The GC sizes its heap to the job's memory rather than reserving address space an rlimit would refuse.
            environment["DOTNET_GCHeapHardLimit"] = "0x" + (allocation.MemoryBytes * 3 / 4).ToString("x", CultureInfo.InvariantCulture);
        }

        List<string> args = [Path.Combine(SandboxRuntimeDirectory, "kumo.dll"), "tensor", "run", Path.Combine(SandboxTaskDirectory, "spec.json"), "--inputs", "/job/inputs", "--out", "/job/out"];
        if (spec.Workload.Train is not null)
        {
            // The states behind its step roots, for spot checks of one commit interval: inside the job's directory (so its
            // disk limit covers them), a quarter of that limit at most, moved out of it when the job ends (RetainedStates).
            long budget = allocation.DiskBytes > 0 ? allocation.DiskBytes / 4 : 256L << 20;
            args.AddRange(["--keep-states", "/job/" + KeptStatesDirectory, "--keep-bytes", budget.ToString(CultureInfo.InvariantCulture)]);
        }

        return (
            Path.Combine(DotnetRoot, "dotnet"),
            args,
            [new SandboxMount(RuntimeDirectory, SandboxRuntimeDirectory), new SandboxMount(DotnetRoot, DotnetRoot), new SandboxMount(taskDirectory, SandboxTaskDirectory)],
            environment);
    }
}
