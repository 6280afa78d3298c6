using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Merkle;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Training;

namespace Kumo.Verification.Learning;

/// <summary>
/// A provider's proof-of-learning transcript: its checkpoint commitments in step order and the RFC 6962 Merkle root
/// over them. The provider signs that root (<see cref="Sign"/>) before any segment is chosen, so it cannot pick which
/// checkpoints to be honest about after learning which ones will be checked; any checkpoint can later be revealed with
/// a proof that its commitment is a leaf of the signed root.
/// <para>Leaf i is "kumo-pol-checkpoint/1" ‖ step (int32 LE) ‖ the 32-byte state root; segment i runs from the
/// previous checkpoint (step 0, the seeded initial state, for i = 0) to checkpoint i.</para>
/// </summary>
public sealed class TrainingTranscript
{
    /// <summary>The signed-envelope type of <see cref="TranscriptStatement"/>.</summary>
    public const string StatementType = "kumo.pol.transcript/v1";

    private static readonly byte[] LeafDomain = Encoding.ASCII.GetBytes("kumo-pol-checkpoint/1");
    private readonly MerkleTree _tree;

    public TrainingTranscript(IReadOnlyList<CheckpointCommitment> commitments)
    {
        ArgumentNullException.ThrowIfNull(commitments);
        if (commitments.Count == 0)
        {
            throw new ArgumentException("a transcript needs at least one checkpoint", nameof(commitments));
        }

        for (int i = 0; i < commitments.Count; i++)
        {
            if (commitments[i].Step <= (i == 0 ? 0 : commitments[i - 1].Step))
            {
                throw new ArgumentException($"checkpoint {i} (step {commitments[i].Step}) is not after the one before it", nameof(commitments));
            }

            if (commitments[i].RootHex.Length != 64 || !commitments[i].RootHex.All(char.IsAsciiHexDigitLower))
            {
                throw new ArgumentException($"checkpoint {i} root is not 64 lowercase hex digits", nameof(commitments));
            }
        }

        Commitments = [.. commitments];
        _tree = new MerkleTree([.. Commitments.Select(c => MerkleTree.HashLeaf(LeafBytes(c)))]);
        RootHex = Convert.ToHexStringLower(_tree.Root);
    }

    public IReadOnlyList<CheckpointCommitment> Commitments { get; }

    /// <summary>The Merkle root over the commitments: what the provider signs.</summary>
    public string RootHex { get; }

    /// <summary>How many segments there are (one per checkpoint).</summary>
    public int SegmentCount => Commitments.Count;

    /// <summary>The leaf bytes of one commitment.</summary>
    public static byte[] LeafBytes(CheckpointCommitment commitment)
    {
        byte[] bytes = new byte[LeafDomain.Length + 4 + 32];
        LeafDomain.CopyTo(bytes, 0);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(LeafDomain.Length), commitment.Step);
        Convert.FromHexString(commitment.RootHex).CopyTo(bytes, LeafDomain.Length + 4);
        return bytes;
    }

    /// <summary>Segment <paramref name="index"/>: from the previous checkpoint's step (0 for the first) to checkpoint index.</summary>
    public TrainingSegment Segment(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(index, Commitments.Count);
        return new TrainingSegment(index, index == 0 ? 0 : Commitments[index - 1].Step, Commitments[index].Step);
    }

    /// <summary>The proof that checkpoint <paramref name="index"/> is in <see cref="RootHex"/>.</summary>
    public MerkleProof Prove(int index) => _tree.GetProof(index);

    /// <summary>What the provider hands a validator or referee on demand: checkpoint index's full state with its proof.</summary>
    public RevealedCheckpoint Reveal(int index, TrainingState state) => new(Commitments[index], Prove(index), state);

    /// <summary>Signs the root: the statement that fixes every checkpoint before any is sampled.</summary>
    public SignedEnvelope Sign(AccountKey provider, string jobId, long nonce, DateTimeOffset at) =>
        SignedEnvelope.Create(provider, StatementType, new TranscriptStatement(jobId, RootHex, Commitments.Count), nonce, at);

    /// <summary>Whether this list of commitments is the one the statement signed (same root, same count).</summary>
    public bool Matches(TranscriptStatement statement) =>
        statement.RootHex == RootHex && statement.Checkpoints == Commitments.Count;
}

/// <summary>The payload a provider signs: which job, the transcript's root, and how many checkpoints it has.</summary>
public sealed record TranscriptStatement(string JobId, string RootHex, int Checkpoints)
{
    /// <summary>
    /// Opens a signed transcript statement: right type, valid signature, signed by <paramref name="provider"/>, a
    /// 64-hex root. Anything else is refused with the reason.
    /// </summary>
    public static bool TryOpen(SignedEnvelope envelope, AccountId provider, [NotNullWhen(true)] out TranscriptStatement? statement,
        [NotNullWhen(false)] out string? error)
    {
        statement = null;
        if (envelope.Type != TrainingTranscript.StatementType)
        {
            error = $"not a transcript statement: {envelope.Type}";
            return false;
        }

        if (envelope.Signer != provider)
        {
            error = $"signed by {envelope.Signer}, not the provider {provider}";
            return false;
        }

        if (!envelope.TryVerify(out error))
        {
            return false;
        }

        statement = envelope.Payload.Deserialize<TranscriptStatement>(KumoJson.Options);
        if (statement is null || statement.RootHex is not { Length: 64 } || statement.Checkpoints < 1)
        {
            statement = null;
            error = "transcript statement payload is malformed";
            return false;
        }

        return true;
    }
}

/// <summary>Steps (FromStep, ToStep] of a run, between two checkpoints; segment <paramref name="Index"/> of its transcript.</summary>
public sealed record TrainingSegment(int Index, int FromStep, int ToStep)
{
    public int Steps => ToStep - FromStep;
}

/// <summary>
/// A checkpoint the provider revealed: its commitment, the proof that the commitment is a leaf of the signed root,
/// and the full state (weights and optimizer state) that must hash to the commitment.
/// </summary>
public sealed record RevealedCheckpoint(CheckpointCommitment Commitment, MerkleProof Proof, TrainingState State)
{
    /// <summary>
    /// Checks everything a verifier relies on: the proof puts this commitment at the leaf it claims under
    /// <paramref name="signedRootHex"/>, the state is for the committed step, and the state hashes to the committed root.
    /// </summary>
    public bool TryVerify(string signedRootHex, [NotNullWhen(false)] out string? error)
    {
        if (!MerkleTree.Verify(MerkleTree.HashLeaf(TrainingTranscript.LeafBytes(Commitment)), Proof, Convert.FromHexString(signedRootHex)))
        {
            error = $"the proof does not put checkpoint step {Commitment.Step} at leaf {Proof.Index} of the signed root";
            return false;
        }

        if (State.Step != Commitment.Step)
        {
            error = $"the revealed state is after step {State.Step}, the commitment is for step {Commitment.Step}";
            return false;
        }

        if (State.RootHex() != Commitment.RootHex)
        {
            error = $"the revealed state does not hash to the committed root at step {Commitment.Step}";
            return false;
        }

        error = null;
        return true;
    }
}
