namespace Kumo.Protocol;

/// <summary>
/// The signed statement types of the hardware proof. Signed, so a provider cannot later deny the commitment it made,
/// and typed, so a commitment signature never verifies as an opening.
/// </summary>
public static class HardwareProofMessageTypes
{
    public const string Commit = "kumo.hw.commit/v1";
    public const string Open = "kumo.hw.open/v1";
}

/// <summary>
/// The hub challenges a provider's devices (<see cref="ChannelMessageTypes.HardwareChallenge"/>): for each device,
/// multiply two n × n matrices derived from <see cref="DeviceChallenge.Seed"/> and commit to the product's rows
/// within <see cref="DeviceChallenge.DeadlineMs"/> of this message. Answered by one signed
/// <see cref="HardwareCommitment"/> per device.
/// </summary>
public sealed record HardwareChallengeRequest(string ChallengeId, IReadOnlyList<DeviceChallenge> Devices);

/// <summary>
/// One device's task. <see cref="Seed"/> is 16 hex digits (a 64-bit Philox key; hex because canonical JSON numbers are
/// doubles). <see cref="DeviceId"/> is the GPU's UUID, or "cpu" for a machine without GPUs.
/// </summary>
public sealed record DeviceChallenge(string DeviceId, string Seed, int N, long DeadlineMs);

/// <summary>
/// Signed by the provider (<see cref="HardwareProofMessageTypes.Commit"/>): the Merkle root (hex) over the rows of
/// C = A·B, sent before it learns which rows and which random vectors the hub will check.
/// </summary>
public sealed record HardwareCommitment(string ChallengeId, string DeviceId, int N, string RowRoot);

/// <summary>
/// The hub's answer to a commitment (<see cref="ChannelMessageTypes.HardwareReveal"/>): the seed of the random
/// vectors r (hex) for the Freivalds check, how many, and which rows of C to open.
/// </summary>
public sealed record HardwareReveal(string ChallengeId, string DeviceId, string VectorSeed, int Rounds, IReadOnlyList<int> Rows);

/// <summary>
/// The hub's verdict on a settled round (<see cref="ChannelMessageTypes.HardwareResult"/>), so the machine's operator
/// learns why it gets no work: passed (and the measured tier), or the first failing device and why, and when the hub
/// asks again. Informational: nothing the agent does depends on it.
/// </summary>
/// <param name="ChallengeId">The round.</param>
/// <param name="Passed">Every device passed.</param>
/// <param name="Tier">The measured performance tier (TFLOP/s × 100 of the slowest device); 0 when failed.</param>
/// <param name="Devices">Each challenged device's outcome.</param>
/// <param name="NextInMs">About when the next round comes (a failure's retry; a pass's next random round).</param>
public sealed record HardwareProofResult(string ChallengeId, bool Passed, int Tier, IReadOnlyList<HardwareDeviceResult> Devices, long NextInMs);

/// <summary>One device's outcome in a <see cref="HardwareProofResult"/>: its code (<c>passed</c>, <c>deadline</c>, …) and how long it took to commit.</summary>
public sealed record HardwareDeviceResult(string DeviceId, bool Passed, string Code, string Reason, int N, long ElapsedMs);

/// <summary>
/// Signed by the provider (<see cref="HardwareProofMessageTypes.Open"/>): C·r for each revealed vector (base64 of
/// little-endian float64, n each), and the revealed rows of C with their Merkle proofs against
/// <see cref="RowRoot"/> (which must be the committed root).
/// </summary>
public sealed record HardwareOpening(
    string ChallengeId,
    string DeviceId,
    string RowRoot,
    IReadOnlyList<string> Products,
    IReadOnlyList<OpenedRow> Rows);

/// <summary>Row <see cref="Index"/> of C (base64 of n little-endian float32) and its audit path (hex hashes, leaf upward).</summary>
public sealed record OpenedRow(int Index, string Data, IReadOnlyList<string> Path);
