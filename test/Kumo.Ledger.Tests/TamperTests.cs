using System.Text;
using System.Text.Json;
using Kumo.Crypto;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Xunit.Abstractions;

namespace Kumo.Ledger.Tests;

/// <summary>
/// A realistic chain, then every kind of after-the-fact edit: single bytes of the genesis (every position, three other
/// values), of every header and of one transaction of each kind (every position, one other value; the signed ones
/// also with the chain re-hashed around the edit), blocks removed or swapped, transactions removed, duplicated,
/// reordered or re-signed, a state root changed under a correctly re-hashed header, a live state one line off.
/// Each must fail the audit, at the block (and where it can say so, the transaction) that was changed; where the
/// audit cannot see an edit, the test says exactly which edits those are. About 10,500 audits, run on all cores.
/// </summary>
public sealed class TamperTests(TamperTests.Chain chain, ITestOutputHelper output) : IClassFixture<TamperTests.Chain>
{
    /// <summary>
    /// Six blocks with every kind of transaction: faucets, a transfer, a bond, an escrow lock and its lease (1); a
    /// settlement, a slash of the lease's provider for two different results, the lease's close and the refund (2);
    /// a second order's lock, top-up, escrow withdrawal and refund, and an unbond (3); the withdrawal of the released
    /// stake, a transfer and a faucet (4); an empty block (5); a last transfer (6), so that every block but the head
    /// is vouched for by the hash in the next. The costly-to-replay kinds sit early, so that thousands of audits stay fast.
    /// </summary>
    public sealed class Chain : IDisposable
    {
        public Chain()
        {
            var h = new LedgerHarness();
            Harness = h;
            const long K = Amounts.MicrosPerKumo;
            Check(h.Faucet(Tenant, 1000));
            Check(h.Faucet(Provider, 1000));
            Check(h.Faucet(Reporter, 100));
            Check(h.Send(Tenant, LedgerMessageTypes.Transfer, new TransferPayload(Other.AccountId.Value, 5 * K)));
            Check(h.Send(Provider, LedgerMessageTypes.Bond, new BondPayload(500 * K)));
            SignedEnvelope submission = h.Submission(Tenant, 10);
            Check(h.Submit(submission));
            string order = OrderIds.FromSubmissionDigest(submission.Digest());
            Check(h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", h.Now, h.Acceptance(Provider, "l-1", order, submission.Digest(), 3_600_000))));
            h.Seal();

            h.Advance(TimeSpan.FromSeconds(10));
            Check(h.Protocol(ProtocolTypes.Settle, new SettleBody("l-1")));
            SignedEnvelope a = h.Sign(Provider, MessageTypes.LeaseResult, new LeaseResult("l-1", CloseReason.Completed, 0, "ok", [], 1, 2));
            SignedEnvelope b = h.Sign(Provider, MessageTypes.LeaseResult, new LeaseResult("l-1", CloseReason.WorkloadFailed, 1, "oom", [], 1, 2));
            Check(h.Send(Reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(Provider.AccountId.Value, LedgerState.SlashKinds.DoubleResult, [a, b])));
            h.Advance(TimeSpan.FromSeconds(5));
            Check(h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", h.Now - 2_000, "completed")));
            Check(h.Protocol(ProtocolTypes.Refund, new RefundBody(order)));
            h.Seal();

            h.Advance(TimeSpan.FromSeconds(1));
            SignedEnvelope second = h.Submission(Tenant, 1, "10m", "second");
            Check(h.Submit(second));
            string secondOrder = OrderIds.FromSubmissionDigest(second.Digest());
            Check(h.Send(Tenant, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(secondOrder, K)));
            Check(h.Send(Tenant, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(secondOrder, K / 2)));
            Check(h.Protocol(ProtocolTypes.Refund, new RefundBody(secondOrder)));
            Check(h.Send(Provider, LedgerMessageTypes.Unbond, new UnbondPayload(100 * K)));
            h.Seal();

            h.Advance(TimeSpan.FromSeconds(40));
            Check(h.Send(Provider, LedgerMessageTypes.Withdraw, new WithdrawPayload()));
            Check(h.Send(Other, LedgerMessageTypes.Transfer, new TransferPayload(Tenant.AccountId.Value, K)));
            Check(h.Faucet(Other, 1));
            h.Seal();

            h.Advance(TimeSpan.FromSeconds(1));
            h.Seal();

            h.Advance(TimeSpan.FromSeconds(1));
            Check(h.Send(Tenant, LedgerMessageTypes.Transfer, new TransferPayload(Reporter.AccountId.Value, K)));
            h.Seal();

            Genesis = h.StoredGenesis;
            Blocks = [.. h.Blocks];
            Live = h.State.StateLines();
        }

        public AccountKey Tenant { get; } = AccountKey.Create();

        public AccountKey Provider { get; } = AccountKey.Create();

        public AccountKey Reporter { get; } = AccountKey.Create();

        public AccountKey Other { get; } = AccountKey.Create();

        public LedgerHarness Harness { get; }

        public byte[] Genesis { get; }

        public IReadOnlyList<StoredBlock> Blocks { get; }

        public IReadOnlyList<string> Live { get; }

        /// <summary>Where the first transaction of a kind ("transfer", "lease_open", …) is: block height and index.</summary>
        public (int Height, int Index) Find(string kind)
        {
            for (int b = 0; b < Blocks.Count; b++)
            {
                for (int i = 0; i < Blocks[b].Transactions.Count; i++)
                {
                    if (LedgerTx.Parse(Blocks[b].Transactions[i]).Kind == kind)
                    {
                        return (b + 1, i);
                    }
                }
            }

            throw new InvalidOperationException($"no {kind} in the chain");
        }

        public void Dispose()
        {
            Tenant.Dispose();
            Provider.Dispose();
            Reporter.Dispose();
            Other.Dispose();
        }

        private static void Check(ApplyResult result) => Assert.True(result.Applied, result.Error);
    }

    // ---- helpers -------------------------------------------------------------------------------------------

    /// <summary>One signature thread per audit: the tests run many audits side by side instead.</summary>
    private static readonly Auditor SharedAuditor = new() { Parallelism = 1 };

    private static AuditReport Audit(byte[] genesis, IReadOnlyList<StoredBlock> blocks, IReadOnlyList<string>? live = null) =>
        SharedAuditor.Run(new LedgerHarness.Source(genesis, blocks, live));

    private AuditReport Audit(IReadOnlyList<StoredBlock> blocks) => Audit(chain.Genesis, blocks);

    /// <summary>Runs <paramref name="check"/> for every item on all cores; counts what it returns.</summary>
    private static Dictionary<string, int> ForEach<T>(IEnumerable<T> items, Func<T, string> check)
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        Parallel.ForEach(items, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, item =>
            counts.AddOrUpdate(check(item), 1, (_, n) => n + 1));
        return new Dictionary<string, int>(counts, StringComparer.Ordinal);
    }

