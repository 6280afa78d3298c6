using System.Globalization;
using Kumo.Hardware;

namespace Kumo.Provider.Inventory;

/// <summary>The detected inventory, and what could not be detected (for the operator's log).</summary>
public sealed record HardwareDetection(HardwareInventory Inventory, IReadOnlyList<string> Warnings);

/// <summary>
/// Detects what this machine offers: CPU from /proc/cpuinfo, memory from /proc/meminfo, free disk under the agent's
/// data directory, OS from /etc/os-release, and NVIDIA GPUs through nvidia-smi (none, without error, when it is not
/// installed). Simulated devnet GPUs are not detected here: add <see cref="SimulatedGpus.Parse(string, string)"/>'s
/// devices to the inventory's GPU list.
/// </summary>
public sealed class HardwareDetector
{
    private readonly IHostSystem _host;

    public HardwareDetector(IHostSystem host)
    {
        _host = host;
    }

    /// <summary>A detector for the machine the agent runs on.</summary>
    public HardwareDetector()
        : this(new LocalHostSystem())
    {
    }

    /// <param name="dataDirectory">The agent's data directory; its file system's free space is the offered disk.</param>
    /// <param name="cancellationToken">Cancels the nvidia-smi calls.</param>
    public async Task<HardwareDetection> DetectAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var warnings = new List<string>();
        var cpu = ParseCpu(_host.ReadFile("/proc/cpuinfo") ?? "", _host.ProcessorCount);
        if (cpu.Model == UnknownModel)
        {
            warnings.Add("the CPU model could not be read from /proc/cpuinfo");
        }

        var memory = ParseMemTotal(_host.ReadFile("/proc/meminfo") ?? "");
        if (memory == 0)
        {
            warnings.Add("MemTotal could not be read from /proc/meminfo");
        }

        long disk = 0;
        try
        {
            disk = _host.FreeDiskBytes(dataDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            warnings.Add($"free disk under {dataDirectory} could not be measured: {e.Message}");
        }

        var os = ParseOsRelease(_host.ReadFile("/etc/os-release") ?? "") ?? _host.OsDescription;
        var gpus = await DetectNvidiaGpusAsync(warnings, cancellationToken);
        return new HardwareDetection(new HardwareInventory(cpu, memory, disk, gpus, os, _host.Architecture), warnings);
    }

    internal const string UnknownModel = "unknown CPU";

    /// <summary>
    /// Model from the first "model name" (x86) or its equivalent on other architectures; physical cores from the
    /// distinct (physical id, core id) pairs, null when the kernel does not report them (many ARM machines).
    /// </summary>
    internal static CpuInfo ParseCpu(string cpuinfo, int logicalCores)
    {
        // Keys that name the processor, best first: x86, then ARM boards, MIPS, POWER, RISC-V, then the SoC.
        string[] modelKeys = ["model name", "Model", "cpu model", "cpu", "uarch", "Hardware"];
        var models = new Dictionary<string, string>(StringComparer.Ordinal);
        var cores = new HashSet<(string Package, string Core)>();
        string? package = null;
        string? core = null;
        foreach (var line in cpuinfo.Split('\n').Append(""))
        {
            if (line.Trim().Length == 0)
            {
                // End of one processor's block.
                if (core is not null)
                {
                    cores.Add((package ?? "0", core));
                }

                (package, core) = (null, null);
                continue;
            }

            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                continue;
            }

            var key = line[..colon].Trim();
            var value = string.Join(' ', line[(colon + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            switch (key)
            {
                case var name when value.Length > 0 && modelKeys.Contains(name):
                    models.TryAdd(name, value);
                    break;
                case "physical id":
                    package = value;
                    break;
                case "core id":
                    core = value;
                    break;
            }
        }

        var model = modelKeys.Select(models.GetValueOrDefault).FirstOrDefault(m => m is not null);
        return new CpuInfo(model ?? UnknownModel, Math.Max(1, logicalCores), cores.Count > 0 ? cores.Count : null);
    }

    /// <summary>MemTotal in bytes (the file says kB, meaning KiB); 0 when absent.</summary>
    internal static long ParseMemTotal(string meminfo)
    {
        foreach (var line in meminfo.Split('\n'))
        {
            if (!line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                continue;
            }

            var parts = line["MemTotal:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 1 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                var unit = parts.Length > 1 ? parts[1] : "kB";
                return unit.Equals("kB", StringComparison.OrdinalIgnoreCase) ? value * 1024 : value;
            }
        }

        return 0;
    }

    /// <summary>PRETTY_NAME (else NAME VERSION) from os-release, unquoted; null when neither is there.</summary>
    internal static string? ParseOsRelease(string osRelease)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in osRelease.Split('\n'))
        {
            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            values[line[..equals].Trim()] = Unquote(line[(equals + 1)..].Trim());
        }

        if (values.TryGetValue("PRETTY_NAME", out var pretty) && pretty.Length > 0)
        {
            return pretty;
        }

        return values.TryGetValue("NAME", out var name) && name.Length > 0
            ? (values.TryGetValue("VERSION", out var version) ? $"{name} {version}" : name)
            : null;
    }

    private static string Unquote(string value)
    {
        if (value.Length >= 2 && (value[0] is '"' or '\'') && value[^1] == value[0])
        {
            value = value[1..^1];
        }

        // os-release uses shell quoting: \" \\ \$ \` escape themselves.
        return value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\$", "$", StringComparison.Ordinal)
            .Replace("\\`", "`", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
    }

    private async Task<IReadOnlyList<GpuDevice>> DetectNvidiaGpusAsync(List<string> warnings, CancellationToken cancellationToken)
    {
        var query = await _host.RunAsync("nvidia-smi", NvidiaSmiParser.QueryArguments, cancellationToken);
        if (query is null)
        {
            return [];
        }

        if (query.ExitCode != 0)
        {
            var message = FirstLine(query.Stdout + "\n" + query.Stderr);
            warnings.Add($"nvidia-smi is installed but failed (exit code {query.ExitCode}): {message}; no GPU is offered");
            return [];
        }

        var gpus = NvidiaSmiParser.ParseQuery(query.Stdout, warnings);
        if (gpus.Count == 0)
        {
            return gpus;
        }

        var banner = await _host.RunAsync("nvidia-smi", [], cancellationToken);
        var cuda = banner is { ExitCode: 0 } ? NvidiaSmiParser.ParseCudaVersion(banner.Stdout) : null;
        if (cuda is null)
        {
            warnings.Add("nvidia-smi reports no CUDA version; the GPUs are offered without one");
        }

        return [.. gpus.OrderBy(g => g.Index).Select(g => g with { CudaVersion = cuda })];
    }

    private static string FirstLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no output)";
}
