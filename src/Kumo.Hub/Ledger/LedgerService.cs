using System.Diagnostics;
using System.Threading.Channels;
using Kumo.Hub.Storage;
using Kumo.Ledger;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Ledger;

/// <summary>
/// The hub's sequencer. Transactions are applied one at a time, in arrival order, to the live state; every block
/// interval (or at <see cref="HubOptions.MaxBlockTransactions"/>) the applied ones are sealed into a block, and the
/// block — header, transactions, postings, state changes and each transaction's hook — is written in one store
/// transaction. A submitter hears back only after that commit: what it was told is in the ledger is in the ledger,
/// and a crash loses at most the block being written, whose submitters were never told it succeeded.
/// </summary>
public sealed class LedgerService(IHubStore store, HubOptions options, TimeProvider time, ILogger<LedgerService> logger) : BackgroundService
{
    /// <summary>Test-only fault: when set to a block height, the hub kills itself in the middle of writing that block.</summary>
    public const string CrashDuringBlockVariable = "KUMO_FAULT_CRASH_DURING_BLOCK";

    private readonly Channel<Submission> _inbox = Channel.CreateUnbounded<Submission>(new UnboundedChannelOptions { SingleReader = true });
    private readonly object _stateLock = new();
    private readonly long? _crashAt = long.TryParse(Environment.GetEnvironmentVariable(CrashDuringBlockVariable), out long h) ? h : null;
    private BlockProducer _producer = null!;
    private HashSet<string> _committedLines = new(StringComparer.Ordinal);

    public Genesis Genesis { get; private set; } = null!;

    /// <summary>Height of the last committed block.</summary>
    public long Height { get; private set; }

    /// <summary>Hash of the last committed block (the genesis hash before the first).</summary>
    public string HeadHash { get; private set; } = "";