    private void Report(string title, Dictionary<string, int> counts)
    {
        output.WriteLine(title);
        foreach ((string outcome, int n) in counts.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{n,7}  {outcome}");
        }
    }

    private static byte[] With(byte[] bytes, int position, byte value)
    {
        byte[] copy = [.. bytes];
        copy[position] = value;
        return copy;
    }

    /// <summary>Each position changed to <paramref name="values"/> different values: first the low bit flipped, then random other bytes.</summary>
    private static IEnumerable<(int Position, byte Value)> SingleByteChanges(byte[] bytes, int seed, int values)
    {
        var random = new Random(seed);
        var changes = new List<(int, byte)>();
        for (int p = 0; p < bytes.Length; p++)
        {
            var taken = new HashSet<byte> { bytes[p], (byte)(bytes[p] ^ 0x01) };
            changes.Add((p, (byte)(bytes[p] ^ 0x01)));
            for (int v = 1; v < values; v++)
            {
                byte other;
                do
                {
                    other = (byte)random.Next(256);
                }
                while (!taken.Add(other));

                changes.Add((p, other));
            }
        }

        return changes;
    }

    private static string Show(byte b) => b is >= 0x20 and < 0x7f ? $"'{(char)b}'" : $"0x{b:x2}";

    private static List<StoredBlock> Replace(IReadOnlyList<StoredBlock> blocks, int height, StoredBlock block)
    {
        List<StoredBlock> copy = [.. blocks];
        copy[height - 1] = block;
        return copy;
    }

