using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.Audit;

/// <summary>
/// Replays the ledger from genesis and checks everything: every stored byte is canonical, blocks chain by hash,
/// transaction and state roots match, every signature (including evidence inside transactions) verifies, every
/// transaction is one the rules accept, money is conserved after every block, and the replayed state equals the
/// live one byte for byte. Stops at the first disagreement and names its block and transaction.
/// </summary>
public sealed class Auditor
{
    private readonly ConcurrentDictionary<string, PublicKey> _keys = new(StringComparer.Ordinal);

    /// <summary>Signature checks run on this many threads (the rest of the replay is sequential by nature).</summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    public AuditReport Run(IBlockSource source, IProgress<long>? blocksDone = null)
    {
        var clock = Stopwatch.StartNew();
        Genesis genesis;
        try
        {
            genesis = Genesis.FromJson(Encoding.UTF8.GetString(source.Genesis));
            if (!source.Genesis.AsSpan().SequenceEqual(CanonicalJson.Serialize(genesis, KumoJson.Options)))
            {
                return AuditReport.Fail(0, null, "the stored genesis is not in canonical form (it was edited)", 0, 0, null, clock.Elapsed);
            }
        }
        catch (Exception e) when (e is JsonException or CanonicalJsonException) // a number beyond 2^53 has no canonical form
        {
            return AuditReport.Fail(0, null, $"the genesis is unreadable: {e.Message}", 0, 0, null, clock.Elapsed);
        }

        IReadOnlyList<string> broken = genesis.Validate();
        if (broken.Count > 0)
        {
            return AuditReport.Fail(0, null, $"the genesis breaks its own rules: {string.Join("; ", broken)}", 0, 0, null, clock.Elapsed);
        }

        var state = new LedgerState(genesis);
        string previous = BlockHeader.Hex(genesis.Hash());
        long height = 0, txCount = 0, previousTime = genesis.Time;
        foreach (StoredBlock block in source.Blocks())
        {
            height++;
            string? failure = CheckBlock(block, height, previous, previousTime, state, out int? failedIndex, out BlockHeader? header);
            if (failure is not null)
            {
                return AuditReport.Fail(height, failedIndex, failure, height - 1, txCount, state.Totals(), clock.Elapsed);
            }

            txCount += block.Transactions.Count;
            previous = BlockHeader.Hex(BlockHeader.HashOf(block.Header));
            previousTime = header!.Time;
            blocksDone?.Report(height);
        }

        if (source.LiveState is { } live)
        {
            IReadOnlyList<string> replayed = state.StateLines();
            int at = Enumerable.Range(0, Math.Max(live.Count, replayed.Count))
                .FirstOrDefault(i => i >= live.Count || i >= replayed.Count || live[i] != replayed[i], -1);
            if (at >= 0)
            {
                string liveLine = at < live.Count ? live[at] : "(nothing)";
                string replayLine = at < replayed.Count ? replayed[at] : "(nothing)";
                return AuditReport.Fail(height, null, $"the live state differs from the replay: live has '{liveLine}', the replay '{replayLine}'", height, txCount, state.Totals(), clock.Elapsed);
            }
        }

        return new AuditReport(true, height, txCount, state.Totals(), null, null, null, clock.Elapsed, BlockHeader.Hex(state.StateRoot())) { HeadHash = previous };
    }