    /// <summary>Loads (or creates) the genesis and rebuilds the state by replaying every committed block.</summary>
    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        byte[]? stored;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            stored = await reader.GetLedgerGenesisAsync();
        }

        if (stored is null)
        {
            Genesis genesis = options.Genesis ?? Genesis.Devnet(time.GetUtcNow().ToUnixTimeMilliseconds()) with { ChainId = "kumo-local" };
            if (genesis.Referee is null)
            {
                // A new network's verification verdicts are this hub's to sign (RefereeService).
                using Kumo.Crypto.AccountKey referee = RefereeService.LoadKey(options.DataDirectory);
                genesis = genesis with { Referee = referee.AccountId.Value };
            }
            stored = BlockProducer.StoredGenesis(genesis);
            await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
            await tx.SetLedgerGenesisAsync(stored);
            await tx.CommitAsync();
        }

        try
        {
            Genesis = Genesis.FromJson(System.Text.Encoding.UTF8.GetString(stored));
            await ReplayAsync(cancellationToken);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new IncompatibleDataException(
                $"the ledger in {options.DataDirectory} cannot be read by this version of Kumo ({e.Message}): it was written by " +
                "another version or edited. Nothing was changed. Start from a new data directory (a devnet: `kumo devnet up --reset`), " +
                $"or check it with `kumo audit --data {options.DataDirectory}`", e);
        }
    }

    /// <summary>
    /// Submits a transaction built at apply time (so it carries the sequencer's clock) and waits until its block is
    /// committed. <paramref name="hook"/> runs inside that block's store transaction (only if the rules accept the
    /// transaction), for changes that must happen exactly when it does. Throws <see cref="LedgerRefusedException"/>.
    /// </summary>
    public async Task<LedgerReceipt> SubmitAsync(Func<long, LedgerTx> build, Func<IHubTransaction, ApplyResult, Task>? hook, CancellationToken cancellationToken)
    {
        var submission = new Submission(build, hook);
        if (!_inbox.Writer.TryWrite(submission))
        {
            throw new InvalidOperationException("the ledger is shutting down");
        }

        return await submission.Completion.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Reads the live state (including transactions applied but not yet sealed).</summary>
    public T Read<T>(Func<LedgerState, T> query)
    {
        lock (_stateLock)
        {
            return query(_producer.State);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Submission>();
        while (await WaitToReadAsync(stoppingToken))
        {
            var window = Stopwatch.StartNew();
            while (batch.Count < options.MaxBlockTransactions)
            {
                if (_inbox.Reader.TryRead(out Submission? next))
                {
                    batch.Add(next);
                    continue;
                }

                TimeSpan left = options.BlockInterval - window.Elapsed;
                if (left <= TimeSpan.Zero || !await WaitForMoreAsync(left, stoppingToken))
                {
                    break;
                }
            }

            await ProduceBlockAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    private async Task ProduceBlockAsync(List<Submission> batch, CancellationToken cancellationToken)
    {
        var applied = new List<(Submission Item, ApplyResult Result, LedgerTxWrite Write)>(batch.Count);
        StoredBlock block;
        List<string> added, removed;
        HashSet<string> lines;
        lock (_stateLock)
        {
            foreach (Submission item in batch)
            {
                long now = Math.Max(time.GetUtcNow().ToUnixTimeMilliseconds(), _producer.State.Time);
                LedgerTx tx;
                try
                {
                    tx = item.Build(now);
                }
                catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException or InvalidOperationException)
                {
                    item.Completion.TrySetException(new LedgerRefusedException($"could not build the transaction: {e.Message}"));
                    continue;
                }

                ApplyResult result = _producer.Add(tx, out byte[]? stored);
                if (!result.Applied)
                {
                    item.Completion.TrySetException(new LedgerRefusedException(result.Error!));
                    continue;
                }

                List<(string Account, long Delta)> netPostings = Net(result.Postings);
                applied.Add((item, result, new LedgerTxWrite(applied.Count, BlockHeader.Hex(LedgerTx.HashOf(stored!)), tx.Kind,
                    tx.Signed?.Signer.Value, stored!, netPostings)));
            }

            if (applied.Count == 0)
            {
                return;
            }

            block = _producer.Seal(time.GetUtcNow().ToUnixTimeMilliseconds());
            lines = new HashSet<string>(_producer.State.StateLines(), StringComparer.Ordinal);
            added = [.. lines.Where(l => !_committedLines.Contains(l))];
            removed = [.. _committedLines.Where(l => !lines.Contains(l))];
        }

        BlockHeader header = BlockHeader.Parse(block.Header);
        var write = new LedgerBlockWrite(header.Height, header.Time, BlockHeader.Hex(BlockHeader.HashOf(block.Header)), block.Header,
            [.. applied.Select(a => a.Write)], added, removed);
        try
        {
            await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
            {
                await tx.InsertLedgerBlockAsync(write);
                if (_crashAt == header.Height)
                {
                    // Written straight to stderr: the logger is asynchronous and would die with the process.
                    Console.Error.WriteLine($"injected fault: killing the hub in the middle of writing block {header.Height}");
                    Console.Error.Flush();
                    Process.GetCurrentProcess().Kill();
                }

                foreach ((Submission item, ApplyResult result, _) in applied)
                {
                    if (item.Hook is not null)
                    {
                        await item.Hook(tx, result);
                    }
                }

                await tx.CommitAsync();
            }

            Height = header.Height;
            HeadHash = write.Hash;
            _committedLines = lines;
            foreach ((Submission item, ApplyResult result, LedgerTxWrite w) in applied)
            {
                item.Completion.TrySetResult(new LedgerReceipt(w.Hash, header.Height, w.Index, w.Kind, result));
            }
        }
        catch (Exception e)
        {
            logger.LogError(e, "block {Height} could not be written; the ledger returns to block {Last}", header.Height, Height);
            foreach ((Submission item, _, _) in applied)
            {
                item.Completion.TrySetException(e is OperationCanceledException ? e : new LedgerRefusedException($"the block could not be recorded: {e.Message}"));
            }

            await ReplayAsync(CancellationToken.None);
        }
    }

    /// <summary>Each account's net change in one transaction (a settlement touches the escrow three times).</summary>
    private static List<(string Account, long Delta)> Net(IReadOnlyList<Posting> postings)
    {
        var net = new List<(string Account, long Delta)>(postings.Count);
        foreach (Posting posting in postings)
        {
            int at = net.FindIndex(n => n.Account == posting.Account.Value);
            if (at < 0)
            {
                net.Add((posting.Account.Value, posting.Delta));
            }
            else
            {
                net[at] = (posting.Account.Value, net[at].Delta + posting.Delta);
            }
        }

        net.RemoveAll(n => n.Delta == 0);
        return net;
    }

    /// <summary>Rebuilds the live state from the committed blocks (at start, and after a failed write).</summary>
    private async Task ReplayAsync(CancellationToken cancellationToken)
    {
        var producer = BlockProducer.Start(Genesis);
        long height = 0;
        string lastHash = producer.PreviousHash;
        long lastTime = producer.PreviousTime;
        IReadOnlyList<string> materialized;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            // The next block's state changes are diffed against what the store holds, so whatever it lacks
            // (at first: all of the genesis state) is written with the next block.
            materialized = await reader.ListLedgerStateLinesAsync();
            while (true)
            {
                var page = await reader.ListLedgerBlocksAsync(height, 200);
                if (page.Count == 0)
                {
                    break;
                }

                foreach ((LedgerBlockRow row, IReadOnlyList<byte[]> txs) in page)
                {
                    foreach (byte[] bytes in txs)
                    {
                        ApplyResult result = producer.State.Apply(LedgerTx.Parse(bytes));
                        if (!result.Applied)
                        {
                            throw new InvalidOperationException($"the stored ledger does not replay at block {row.Height}: {result.Error}; run `kumo audit --data {options.DataDirectory}`");
                        }
                    }

                    height = row.Height;
                    lastHash = row.Hash;
                    lastTime = row.Time;
                }
            }
        }

        lock (_stateLock)
        {
            _producer = new BlockProducer(producer.State, height, lastHash, lastTime);
            _committedLines = new HashSet<string>(materialized, StringComparer.Ordinal);
            Height = height;
            HeadHash = lastHash;
        }

        logger.LogInformation("ledger {Chain} at block {Height}", Genesis.ChainId, height);
    }

    private async Task<bool> WaitToReadAsync(CancellationToken stoppingToken)
    {
        try
        {
            return await _inbox.Reader.WaitToReadAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<bool> WaitForMoreAsync(TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        cts.CancelAfter(timeout);
        try
        {
            return await _inbox.Reader.WaitToReadAsync(cts.Token);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private sealed record Submission(Func<long, LedgerTx> Build, Func<IHubTransaction, ApplyResult, Task>? Hook)
    {
        public TaskCompletionSource<LedgerReceipt> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>Where a transaction landed.</summary>
public sealed record LedgerReceipt(string Hash, long Height, int Index, string Kind, ApplyResult Result);

/// <summary>The ledger's rules refused a transaction; the message says why.</summary>
public sealed class LedgerRefusedException(string message) : Exception(message);
