using System.Collections.Concurrent;
using Kumo.Hardware;
using Kumo.Protocol;
using Kumo.Provider.Control;
using Kumo.Verification.Hardware;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Verification;

/// <summary>
/// Answers the hub's hardware challenges honestly: computes each device's product on that device (<see cref="ProofDevices"/>:
/// the CPU engine, or cuBLAS on a real GPU), signs the row commitment as soon as it is ready, and opens what the hub
/// reveals. Products are kept only until opened or until <see cref="KeepFor"/> has passed, whichever comes first.
/// </summary>
public sealed class HardwareProofResponder(HubChannel channel, HardwareInventory inventory, ProofDevices devices, TimeProvider time, ILogger logger)
{
    private readonly ConcurrentDictionary<(string Challenge, string Device), (HardwareProver Prover, long At)> _pending = new();

    /// <summary>How long a computed product waits for its reveal.</summary>
    public TimeSpan KeepFor { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Computes and commits every device of <paramref name="request"/>: GPUs at once, each on itself, CPU-engine devices
    /// one after another (run it off the receive loop).
    /// </summary>
    public Task AnswerAsync(HardwareChallengeRequest request)
    {
        Forget();
        return devices.ComputeAllAsync(inventory, request.ChallengeId, request.Devices,
            (device, prover) =>
            {
                _pending[(request.ChallengeId, device.DeviceId)] = (prover, time.GetUtcNow().ToUnixTimeMilliseconds());
                channel.SendSigned(ChannelMessageTypes.HardwareCommit, HardwareProofMessageTypes.Commit, prover.Commitment);
            },
            (device, error) => logger.LogWarning("cannot answer hardware challenge {Challenge} for {Device}: {Error}", request.ChallengeId, device.DeviceId, error));
    }

    /// <summary>
    /// Logs the hub's verdict on a round for the machine's operator: a pass with its tier, or the failing device, why,
    /// and that the market offers this machine nothing until a later round passes.
    /// </summary>
    public static void Report(HardwareProofResult result, ILogger logger)
    {
        string next = About(TimeSpan.FromMilliseconds(result.NextInMs));
        if (result.Passed)
        {
            logger.LogInformation("hardware proof {Challenge} passed: {Devices}; measured tier {Tier}; the hub offers this machine work (next round in about {Next})",
                result.ChallengeId, string.Join(", ", result.Devices.Select(d => $"{d.DeviceId} n={d.N} in {d.ElapsedMs} ms")), result.Tier, next);
            return;
        }

        HardwareDeviceResult failed = result.Devices.FirstOrDefault(d => !d.Passed) ?? new HardwareDeviceResult("?", false, "unknown", "", 0, 0);
        logger.LogWarning("hardware proof {Challenge} FAILED on {Device}: {Code}: {Reason}. The hub offers this machine no work until a round passes " +
            "(next in about {Next}); `kumo provider prove` rehearses the proof here", result.ChallengeId, failed.DeviceId, failed.Code, failed.Reason, next);
    }

    private static string About(TimeSpan t) => t.TotalSeconds < 90 ? $"{t.TotalSeconds:0} s"
        : t.TotalMinutes < 90 ? $"{t.TotalMinutes:0} min"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{t.TotalHours:0.#} h");

    /// <summary>Opens the rows and products the hub asked for.</summary>
    public void Open(HardwareReveal reveal)
    {
        if (!_pending.TryRemove((reveal.ChallengeId, reveal.DeviceId), out var pending))
        {
            logger.LogWarning("hub revealed challenge {Challenge} for {Device}, which this agent no longer holds", reveal.ChallengeId, reveal.DeviceId);
            return;
        }

        try
        {
            channel.SendSigned(ChannelMessageTypes.HardwareOpen, HardwareProofMessageTypes.Open, pending.Prover.Open(reveal));
        }
        catch (ArgumentException e)
        {
            logger.LogWarning("cannot open hardware challenge {Challenge}: {Error}", reveal.ChallengeId, e.Message);
        }
    }

    private void Forget()
    {
        long cutoff = time.GetUtcNow().ToUnixTimeMilliseconds() - (long)KeepFor.TotalMilliseconds;
        foreach (var (key, value) in _pending)
        {
            if (value.At < cutoff)
            {
                _pending.TryRemove(key, out _);
            }
        }
    }
}
