using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Kumo.Crypto;

namespace Kumo.Verification.Learning;

/// <summary>
/// Picks the validator for a sampled segment: uniformly among bonded validators, never the provider, never one that
/// already failed this segment. Driven by public randomness so anyone can check the pick: index =
/// SHA-256("kumo-pol-validator/1" ‖ seed ‖ segment ‖ attempt) mod (eligible count), eligible sorted by account id.
/// </summary>
public static class ValidatorSelection
{
    private static readonly byte[] Domain = Encoding.ASCII.GetBytes("kumo-pol-validator/1");

    public static AccountId Choose(IReadOnlyCollection<AccountId> bonded, AccountId provider, ReadOnlySpan<byte> seed, int segment, int attempt,
        IReadOnlyCollection<AccountId> excluded)
    {
        AccountId[] eligible = [.. bonded.Distinct().Where(v => v != provider && !excluded.Contains(v)).Order()];
        if (eligible.Length == 0)
        {
            throw new InvalidOperationException($"no bonded validator left for segment {segment} (provider and {excluded.Count} excluded)");
        }

        byte[] buffer = new byte[Domain.Length + seed.Length + 8];
        Domain.CopyTo(buffer, 0);
        seed.CopyTo(buffer.AsSpan(Domain.Length));
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Domain.Length + seed.Length), segment);
        BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(Domain.Length + seed.Length + 4), attempt);
        ulong r = BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(buffer));
        return eligible[(int)(r % (ulong)eligible.Length)];
    }
}

/// <summary>
/// A segment handed to a validator with a deadline. A validator that has not answered by the deadline is recorded in
/// <see cref="Missed"/> (the hub may penalize its bond) and the segment is reassigned to another, chosen the same way.
/// </summary>
public sealed record SegmentAssignment(int Segment, AccountId Validator, int Attempt, DateTimeOffset Deadline, IReadOnlyList<AccountId> Missed)
{
    /// <summary>The first assignment of a sampled segment.</summary>
    public static SegmentAssignment Assign(IReadOnlyCollection<AccountId> bonded, AccountId provider, ReadOnlySpan<byte> seed, int segment,
        DateTimeOffset now, TimeSpan timeout) =>
        new(segment, ValidatorSelection.Choose(bonded, provider, seed, segment, 0, []), 0, now + timeout, []);

    /// <summary>Whether an answer from <paramref name="validator"/> at <paramref name="at"/> counts (the assigned one, in time).</summary>
    public bool Accepts(AccountId validator, DateTimeOffset at) => validator == Validator && at <= Deadline;

    /// <summary>After the deadline: the next validator, excluding every one that missed. Refused before the deadline.</summary>
    public SegmentAssignment Reassign(IReadOnlyCollection<AccountId> bonded, AccountId provider, ReadOnlySpan<byte> seed, DateTimeOffset now, TimeSpan timeout)
    {
        if (now <= Deadline)
        {
            throw new InvalidOperationException($"segment {Segment}: validator {Validator} still has until {Deadline:O}");
        }

        AccountId[] missed = [.. Missed, Validator];
        return new(Segment, ValidatorSelection.Choose(bonded, provider, seed, Segment, Attempt + 1, missed), Attempt + 1, now + timeout, missed);
    }
}