    private string? CheckBlock(StoredBlock block, long height, string previous, long previousTime, LedgerState state, out int? failedIndex, out BlockHeader? header)
    {
        failedIndex = null;
        header = null;
        try
        {
            header = BlockHeader.Parse(block.Header);
        }
        catch (Exception e) when (e is JsonException or CanonicalJsonException)
        {
            return $"block header unreadable: {e.Message}";
        }

        if (header.Height != height)
        {
            return $"block claims height {header.Height}; expected {height}";
        }

        if (header.PreviousHash != previous)
        {
            return "the previous-block hash does not match: a block before it was changed, or blocks were reordered";
        }

        if (header.Time < previousTime)
        {
            return "the block's time is before the previous block's";
        }

        if (header.TxCount != block.Transactions.Count)
        {
            return $"the header counts {header.TxCount} transactions; {block.Transactions.Count} are stored";
        }

        if (BlockHeader.TxRootOf(block.Transactions) != header.TxRoot)
        {
            return "the transactions do not hash to the block's transaction root: a transaction was changed, added or removed";
        }

        var txs = new LedgerTx[block.Transactions.Count];
        for (int i = 0; i < txs.Length; i++)
        {
            try
            {
                txs[i] = LedgerTx.Parse(block.Transactions[i]);
            }
            catch (Exception e) when (e is JsonException or CanonicalJsonException)
            {
                failedIndex = i;
                return $"transaction unreadable: {e.Message}";
            }
        }

        int? badSignature = VerifySignatures(txs, out string? signatureError);
        if (badSignature is not null)
        {
            failedIndex = badSignature;
            return $"signature check failed: {signatureError}";
        }

        for (int i = 0; i < txs.Length; i++)
        {
            if (txs[i].AppliedAt > header.Time)
            {
                failedIndex = i;
                return "the transaction was applied after its block was sealed";
            }

            ApplyResult result = state.Apply(txs[i]);
            if (!result.Applied)
            {
                failedIndex = i;
                return $"the rules refuse this {txs[i].Kind}: {result.Error}";
            }
        }

        LedgerTotals totals = state.Totals();
        if (!totals.Conserved)
        {
            return $"money is not conserved after the block: minted {totals.Minted} ≠ the sum of all accounts";
        }

        return BlockHeader.Hex(state.StateRoot()) != header.StateRoot
            ? "the state after the block does not match the block's state root"
            : null;
    }

    /// <summary>Checks every signature of the block's transactions in parallel; returns the first bad transaction's index.</summary>
    private int? VerifySignatures(LedgerTx[] txs, out string? error)
    {
        var work = new List<(int Index, SignedEnvelope Envelope)>();
        for (int i = 0; i < txs.Length; i++)
        {
            foreach (SignedEnvelope envelope in txs[i].RequiredSignatures())
            {
                work.Add((i, envelope));
            }
        }

        var failures = new ConcurrentBag<(int Index, string Error)>();
        Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = Parallelism }, item =>
        {
            string? why;
            if (!_keys.TryGetValue(item.Envelope.PublicKey, out PublicKey? key))
            {
                if (!PublicKey.TryParse(item.Envelope.PublicKey, out key, out string parseError))
                {
                    failures.Add((item.Index, parseError));
                    return;
                }

                _keys.TryAdd(item.Envelope.PublicKey, key);
            }

            if (!item.Envelope.TryVerify(key, out why))
            {
                failures.Add((item.Index, $"{item.Envelope.Type} by {item.Envelope.Signer}: {why}"));
            }
        });

        if (failures.IsEmpty)
        {
            error = null;
            return null;
        }

        (int index, string message) = failures.MinBy(f => f.Index);
        error = message;
        return index;
    }
}

/// <summary>What an audit found.</summary>
public sealed record AuditReport(
    bool Ok,
    long Blocks,
    long Transactions,
    LedgerTotals? Totals,
    string? Failure,
    long? FailedBlock,
    int? FailedTransaction,
    TimeSpan Elapsed,
    string? StateRoot)
{
    /// <summary>
    /// Hash of the last block. The replay proves the history internally consistent and every signature genuine; it
    /// cannot prove the hub did not rewrite its own protocol transactions consistently (or the last header, which no
    /// later block covers) before you first saw this hash. Compare it with one recorded earlier (<c>kumo ledger summary</c>).
    /// </summary>
    public string? HeadHash { get; init; }

    public static AuditReport Fail(long block, int? tx, string failure, long blocksOk, long txsOk, LedgerTotals? totals, TimeSpan elapsed) =>
        new(false, blocksOk, txsOk, totals, failure, block, tx, elapsed, null);

    public override string ToString() => Ok
        ? $"ok: {Blocks} blocks, {Transactions} transactions replayed in {Elapsed.TotalSeconds:0.00} s"
        : $"FAILED at block {FailedBlock}{(FailedTransaction is { } t ? $", transaction {t}" : "")}: {Failure}";
}