    /// <summary>
    /// What a forger with the hub's database but no one's keys would do: rewrite a block's transactions, give its header
    /// the matching count and root (and any other edit), and re-link every later header to the new hashes.
    /// </summary>
    private List<StoredBlock> Reseal(IReadOnlyList<StoredBlock> blocks, int height, IReadOnlyList<byte[]> transactions, Func<BlockHeader, BlockHeader>? edit = null)
    {
        List<StoredBlock> copy = [.. blocks];
        BlockHeader header = BlockHeader.Parse(copy[height - 1].Header) with { TxCount = transactions.Count, TxRoot = BlockHeader.TxRootOf(transactions) };
        header = edit?.Invoke(header) ?? header;
        copy[height - 1] = new StoredBlock(header.CanonicalBytes(), transactions);
        return Relink(copy, height + 1);
    }

    private List<StoredBlock> Relink(List<StoredBlock> blocks, int from)
    {
        string previous = from == 1 ? BlockHeader.Hex(chain.Harness.Genesis.Hash()) : BlockHeader.Hex(BlockHeader.HashOf(blocks[from - 2].Header));
        for (int i = from - 1; i < blocks.Count; i++)
        {
            byte[] bytes = (BlockHeader.Parse(blocks[i].Header) with { Height = i + 1, PreviousHash = previous }).CanonicalBytes();
            blocks[i] = blocks[i] with { Header = bytes };
            previous = BlockHeader.Hex(BlockHeader.HashOf(bytes));
        }

        return blocks;
    }

    private static void AssertFails(AuditReport report, long block, int? transaction, string failure, string what)
    {
        Assert.False(report.Ok, $"{what}: the audit passed");
        Assert.True(report.FailedBlock == block, $"{what}: failed at block {report.FailedBlock}, not {block}: {report}");
        Assert.True(report.FailedTransaction == transaction, $"{what}: named transaction {report.FailedTransaction?.ToString() ?? "none"}, not {transaction?.ToString() ?? "none"}: {report}");
        Assert.True(report.Failure!.Contains(failure, StringComparison.Ordinal), $"{what}: '{report.Failure}' does not say '{failure}'");
    }

    private static string Outcome(AuditReport report) => report.Ok ? "passed" : $"block {report.FailedBlock}: {report.Failure!.Split(':')[0]}";

    // ---- the chain -----------------------------------------------------------------------------------------

    [Fact]
    public void The_untouched_chain_has_every_kind_of_transaction_audits_clean_and_equals_the_live_state()
    {
        AuditReport report = Audit(chain.Genesis, chain.Blocks, chain.Live);

        Assert.True(report.Ok, report.ToString());
        Assert.Equal(6, report.Blocks);
        foreach (string kind in new[] { "faucet", "transfer", "bond", "escrow_lock", "lease_open", "refund", "settle", "escrow_topup", "escrow_withdraw", "unbond", "slash_report", "lease_close", "withdraw" })
        {
            chain.Find(kind); // throws if the chain lacks one
        }
    }

    // ---- single bytes --------------------------------------------------------------------------------------

    /// <summary>
    /// Every byte of the stored genesis, each to three other values. An edit that still reads as canonical, valid rules
    /// is another genesis, whose hash is not the one block 1 names: block 1 fails. Anything else fails at block 0.
    /// </summary>
    [Fact]
    public void Every_single_byte_change_of_the_genesis_fails_at_block_0_or_at_block_1_if_it_still_reads_as_a_genesis()
    {
        Dictionary<string, int> counts = ForEach(SingleByteChanges(chain.Genesis, seed: 1, values: 3), change =>
        {
            (int position, byte value) = change;
            byte[] tampered = With(chain.Genesis, position, value);
            string what = $"genesis byte {position} ({Show(chain.Genesis[position])} → {Show(value)})";

            AuditReport report = Audit(tampered, chain.Blocks);

            if (ReadsAsValidGenesis(tampered))
            {
                AssertFails(report, 1, null, "the previous-block hash does not match", what);
            }
            else
            {
                AssertFails(report, 0, null, "genesis", what);
            }

            return Outcome(report);
        });

        Report($"genesis: {chain.Genesis.Length} positions × 3 values", counts);
        Assert.Contains(counts.Keys, k => k.StartsWith("block 1:", StringComparison.Ordinal));
    }

