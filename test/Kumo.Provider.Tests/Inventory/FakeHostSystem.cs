using Kumo.Provider.Inventory;

namespace Kumo.Provider.Tests.Inventory;

/// <summary>A machine described by captured text: the OS boundary of the detector, not the code under test.</summary>
internal sealed class FakeHostSystem : IHostSystem
{
    public Dictionary<string, string> Files { get; } = [];

    /// <summary>Outputs by "program arg arg..."; a program with no entry is "not installed".</summary>
    public Dictionary<string, CommandOutput> Commands { get; } = [];

    public List<string> Ran { get; } = [];

    public int ProcessorCount { get; init; } = 12;

    public string Architecture { get; init; } = "x64";

    public string OsDescription { get; init; } = "Linux 6.1.0-18-amd64 #1 SMP PREEMPT_DYNAMIC";

    public long FreeDisk { get; init; } = 500L << 30;

    public string? ReadFile(string path) => Files.GetValueOrDefault(path);

    public Task<CommandOutput?> RunAsync(string program, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var line = string.Join(' ', args.Prepend(program));
        Ran.Add(line);
        return Task.FromResult(Commands.GetValueOrDefault(line));
    }

    public long FreeDiskBytes(string directory) => FreeDisk;

    public FakeHostSystem WithNvidia(string query, string banner)
    {
        Commands["nvidia-smi " + string.Join(' ', NvidiaSmiParser.QueryArguments)] = new CommandOutput(0, query, "");
        Commands["nvidia-smi"] = new CommandOutput(0, banner, "");
        return this;
    }
}
