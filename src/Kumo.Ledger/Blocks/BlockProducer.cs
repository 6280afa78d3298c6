using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Serialization;

namespace Kumo.Ledger.Blocks;

/// <summary>
/// Sequences transactions into blocks: applies each to the state as it arrives (so balances are current), keeps
/// the applied ones as the pending block, and seals them with their roots. Not thread-safe: one sequencer owns it.
/// </summary>
public sealed class BlockProducer
{
    private readonly List<byte[]> _pending = [];

    public BlockProducer(LedgerState state, long height, string previousHash, long previousTime)
    {
        State = state;
        Height = height;
        PreviousHash = previousHash;
        PreviousTime = previousTime;
    }

    /// <summary>A producer at genesis.</summary>
    public static BlockProducer Start(Genesis genesis) =>
        new(new LedgerState(genesis), 0, BlockHeader.Hex(genesis.Hash()), genesis.Time);

    public LedgerState State { get; }

    /// <summary>Height of the last sealed block (0 before the first).</summary>
    public long Height { get; private set; }

    public string PreviousHash { get; private set; }

    public long PreviousTime { get; private set; }

    public int PendingCount => _pending.Count;

    /// <summary>Applies a transaction; if the rules accept it, it joins the pending block.</summary>
    public ApplyResult Add(LedgerTx tx, out byte[]? stored)
    {
        // Serialized first: a transaction that cannot be stored (say, a number beyond 2^53 in unchecked input)
        // must not change the state.
        byte[] bytes;
        try
        {
            bytes = tx.CanonicalBytes();
        }
        catch (Kumo.Serialization.CanonicalJsonException e)
        {
            stored = null;
            return ApplyResult.Refused($"the transaction has no canonical form: {e.Message}");
        }

        ApplyResult result = State.Apply(tx);
        stored = result.Applied ? bytes : null;
        if (stored is not null)
        {
            _pending.Add(stored);
        }

        return result;
    }

    /// <summary>Seals the pending transactions into the next block at <paramref name="time"/> (not before the last one applied).</summary>
    public StoredBlock Seal(long time)
    {
        long blockTime = Math.Max(Math.Max(time, State.Time), PreviousTime);
        var header = new BlockHeader(Height + 1, blockTime, PreviousHash, BlockHeader.TxRootOf(_pending), BlockHeader.Hex(State.StateRoot()), _pending.Count);
        byte[] headerBytes = header.CanonicalBytes();
        var block = new StoredBlock(headerBytes, [.. _pending]);
        _pending.Clear();
        Height = header.Height;
        PreviousHash = BlockHeader.Hex(BlockHeader.HashOf(headerBytes));
        PreviousTime = blockTime;
        return block;
    }

    /// <summary>The genesis as stored: its canonical JSON.</summary>
    public static byte[] StoredGenesis(Genesis genesis) => CanonicalJson.Serialize(genesis, KumoJson.Options);
}