    private static bool ReadsAsValidGenesis(byte[] bytes)
    {
        try
        {
            Genesis genesis = Genesis.FromJson(Encoding.UTF8.GetString(bytes));
            return bytes.AsSpan().SequenceEqual(CanonicalJson.Serialize(genesis, KumoJson.Options)) && genesis.Validate().Count == 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    [Theory]
    [InlineData("\"halvingEveryMs\":31536000000", "\"halvingEveryMs\":-1536000000", 0, "the genesis breaks its own rules: rewards: rewardBps 0..10000, halvingEveryMs > 0")]
    [InlineData("\"slashBountyBps\":5000", "\"slashBountyBps\":50000", 0, "the genesis breaks its own rules: slashBps, slashBountyBps, faultSlashBps, validationRewardBps and maxReplicationFeeBps must be 0..10000")]
    [InlineData("\"networkFeeBps\":200", "\"networkFeeBps\":-00", 0, "the genesis is unreadable")]
    [InlineData("\"networkFeeBps\":200", "\"networkFeeBps\":201", 1, "the previous-block hash does not match")]
    [InlineData("\"chainId\":\"kumo-devnet\"", "\"chainId\":\"kumo-devnex\"", 1, "the previous-block hash does not match")]
    public void A_genesis_edited_into_other_or_broken_rules_fails_the_audit_with_a_reason(string from, string to, long block, string reason)
    {
        string text = Encoding.UTF8.GetString(chain.Genesis);
        Assert.Contains(from, text, StringComparison.Ordinal);
        byte[] tampered = Encoding.UTF8.GetBytes(text.Replace(from, to, StringComparison.Ordinal));

        AssertFails(Audit(tampered, chain.Blocks), block, null, reason, to);
    }

    /// <summary>
    /// Every byte of every header, each to another value (its low bit flipped, so digits stay digits and more edits still parse). What the audit must say follows from what the edit did:
    /// unreadable or non-canonical, or another height, previous hash, count, transaction root or state root fail at
    /// the block itself. Another time fails there if it is before the previous block or before its own transactions;
    /// a later time is consistent with the block, so the next block — whose previous hash no longer matches — fails.
    /// The head has no next block: a later head time is the one edit an audit of the blocks alone cannot see (whoever
    /// keeps the head hash can); the test checks such edits are exactly that.
    /// </summary>
    [Fact]
    public void Every_single_byte_change_of_a_header_fails_at_that_block_or_at_the_next_one_that_names_its_hash()
    {
        IEnumerable<(int Height, int Position, byte Value)> changes = chain.Blocks.SelectMany((block, i) =>
            SingleByteChanges(block.Header, seed: i, values: 1).Select(c => (i + 1, c.Position, c.Value)));

        Dictionary<string, int> counts = ForEach(changes, change =>
        {
            (int height, int position, byte value) = change;
            StoredBlock block = chain.Blocks[height - 1];
            byte[] tampered = With(block.Header, position, value);
            string what = $"header {height} byte {position} ({Show(block.Header[position])} → {Show(value)})";

            AuditReport report = Audit(Replace(chain.Blocks, height, block with { Header = tampered }));

            BlockHeader? edited = TryParseHeader(tampered);
            if (edited is null)
            {
                AssertFails(report, height, null, "block header unreadable", what);
                return Outcome(report);
            }

            BlockHeader original = BlockHeader.Parse(block.Header);
            long previousTime = height == 1 ? chain.Harness.Genesis.Time : BlockHeader.Parse(chain.Blocks[height - 2].Header).Time;
            List<long> applied = [.. block.Transactions.Select(t => LedgerTx.Parse(t).AppliedAt)];
            string changed = ChangedField(original, edited, what);
            if (changed == "time" && edited.Time >= previousTime && applied.All(t => t <= edited.Time))
            {
                if (height == chain.Blocks.Count)
                {
                    Assert.True(report.Ok && edited.Time > original.Time, $"{what}: {report}");
                    return "passed: the head's time moved later";
                }

                AssertFails(report, height + 1, null, "the previous-block hash does not match", what);
                return Outcome(report);
            }

            (string failure, int? transaction) = changed switch
            {
                "height" => ("block claims height", (int?)null),
                "previousHash" => ("the previous-block hash does not match", null),
                "time" when edited.Time < previousTime => ("the block's time is before the previous block's", null),
                "time" => ("the transaction was applied after its block was sealed", applied.FindIndex(t => t > edited.Time)),
                "txCount" => ("are stored", null),
                "txRoot" => ("the transactions do not hash to the block's transaction root", null),
                _ => ("the state after the block does not match the block's state root", null),
            };
            AssertFails(report, height, transaction, failure, what);
            return Outcome(report);
        });

        Report($"headers: {chain.Blocks.Sum(b => b.Header.Length)} positions × 1 value", counts);
        Assert.Contains(counts.Keys, k => k.StartsWith($"block {chain.Blocks.Count}:", StringComparison.Ordinal));
        Assert.True(counts.GetValueOrDefault("passed: the head's time moved later") < 30, "only a few digits of the head's time can move it later");
    }

    private static BlockHeader? TryParseHeader(byte[] bytes)
    {
        try
        {
            return BlockHeader.Parse(bytes);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string ChangedField(BlockHeader a, BlockHeader b, string what)
    {
        List<string> changed = [];
        if (a.Height != b.Height) changed.Add("height");
        if (a.Time != b.Time) changed.Add("time");
        if (a.PreviousHash != b.PreviousHash) changed.Add("previousHash");
        if (a.TxRoot != b.TxRoot) changed.Add("txRoot");
        if (a.StateRoot != b.StateRoot) changed.Add("stateRoot");
        if (a.TxCount != b.TxCount) changed.Add("txCount");
        Assert.True(changed.Count == 1, $"{what}: one byte changed {changed.Count} fields");
        return changed[0];
    }

    /// <summary>Every byte of a transaction of each kind, each to another value: the block's transaction root no longer matches.</summary>
    [Fact]
    public void Every_single_byte_change_of_a_transaction_fails_at_its_block()
    {
        string[] kinds = ["faucet", "transfer", "bond", "escrow_lock", "lease_open", "settle", "slash_report", "lease_close", "refund", "escrow_withdraw"];
        IEnumerable<(string Kind, int Height, int Index, int Position, byte Value)> changes = kinds.SelectMany(kind =>
        {
            (int height, int index) = chain.Find(kind);
            return SingleByteChanges(chain.Blocks[height - 1].Transactions[index], seed: height * 100 + index, values: 1)
                .Select(c => (kind, height, index, c.Position, c.Value));
        });

        Dictionary<string, int> counts = ForEach(changes, change =>
        {
            (string kind, int height, int index, int position, byte value) = change;
            StoredBlock block = chain.Blocks[height - 1];
            List<byte[]> transactions = [.. block.Transactions];
            transactions[index] = With(transactions[index], position, value);

            AuditReport report = Audit(Replace(chain.Blocks, height, block with { Transactions = transactions }));

            AssertFails(report, height, null, "the transactions do not hash to the block's transaction root", $"{kind} byte {position}");
            return kind;
        });

        Report("transactions, every position × 1 value, all failed at their block:", counts);
    }

    /// <summary>
    /// The same edits by a forger who also re-hashes: the block gets the matching transaction root and every later
    /// header the matching previous hash. Now only what the bytes say can give them away. Inside the signed envelope
    /// they always do, at that transaction: it no longer reads canonically, or a signature fails. Outside it is the
    /// hub's own word (when it applied the statement): an edit there fails unless it only moved the time within what
    /// the rules allow and the state root does not see — and the test checks that is all such an edit did.
    /// </summary>
    [Fact]
    public void Every_single_byte_change_of_a_signed_transaction_fails_at_that_transaction_even_with_the_chain_rehashed()
    {
        string[] kinds = ["transfer", "escrow_lock", "slash_report", "escrow_withdraw"];
        IEnumerable<(string Kind, int Height, int Index, int Position, byte Value)> changes = kinds.SelectMany(kind =>
        {
            (int height, int index) = chain.Find(kind);
            return SingleByteChanges(chain.Blocks[height - 1].Transactions[index], seed: 7 + index, values: 1)
                .Select(c => (kind, height, index, c.Position, c.Value));
        });

        Dictionary<string, int> counts = ForEach(changes, change =>
        {
            (string kind, int height, int index, int position, byte value) = change;
            StoredBlock block = chain.Blocks[height - 1];
            byte[] stored = block.Transactions[index];
            int signedFrom = Encoding.UTF8.GetString(stored).IndexOf("\"signed\":", StringComparison.Ordinal);
            List<byte[]> transactions = [.. block.Transactions];
            transactions[index] = With(stored, position, value);
            string what = $"{kind} byte {position} ({Show(stored[position])} → {Show(value)})";

            AuditReport report = Audit(Reseal(chain.Blocks, height, transactions));

            if (report.Ok)
            {
                Assert.True(position < signedFrom, $"{what}: an edit of the signed statement passed the audit");
                LedgerTx original = LedgerTx.Parse(stored), edited = LedgerTx.Parse(transactions[index]);
                Assert.True(edited.ToString() == (original with { AppliedAt = edited.AppliedAt }).ToString(), $"{what}: passed, and changed more than when it was applied");
                return "passed: only the time it was applied moved";
            }

            AssertFails(report, height, index, "", what);
            return $"{(position < signedFrom ? "hub's part" : "signed part")}: {Outcome(report)}";
        });

        Report($"signed transactions, re-hashed chain, every position × 1 value ({string.Join(", ", kinds)}):", counts);
        Assert.DoesNotContain(counts.Keys, k => k.StartsWith("signed part: passed", StringComparison.Ordinal));
    }

    /// <summary>
    /// A number beyond 2^53 − 1 has no canonical JSON. Stored where a single byte cannot put one — a genesis time, a
    /// header time under a re-hashed chain, a transaction's nonce under a re-hashed chain — it must fail the audit
    /// like any other edit, not crash it.
    /// </summary>
    [Fact]
    public void A_number_beyond_2_pow_53_in_stored_bytes_fails_the_audit_instead_of_crashing_it()
    {
        const string Huge = "9007199254740993";
        string genesis = Encoding.UTF8.GetString(chain.Genesis);
        string time = chain.Harness.Genesis.Time.ToString(System.Globalization.CultureInfo.InvariantCulture);
        byte[] hugeGenesis = Encoding.UTF8.GetBytes(genesis.Replace($"\"time\":{time}", $"\"time\":{Huge}", StringComparison.Ordinal));
        Assert.NotEqual(chain.Genesis, hugeGenesis);

        AssertFails(Audit(hugeGenesis, chain.Blocks), 0, null, "genesis", "a genesis time beyond 2^53");

        StoredBlock head = chain.Blocks[^1];
        string header = Encoding.UTF8.GetString(head.Header);
        string headTime = BlockHeader.Parse(head.Header).Time.ToString(System.Globalization.CultureInfo.InvariantCulture);
        List<StoredBlock> hugeHeader = Replace(chain.Blocks, chain.Blocks.Count, head with { Header = Encoding.UTF8.GetBytes(header.Replace($"\"time\":{headTime}", $"\"time\":{Huge}", StringComparison.Ordinal)) });

        AssertFails(Audit(hugeHeader), chain.Blocks.Count, null, "block header unreadable", "a header time beyond 2^53");

        (int height, int index) = chain.Find("transfer");
        List<byte[]> transactions = [.. chain.Blocks[height - 1].Transactions];
        string nonce = LedgerTx.Parse(transactions[index]).Signed!.Nonce.ToString(System.Globalization.CultureInfo.InvariantCulture);
        transactions[index] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(transactions[index]).Replace($"\"nonce\":{nonce}", $"\"nonce\":{Huge}", StringComparison.Ordinal));

        AssertFails(Audit(Reseal(chain.Blocks, height, transactions)), height, index, "transaction unreadable", "a nonce beyond 2^53");
    }

    // ---- whole blocks and transactions ---------------------------------------------------------------------

    [Fact]
    public void Removing_a_block_fails_where_it_was_and_removing_the_head_is_caught_by_the_live_state()
    {
        int count = chain.Blocks.Count;
        for (int height = 1; height < count; height++)
        {
            List<StoredBlock> blocks = [.. chain.Blocks];
            blocks.RemoveAt(height - 1);

            AssertFails(Audit(blocks), height, null, $"block claims height {height + 1}; expected {height}", $"without block {height}");
        }

        AuditReport headless = Audit(chain.Genesis, [.. chain.Blocks.Take(count - 1)], chain.Live);

        AssertFails(headless, count - 1, null, "the live state differs from the replay", "without the head");
    }

    [Fact]
    public void Swapping_two_blocks_fails_at_the_first_of_them()
    {
        for (int height = 1; height < chain.Blocks.Count; height++)
        {
            List<StoredBlock> blocks = [.. chain.Blocks];
            (blocks[height - 1], blocks[height]) = (blocks[height], blocks[height - 1]);

            AssertFails(Audit(blocks), height, null, $"block claims height {height + 1}; expected {height}", $"blocks {height} and {height + 1} swapped");

            // Renumbered and re-linked, the swapped blocks still fail: their state roots do not follow, or — where the
            // first was empty and so leaves the state as it found it — their times run backwards at the second.
            AuditReport relinked = Audit(Relink(blocks, height));
            bool firstWasEmpty = chain.Blocks[height - 1].Transactions.Count == 0;
            Assert.False(relinked.Ok, $"blocks {height} and {height + 1} swapped and re-linked");
            Assert.Equal(firstWasEmpty ? height + 1 : height, relinked.FailedBlock);
            if (firstWasEmpty)
            {
                Assert.Contains("the block's time is before the previous block's", relinked.Failure, StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public void Removing_duplicating_or_reordering_a_transaction_inside_a_block_fails_at_that_block()
    {
        for (int height = 1; height <= chain.Blocks.Count; height++)
        {
            StoredBlock block = chain.Blocks[height - 1];
            for (int index = 0; index < block.Transactions.Count; index++)
            {
                List<byte[]> without = [.. block.Transactions];
                without.RemoveAt(index);
                List<byte[]> doubled = [.. block.Transactions];
                doubled.Insert(index + 1, block.Transactions[index]);
                int stored = block.Transactions.Count;

                AssertFails(Audit(Replace(chain.Blocks, height, block with { Transactions = without })), height, null, $"the header counts {stored} transactions; {stored - 1} are stored", $"block {height} without transaction {index}");
                AssertFails(Audit(Replace(chain.Blocks, height, block with { Transactions = doubled })), height, null, $"the header counts {stored} transactions; {stored + 1} are stored", $"block {height} with transaction {index} twice");

                // Re-hashed: removing a transaction leaves a state the header's root does not describe, or breaks a later
                // one. The state root sees consequences, not statements: a removal whose effect a later transaction of the
                // block makes moot passes — a settlement before the lease's close (running totals pay the same), an escrow
                // withdrawal before the escrow's refund (the tenant gets the same back). Only those may.
                AuditReport resealed = Audit(Reseal(chain.Blocks, height, without));
                string kind = LedgerTx.Parse(block.Transactions[index]).Kind;
                if (resealed.Ok)
                {
                    Assert.True(kind is "settle" or "escrow_withdraw", $"block {height} without its {kind} (transaction {index}), re-hashed, passed");
                    output.WriteLine($"removing the {kind} of block {height} leaves the same state: the audit cannot tell");
                }
                else
                {
                    Assert.Equal(height, resealed.FailedBlock);
                }

                // Re-hashed: a signed statement twice is a replay, named at its second copy.
                if (LedgerTx.Parse(block.Transactions[index]).Signed is not null)
                {
                    AssertFails(Audit(Reseal(chain.Blocks, height, doubled)), height, index + 1, "was already used: a replay", $"block {height} with transaction {index} twice, re-hashed");
                }
            }
        }

        // Re-hashed: a lease opened before its escrow is locked is refused, at the lease.
        (int h, int lockIndex) = chain.Find("escrow_lock");
        (_, int openIndex) = chain.Find("lease_open");
        List<byte[]> reordered = [.. chain.Blocks[h - 1].Transactions];
        (reordered[lockIndex], reordered[openIndex]) = (reordered[openIndex], reordered[lockIndex]);
        AssertFails(Audit(Reseal(chain.Blocks, h, reordered)), h, lockIndex, "has no escrow", "lease opened before its escrow, re-hashed");
    }

    [Fact]
    public void A_transaction_re_signed_with_another_key_fails_at_that_transaction()
    {
        using var mallory = AccountKey.Create();
        (int height, int index) = chain.Find("transfer");
        StoredBlock block = chain.Blocks[height - 1];
        LedgerTx original = LedgerTx.Parse(block.Transactions[index]);
        SignedEnvelope signed = original.Signed!;
        var transfer = signed.PayloadAs<TransferPayload>();
        SignedEnvelope byMallory = SignedEnvelope.Create(mallory, signed.Type, transfer, signed.Nonce, DateTimeOffset.FromUnixTimeMilliseconds(signed.Timestamp));
        SignedEnvelope byReporter = SignedEnvelope.Create(chain.Reporter, signed.Type, transfer, signed.Nonce, DateTimeOffset.FromUnixTimeMilliseconds(signed.Timestamp));

        List<StoredBlock> Resigned(SignedEnvelope envelope)
        {
            List<byte[]> transactions = [.. block.Transactions];
            transactions[index] = (original with { Signed = envelope }).CanonicalBytes();
            return Reseal(chain.Blocks, height, transactions);
        }

        AssertFails(Audit(Resigned(byMallory with { Signer = signed.Signer, PublicKey = signed.PublicKey })), height, index, "signature does not match the message and key", "the signer's key, another's signature");
        AssertFails(Audit(Resigned(byMallory with { Signer = signed.Signer })), height, index, $"public key belongs to {mallory.AccountId}, not to the signer {signed.Signer}", "another's key and signature");
        AssertFails(Audit(Resigned(byMallory)), height, index, "the rules refuse this transfer: insufficient funds", "a valid statement by an account with nothing");
        AssertFails(Audit(Resigned(byReporter)), height, null, "the state after the block does not match the block's state root", "a valid statement by another funded account");
        AssertFails(Audit(Replace(chain.Blocks, height, block with { Transactions = [.. block.Transactions.Select((t, i) => i == index ? (original with { Signed = byReporter }).CanonicalBytes() : t)] })),
            height, null, "the transactions do not hash to the block's transaction root", "re-signed, not re-hashed");
    }

    [Fact]
    public void A_state_root_changed_under_a_correctly_rehashed_header_fails_at_that_block()
    {
        for (int height = 1; height <= chain.Blocks.Count; height++)
        {
            StoredBlock block = chain.Blocks[height - 1];
            string own = BlockHeader.Parse(block.Header).StateRoot;
            string other = chain.Blocks.Select(b => BlockHeader.Parse(b.Header).StateRoot).First(r => r != own); // a real root, of another state
            string flipped = (own[0] == '0' ? "1" : "0") + own[1..];
            foreach (string root in new[] { other, flipped })
            {
                List<StoredBlock> blocks = Reseal(chain.Blocks, height, block.Transactions, header => header with { StateRoot = root });

                AssertFails(Audit(blocks), height, null, "the state after the block does not match the block's state root", $"block {height} with state root {root}");
            }
        }
    }

    [Fact]
    public void A_live_state_one_line_off_the_replay_fails_and_shows_the_line()
    {
        IReadOnlyList<string> live = chain.Live;
        int balance = live.ToList().FindIndex(l => l.StartsWith("b|kumo1", StringComparison.Ordinal));
        string[] parts = live[balance].Split('|');
        string richer = $"{parts[0]}|{parts[1]}|{long.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture) + 1}";
        var variants = new Dictionary<string, (List<string> Live, string Shown)>(StringComparer.Ordinal)
        {
            ["a balance one µKUMO more"] = ([.. live.Select((l, i) => i == balance ? richer : l)], richer),
            ["a line missing"] = ([.. live.Where((_, i) => i != balance)], live[balance + 1]),
            ["a line added"] = ([.. live.Take(balance), "b|kumo1extra|1", .. live.Skip(balance)], "b|kumo1extra|1"),
            ["another time"] = ([.. live.Select(l => l.StartsWith("t|", StringComparison.Ordinal) ? "t|1" : l)], "t|1"),
            ["a line more at the end"] = ([.. live, "z|"], "z|"),
        };

        foreach ((string what, (List<string> variant, string shown)) in variants)
        {
            AuditReport report = Audit(chain.Genesis, chain.Blocks, variant);

            AssertFails(report, chain.Blocks.Count, null, "the live state differs from the replay: live has ", what);
            Assert.Contains(shown, report.Failure, StringComparison.Ordinal);
        }
    }
}
