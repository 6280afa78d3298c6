using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Kumo.Verification.Learning;

/// <summary>
/// Randomness the provider cannot know when it signs: a beacon value and when it was revealed. The sampler refuses a
/// beacon revealed at or before the transcript's signing time, because a provider that knew the sample could be
/// honest on exactly the sampled segments.
/// </summary>
public sealed record RandomnessBeacon(byte[] Value, DateTimeOffset RevealedAt);

/// <summary>
/// Chooses which segments validators re-execute: segment i is sampled independently with probability
/// <see cref="Q"/>, decided by SHA-256("kumo-pol-sample/1" ‖ beacon ‖ signed root ‖ i as int32 LE) read as a 64-bit
/// uniform. Deterministic given (beacon, root), so anyone can check that the hub sampled honestly.
/// </summary>
public sealed class SegmentSampler
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("kumo-pol-sample/1");

    public SegmentSampler(double q)
    {
        if (!(q >= 0 && q <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(q), q, "a probability");
        }

        Q = q;
    }

    /// <summary>Probability that any one segment is sampled.</summary>
    public double Q { get; }

    /// <summary>The sampled segment indices, ascending. Refuses randomness revealed before the root was signed.</summary>
    public IReadOnlyList<int> Sample(RandomnessBeacon beacon, string signedRootHex, DateTimeOffset signedAt, int segmentCount)
    {
        ArgumentNullException.ThrowIfNull(beacon);
        if (beacon.RevealedAt <= signedAt)
        {
            throw new ArgumentException($"the beacon was revealed at {beacon.RevealedAt:O}, not after the transcript was signed at {signedAt:O}", nameof(beacon));
        }

        byte[] root = Convert.FromHexString(signedRootHex);
        var sampled = new List<int>();
        byte[] buffer = new byte[Domain.Length + beacon.Value.Length + root.Length + 4];
        Domain.CopyTo(buffer, 0);
        beacon.Value.CopyTo(buffer, Domain.Length);
        root.CopyTo(buffer, Domain.Length + beacon.Value.Length);
        Span<byte> hash = stackalloc byte[32];
        for (int i = 0; i < segmentCount; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(buffer.Length - 4), i);
            SHA256.HashData(buffer, hash);
            double u = (BinaryPrimitives.ReadUInt64LittleEndian(hash) >> 11) * (1.0 / (1UL << 53));
            if (u < Q)
            {
                sampled.Add(i);
            }
        }

        return sampled;
    }
}
