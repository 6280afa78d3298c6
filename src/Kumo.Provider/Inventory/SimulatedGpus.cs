using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Kumo.Hardware;

namespace Kumo.Provider.Inventory;

/// <summary>
/// Fake GPUs that devnet providers declare so GPU matching can be shown on machines without one, from a spec like
/// <c>"2xH100-80GB,1xA100-40GB"</c>: entries separated by commas, each <c>[count x]model-memory</c>. The model is
/// everything before the last '-' (so "A100-SXM4-40GB" is model "A100-SXM4"); memory is a number with GB/GiB
/// (both read as GiB, as GPU memory is marketed) or MB/MiB. Devices are numbered from 0 in order, with vendor
/// "nvidia", Simulated = true and UUIDs "SIM-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" derived from (seed, index): clearly
/// fake, stable across restarts of the same provider, different between providers.
/// </summary>
public static partial class SimulatedGpus
{
    /// <summary>Seed used by <see cref="Parse(string)"/>; pass a per-provider seed (its key id) to get distinct UUIDs.</summary>
    public const string DefaultSeed = "kumo-devnet";

    private const int MaxDevices = 1024;

    public static IReadOnlyList<GpuDevice> Parse(string spec) => Parse(spec, DefaultSeed);

    /// <summary>Parses the spec; throws <see cref="FormatException"/> naming the entry at fault. Empty means no GPU.</summary>
    public static IReadOnlyList<GpuDevice> Parse(string spec, string providerSeed)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(providerSeed);
        var devices = new List<GpuDevice>();
        if (spec.Trim().Length == 0)
        {
            return devices;
        }

        var entries = spec.Split(',');
        for (var e = 0; e < entries.Length; e++)
        {
            var entry = entries[e].Trim();
            var match = EntryPattern().Match(entry);
            if (!match.Success)
            {
                throw Error(e, entry, "expected [count x]model-memory, e.g. 2xH100-80GB");
            }

            var count = 1;
            if (match.Groups["count"].Success
                && (!int.TryParse(match.Groups["count"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out count) || count < 1))
            {
                throw Error(e, entry, "the count must be a whole number of at least 1");
            }

            if (devices.Count + count > MaxDevices)
            {
                throw Error(e, entry, $"more than {MaxDevices} simulated GPUs in total");
            }

            var model = match.Groups["model"].Value;
            var vram = ParseMemory(match.Groups["amount"].Value, match.Groups["unit"].Value)
                ?? throw Error(e, entry, "the memory must be a positive amount with GB, GiB, MB or MiB, at most 1 TiB");
            for (var i = 0; i < count; i++)
            {
                var index = devices.Count;
                devices.Add(new GpuDevice(index, "nvidia", model, vram, Uuid(providerSeed, index),
                    DriverVersion: null, CudaVersion: null, PciBusId: null, Simulated: true));
            }
        }

        return devices;
    }

    /// <summary>"SIM-" and a UUID-shaped hex rendering of SHA-256(seed, index).</summary>
    internal static string Uuid(string seed, int index)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"kumo-simulated-gpu\n{seed}\n{index}")));
        var hex = Convert.ToHexStringLower(hash.AsSpan(0, 16));
        return $"SIM-{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..32]}";
    }

    private static long? ParseMemory(string amount, string unit)
    {
        if (!decimal.TryParse(amount, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
        {
            return null;
        }

        var multiplier = unit.ToUpperInvariant() switch
        {
            "GB" or "GIB" or "G" => 1L << 30,
            "MB" or "MIB" or "M" => 1L << 20,
            _ => 0,
        };
        var bytes = value * multiplier;
        return bytes is >= 1 and <= 1L << 40 ? (long)bytes : null;
    }

    private static FormatException Error(int entryIndex, string entry, string problem) =>
        new($"simulated GPU entry {entryIndex + 1} ('{entry}'): {problem}");

    [GeneratedRegex(@"^(?:(?<count>[0-9]+)\s*[xX]\s*)?(?<model>[A-Za-z0-9][A-Za-z0-9_.\-]*?)-(?<amount>[0-9]+(?:\.[0-9]+)?)\s*(?<unit>[A-Za-z]+)$")]
    private static partial Regex EntryPattern();
}
