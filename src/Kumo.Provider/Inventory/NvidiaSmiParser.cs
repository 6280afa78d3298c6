using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.RegularExpressions;
using Kumo.Hardware;

namespace Kumo.Provider.Inventory;

/// <summary>
/// Parses nvidia-smi output. The query is
/// <c>nvidia-smi --query-gpu=index,name,memory.total,uuid,driver_version,pci.bus_id --format=csv,noheader,nounits</c>
/// (one GPU per line, fields separated by ", ", memory in MiB); the CUDA version comes from the banner of plain
/// <c>nvidia-smi</c>.
/// </summary>
/// <remarks>
/// A line that cannot be read (wrong field count, a non-numeric index or memory, an unavailable name, memory or UUID)
/// is skipped with a warning naming the line, rather than failing the whole inventory: the other GPUs of the machine
/// can still be offered, and the operator sees which one is missing and why. Unavailable optional fields
/// (driver version, PCI bus id) become null.
/// </remarks>
public static partial class NvidiaSmiParser
{
    /// <summary>Arguments of the query whose output <see cref="ParseQuery"/> reads.</summary>
    public static readonly IReadOnlyList<string> QueryArguments =
        ["--query-gpu=index,name,memory.total,uuid,driver_version,pci.bus_id", "--format=csv,noheader,nounits"];

    private const long MiB = 1024 * 1024;

    /// <summary>Parses the CSV query output into devices (CUDA version not set); unreadable lines go to <paramref name="warnings"/>.</summary>
    public static List<GpuDevice> ParseQuery(string output, ICollection<string> warnings)
    {
        var gpus = new List<GpuDevice>();
        var lineNumber = 0;
        foreach (var rawLine in output.Split('\n'))
        {
            lineNumber++;
            var line = rawLine.Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (TryParseLine(line, out var gpu, out var problem))
            {
                if (gpus.Any(g => g.Index == gpu.Index || g.Uuid == gpu.Uuid))
                {
                    warnings.Add($"nvidia-smi line {lineNumber} skipped: GPU index {gpu.Index} or UUID {gpu.Uuid} appears twice: '{line}'");
                    continue;
                }

                gpus.Add(gpu);
            }
            else
            {
                warnings.Add($"nvidia-smi line {lineNumber} skipped: {problem}: '{line}'");
            }
        }

        return gpus;
    }

    /// <summary>"12.4" from a banner line like "| NVIDIA-SMI 550.54.15  Driver Version: 550.54.15  CUDA Version: 12.4 |";
    /// null when the banner says N/A or has no CUDA version.</summary>
    public static string? ParseCudaVersion(string banner)
    {
        var match = CudaVersionPattern().Match(banner);
        return match.Success ? match.Groups[1].Value : null;
    }

    private static bool TryParseLine(string line, [NotNullWhen(true)] out GpuDevice? gpu, out string problem)
    {
        gpu = null;
        var fields = line.Split(',').Select(f => f.Trim()).ToList();
        if (fields.Count < 6)
        {
            problem = $"expected 6 comma-separated fields, found {fields.Count}";
            return false;
        }

        // Names have no commas today; should one ever, the fixed fields on both sides still pin it down.
        var name = string.Join(", ", fields.Skip(1).Take(fields.Count - 5));
        var (index, memory, uuid, driver, bus) = (fields[0], fields[^4], fields[^3], fields[^2], fields[^1]);

        if (!int.TryParse(index, NumberStyles.None, CultureInfo.InvariantCulture, out var gpuIndex))
        {
            problem = $"index '{index}' is not a number";
            return false;
        }

        if (IsUnavailable(name))
        {
            problem = "the name is not available";
            return false;
        }

        if (IsUnavailable(memory) || !long.TryParse(memory, NumberStyles.None, CultureInfo.InvariantCulture, out var mebibytes) || mebibytes <= 0)
        {
            problem = $"memory.total '{memory}' is not a number of MiB";
            return false;
        }

        if (IsUnavailable(uuid) || !uuid.StartsWith("GPU-", StringComparison.Ordinal))
        {
            problem = $"uuid '{uuid}' is not a GPU UUID";
            return false;
        }

        gpu = new GpuDevice(
            Index: gpuIndex,
            Vendor: "nvidia",
            Model: CollapseSpaces(name),
            VramBytes: mebibytes * MiB,
            Uuid: uuid,
            DriverVersion: IsUnavailable(driver) ? null : driver,
            CudaVersion: null,
            PciBusId: IsUnavailable(bus) ? null : bus,
            Simulated: false);
        problem = "";
        return true;
    }

    /// <summary>nvidia-smi's ways of saying a value is missing: "[N/A]", "N/A", "[Not Supported]", "[Unknown Error]"...</summary>
    private static bool IsUnavailable(string value) =>
        value.Length == 0 || value.Equals("N/A", StringComparison.OrdinalIgnoreCase) || (value.StartsWith('[') && value.EndsWith(']'));

    private static string CollapseSpaces(string value) => WhitespacePattern().Replace(value, " ");

    [GeneratedRegex(@"CUDA Version\s*:\s*([0-9]+(?:\.[0-9]+)*)")]
    private static partial Regex CudaVersionPattern();

    [GeneratedRegex(@"\s+")]
    private static partial Regex WhitespacePattern();
}
