using System.Diagnostics;
using System.Security.Cryptography;
using Kumo.Hardware;
using Kumo.Protocol;
using Kumo.Verification.Hardware;

namespace Kumo.Provider.Verification;

/// <summary>
/// One device's rehearsed proof: what the hub would ask, how long this machine took, the hub's verdict, and how long
/// the hub's O(n²) check of the opening took here (<paramref name="CheckMs"/>, 0 when there was nothing to check).
/// </summary>
public sealed record LocalProofResult(DeviceClaim Claim, string Engine, long DeadlineMs, ProofOutcome Outcome, long CheckMs);

/// <summary>
/// The hub's hardware proof, played on this machine before joining (<c>kumo provider prove</c>): the hub's own
/// <see cref="HardwareProofSession"/> sizes and times each device, <see cref="ProofDevices"/> computes them all from
/// the same instant as the agent would, and the session checks the commitment and opening exactly as the hub does.
/// The only difference is the network: add the round trip to the hub (the policy allows 500 ms for it).
/// </summary>
public static class LocalProof
{
    /// <summary>A device this machine could not compute at all (no engine, out of memory, a CUDA error).</summary>
    public const string NotComputed = "not_computed";

    public static async Task<IReadOnlyList<LocalProofResult>> RunAsync(HardwareInventory inventory, ProofDevices devices,
        HardwareProofPolicy? policy = null, Action<string>? progress = null)
    {
        string challengeId = "local-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var sessions = DeviceClaim.FromInventory(inventory)
            .Select(claim => new HardwareProofSession(challengeId, claim, BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), 0, policy))
            .ToList();
        var committed = new Dictionary<string, (HardwareProver Prover, long AtMs)>(StringComparer.Ordinal);
        var failed = new Dictionary<string, string>(StringComparer.Ordinal);
        var gate = new object();
        progress?.Invoke($"computing {string.Join(", ", sessions.Select(s => $"{s.Claim.Model} n = {s.N}"))}…");
        var clock = Stopwatch.StartNew();
        await devices.ComputeAllAsync(inventory, challengeId, [.. sessions.Select(s => s.Challenge)],
            (device, prover) =>
            {
                long at = clock.ElapsedMilliseconds;
                lock (gate)
                {
                    committed[device.DeviceId] = (prover, at);
                }
            },
            (device, reason) =>
            {
                lock (gate)
                {
                    failed[device.DeviceId] = reason;
                }
            });

        var results = new List<LocalProofResult>(sessions.Count);
        foreach (HardwareProofSession session in sessions)
        {
            string engine = Engine(inventory, devices, session.Claim);
            ProofOutcome outcome;
            long checkMs = 0;
            if (committed.TryGetValue(session.Claim.DeviceId, out var done))
            {
                progress?.Invoke($"checking {session.Claim.Model} as the hub would (Freivalds, {session.N} rows)…");
                HardwareReveal? reveal = session.Commit(done.Prover.Commitment, done.AtMs,
                    BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), session.DrawRows(RandomNumberGenerator.GetInt32));
                if (reveal is null)
                {
                    outcome = session.Outcome!;
                }
                else
                {
                    HardwareOpening opening = done.Prover.Open(reveal);
                    var check = Stopwatch.StartNew();
                    outcome = session.Verify(opening);
                    checkMs = check.ElapsedMilliseconds;
                }
            }
            else
            {
                outcome = session.Fail(NotComputed, failed.GetValueOrDefault(session.Claim.DeviceId, "no commitment was produced"));
            }

            results.Add(new LocalProofResult(session.Claim, engine, (long)session.Deadline.TotalMilliseconds, outcome, checkMs));
        }

        return results;
    }

    private static string Engine(HardwareInventory inventory, ProofDevices devices, DeviceClaim claim)
    {
        if (!claim.IsGpu || claim.Simulated)
        {
            return "cpu engine";
        }

        GpuDevice? gpu = inventory.Gpus.FirstOrDefault(g => g.Uuid == claim.DeviceId);
        return gpu is not null && devices.CanProve(gpu, out _) ? "cuda" : "none";
    }
}
