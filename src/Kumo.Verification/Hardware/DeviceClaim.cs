using System.Security.Cryptography;
using System.Text;
using Kumo.Hardware;

namespace Kumo.Verification.Hardware;

/// <summary>What a device is claimed to be, as the provider registered it: the thing a hardware proof tests.</summary>
/// <param name="DeviceId">The GPU's UUID, or <see cref="CpuDeviceId"/> for a machine without GPUs.</param>
/// <param name="IsGpu">False for the CPU of a machine that declares no GPU.</param>
/// <param name="Model">Model name as declared (GPU marketing name, or the CPU model).</param>
/// <param name="MemoryBytes">Device memory (VRAM; the machine's memory for a CPU).</param>
/// <param name="Cores">Logical cores for a CPU; unused for a GPU.</param>
/// <param name="Simulated">A devnet device that does not exist: checked against <see cref="ThroughputTable.SimulatedFlops"/>.</param>
public sealed record DeviceClaim(string DeviceId, bool IsGpu, string Model, long MemoryBytes, int Cores, bool Simulated)
{
    public const string CpuDeviceId = "cpu";

    /// <summary>
    /// The devices of a machine to challenge: every GPU, or the CPU when there is none (a GPU machine's CPU is not
    /// priced per FLOP, so it is not challenged).
    /// </summary>
    public static IReadOnlyList<DeviceClaim> FromInventory(HardwareInventory inventory) =>
        inventory.Gpus.Count > 0
            ? [.. inventory.Gpus.Select(g => new DeviceClaim(g.Uuid, true, g.Model, g.VramBytes, 0, g.Simulated))]
            : [new DeviceClaim(CpuDeviceId, false, inventory.Cpu.Model, inventory.MemoryBytes, Math.Max(1, inventory.Cpu.LogicalCores), false)];

    /// <summary>
    /// A fingerprint of what a set of claims asserts (every field, in order), 64 hex digits: a proof holds for the
    /// claims it was run against, and a re-registration that changes any of them (one more GPU, another model, more
    /// memory) is unproven until the next round.
    /// </summary>
    public static string Fingerprint(IEnumerable<DeviceClaim> claims)
    {
        var text = new StringBuilder();
        foreach (DeviceClaim c in claims)
        {
            // Length-prefixed fields: no model name can make two different lists print the same.
            foreach (string field in new[] { c.DeviceId, c.IsGpu ? "gpu" : "cpu", c.Model, c.MemoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                c.Cores.ToString(System.Globalization.CultureInfo.InvariantCulture), c.Simulated ? "simulated" : "real" })
            {
                text.Append(field.Length).Append(':').Append(field);
            }

            text.Append(';');
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
