using FsCheck;
using FsCheck.Fluent;
using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>
/// The settlement arithmetic: however a lease's time is cut into settlements, the parts add up to one settlement of
/// the whole, no step pays anyone a negative amount, and the network never takes more than its rate rounded up.
/// </summary>
public sealed class SettlementPropertyTests
{
    private const long Hour = SettlementMath.MillisecondsPerHour;

    private static readonly Config Runs = Config.QuickThrowOnFailure.WithMaxTest(500);

    // ---- generators ----------------------------------------------------------------------------------------

    /// <summary>A long in [0, max], spread over magnitudes so small and large values both appear.</summary>
    private static Gen<long> Upto(long max) =>
        Gen.Choose(0, 62).SelectMany(bits => Gen.Choose(0, int.MaxValue).SelectMany(high => Gen.Choose(0, int.MaxValue).Select(low =>
        {
            ulong raw = ((ulong)(uint)high << 31) | (uint)low;
            ulong limit = bits >= 62 ? (ulong)max : Math.Min((ulong)max, (1UL << bits) - 1);
            return (long)(raw % (limit + 1));
        })));

    private static Gen<(int Fee, int Reserve)> Rates =>
        Gen.Frequency(
            (4, Gen.Constant((200, 25))),
            (1, Gen.Elements((0, 0), (10_000, 0), (0, 10_000), (9_999, 1), (1, 1), (2_000, 400), (1, 0), (0, 1))),
            (5, Gen.Choose(0, 10_000).SelectMany(fee => Gen.Choose(0, 10_000 - fee).Select(reserve => (fee, reserve)))));

    /// <summary>Running gross totals where a fee floor and a reserve floor (taken alone) both step: multiples of their periods, and one either side.</summary>
    private static long JointStep(int fee, int reserve)
    {
        static long Period(int bps) => bps == 0 ? 1 : 10_000 / (long)Gcd(bps, 10_000);
        long a = Period(fee), b = Period(reserve);
        return a / Gcd(a, b) * b;
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    private static Gen<long[]> Cuts(Gen<long> point) => Gen.Choose(0, 25).SelectMany(n => Gen.ArrayOf(point, n)).Select(c => c.Order().ToArray());

    // ---- pure arithmetic -----------------------------------------------------------------------------------

    [Fact]
    public void Settling_elapsed_time_in_any_steps_pays_each_party_what_one_settlement_of_the_whole_pays()
    {
        Gen<(long Price, long Elapsed, (int Fee, int Reserve) Rates, long[] Cuts)> cases =
            from price in Gen.Frequency((2, Upto(10_000)), (2, Upto(3_600_000)), (3, Upto(1_000_000_000_000)))
            from elapsed in Gen.Frequency((2, Upto(10_000)), (3, Upto(30L * 24 * Hour)))
            from rates in Rates
            from cuts in Cuts(Upto(elapsed))
            select (price, elapsed, rates, cuts);

        Prop.ForAll(Arb.From(cases), c =>
        {
            long total = SettlementMath.GrossOwed(c.Price, c.Elapsed);
            Split whole = SettlementMath.SplitTotal(total, c.Rates.Fee, c.Rates.Reserve);
            Split sum = default;
            long paid = 0;
            foreach (long at in c.Cuts.Append(c.Elapsed))
            {
                long owed = SettlementMath.GrossOwed(c.Price, at);
                Assert.True(owed >= paid, "the gross owed never decreases with time");
                Split step = AssertStep(paid, owed, c.Rates.Fee, c.Rates.Reserve);
                sum = new Split(sum.Provider + step.Provider, sum.Fee + step.Fee, sum.Reserve + step.Reserve);
                paid = owed;
            }

            Assert.Equal(whole, sum);
            Assert.Equal(total, whole.Total);
        }).Check(Runs);
    }

    [Fact]
    public void Any_cut_of_a_running_gross_total_adds_up_and_no_step_is_negative_even_where_floors_step_together()
    {
        Gen<((int Fee, int Reserve) Rates, int Replication, long[] Cuts)> cases =
            from rates in Rates
            from replication in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Elements(1, 500, 667, 1_000, 9_999, 10_000)), (2, Gen.Choose(0, 10_000)))
            let joint = JointStep(rates.Fee, rates.Reserve)
            from cuts in Cuts(Gen.Frequency(
                (3, Upto(Amounts.MaxAmount)),
                (3, Upto(100_000)),
                (4, Gen.Choose(0, 1_000).SelectMany(k => Gen.Choose(-1, 1).Select(d => Math.Max(0, (k * joint) + d))))))
            select (rates, replication, cuts);

        Prop.ForAll(Arb.From(cases), c =>
        {
            long before = 0;
            Split sum = default;
            foreach (long after in c.Cuts)
            {
                Split step = AssertStep(before, after, c.Rates.Fee, c.Rates.Reserve, c.Replication);
                sum = new Split(sum.Provider + step.Provider, sum.Fee + step.Fee, sum.Reserve + step.Reserve, sum.Replication + step.Replication);
                before = after;
            }

            Split whole = SettlementMath.SplitTotal(before, c.Rates.Fee, c.Rates.Reserve, c.Replication);
            Assert.Equal(whole, sum);
            // The replication fee is taken from the provider's part alone: the network's fee and reserve do not move.
            Split without = SettlementMath.SplitTotal(before, c.Rates.Fee, c.Rates.Reserve);
            Assert.Equal((without.Fee, without.Reserve, without.Provider), (whole.Fee, whole.Reserve, whole.Provider + whole.Replication));
        }).Check(Runs);
    }

    /// <summary>One step's checks: no part negative, parts add up to the step, the network's part at most its rate rounded up.</summary>
    private static Split AssertStep(long before, long after, int fee, int reserve, int replication = 0)
    {
        Split step = SettlementMath.Step(before, after, fee, reserve, replication);
        long gross = after - before;
        Assert.True(step.Provider >= 0 && step.Fee >= 0 && step.Reserve >= 0 && step.Replication >= 0, $"{before}→{after} at {fee}+{reserve} bps (replication {replication}) pays {step}");
        Assert.Equal(gross, step.Total);
        Int128 ceiling = (((Int128)gross * (fee + reserve)) + 9_999) / 10_000;
        Assert.True(step.Fee + step.Reserve <= ceiling, $"{before}→{after} takes {step.Fee}+{step.Reserve} for the network, more than ⌈{fee + reserve} bps⌉ = {ceiling}");
        return step;
    }

    [Fact]
    public void The_split_of_a_total_takes_exactly_the_floored_network_rate_and_divides_it_by_the_floored_fee_share()
    {
        Gen<(long Gross, (int Fee, int Reserve) Rates)> cases =
            from gross in Gen.Frequency((1, Upto(1_000)), (1, Upto(Amounts.MaxAmount)))
            from rates in Rates
            select (gross, rates);

        Prop.ForAll(Arb.From(cases), c =>
        {
            (long gross, (int fee, int reserve)) = c;
            Split split = SettlementMath.SplitTotal(gross, fee, reserve);
            long network = (long)((Int128)gross * (fee + reserve) / 10_000);
            Assert.Equal(network, split.Fee + split.Reserve);
            Assert.Equal(fee + reserve == 0 ? 0 : (long)((Int128)network * fee / (fee + reserve)), split.Fee);
            Assert.Equal(gross, split.Total);
            Assert.True(split.Provider >= 0 && split.Fee >= 0 && split.Reserve >= 0);
        }).Check(Runs);
    }

    [Theory]
    [InlineData(399, 391, 7, 1)]
    [InlineData(400, 391, 8, 1)] // a fee floor (every 50) and a reserve floor (every 400) taken alone both step here
    [InlineData(401, 392, 8, 1)]
    [InlineData(800, 782, 16, 2)]
    [InlineData(15_000, 14_663, 299, 38)]
    [InlineData(1_000_000, 977_500, 20_000, 2_500)]
    public void Totals_where_the_fee_and_reserve_floors_step_at_once_split_exactly(long gross, long provider, long fee, long reserve)
    {
        Assert.Equal(new Split(provider, fee, reserve), SettlementMath.SplitTotal(gross, 200, 25));

        // Paid one µKUMO at a time, every step goes to exactly one party and the steps add up to the total.
        Split sum = default;
        for (long g = 0; g < gross && g < 20_000; g++)
        {
            Split step = SettlementMath.Step(g, g + 1, 200, 25);
            Assert.Equal(1, step.Total);
            Assert.True(step.Provider >= 0 && step.Fee >= 0 && step.Reserve >= 0, $"step {g}→{g + 1}: {step}");
            sum = new Split(sum.Provider + step.Provider, sum.Fee + step.Fee, sum.Reserve + step.Reserve);
        }

        if (gross <= 20_000)
        {
            Assert.Equal(new Split(provider, fee, reserve), sum);
        }
    }

    [Fact]
    public void Taking_the_fee_and_the_reserve_as_separate_floors_would_pay_the_provider_a_negative_step_at_400()
    {
        // Why the network part is one floor: ⌊G·2%⌋ and ⌊G·0.25%⌋ both step from 399 to 400, two µKUMO out of one.
        static long Naive(long g) => g - (g * 200 / 10_000) - (g * 25 / 10_000);
        Assert.Equal(-1, Naive(400) - Naive(399));

        Split step = SettlementMath.Step(399, 400, 200, 25);

        Assert.Equal(new Split(0, 1, 0), step);
    }

    [Fact]
    public void The_escrow_for_a_price_and_timeout_is_the_exact_cost_rounded_up_and_covers_every_moment_of_the_run()
    {
        Gen<(long Price, long Timeout, long At)> cases =
            from price in Gen.Frequency((1, Upto(1_000)), (2, Upto(1_000_000_000_000)))
            from timeout in Gen.Frequency((2, Gen.Choose(1, 30 * 24 * 3600).Select(s => s * 1000L)), (1, Upto(30L * 24 * Hour)))
            from at in Upto(timeout)
            select (price, timeout, at);

        Prop.ForAll(Arb.From(cases), c =>
        {
            long escrow = SettlementMath.EscrowFor(c.Price, c.Timeout);
            Int128 cost = (Int128)c.Price * c.Timeout; // in µKUMO·ms/h
            Assert.True((Int128)escrow * Hour >= cost, "the escrow covers the full run");
            Assert.True(escrow == 0 || (Int128)(escrow - 1) * Hour < cost, "and is the smallest amount that does");
            Assert.Equal(cost == 0, escrow == 0);
            long gross = SettlementMath.GrossOwed(c.Price, c.Timeout);
            Assert.InRange(escrow - gross, 0, 1);
            Assert.Equal(cost % Hour == 0, escrow == gross);
            Assert.True(SettlementMath.GrossOwed(c.Price, c.At) <= escrow);
        }).Check(Runs);
    }

    [Theory]
    [InlineData(1, 1, 1)]               // 1 µKUMO/h for 1 ms still locks 1 µKUMO
    [InlineData(3_600_000, 1, 1)]       // exactly 1 µKUMO
    [InlineData(3_600_001, 1, 2)]
    [InlineData(1_000_000, 3_600_000, 1_000_000)]
    [InlineData(1_000_000_000_000, 2_592_000_000, 720_000_000_000_000)] // the largest spec: 10^6 KUMO/h for 30 days
    [InlineData(0, 3_600_000, 0)]
    public void The_escrow_rounds_a_partial_microkumo_up(long price, long timeoutMs, long escrow) =>
        Assert.Equal(escrow, SettlementMath.EscrowFor(price, timeoutMs));

    [Fact]
    public void A_slash_is_the_floored_share_of_the_stake_and_its_bounty_and_burn_add_up_to_it()
    {
        Gen<(long Stake, int SlashBps, int BountyBps)> cases =
            from stake in Gen.Frequency((1, Upto(100)), (2, Upto(Amounts.MaxAmount)))
            from slash in Gen.Frequency((1, Gen.Elements(0, 1, 1000, 9_999, 10_000)), (2, Gen.Choose(0, 10_000)))
            from bounty in Gen.Frequency((1, Gen.Elements(0, 1, 5000, 9_999, 10_000)), (2, Gen.Choose(0, 10_000)))
            select (stake, slash, bounty);

        Prop.ForAll(Arb.From(cases), c =>
        {
            (long slashed, long bounty, long burned) = SettlementMath.Slash(c.Stake, c.SlashBps, c.BountyBps);
            Assert.Equal(slashed, bounty + burned);
            Assert.True(bounty >= 0 && burned >= 0, $"{bounty} / {burned}");
            Assert.InRange(slashed, 0, c.Stake);
            Assert.Equal((long)((Int128)c.Stake * c.SlashBps / 10_000), slashed);
            Assert.Equal((long)((Int128)slashed * c.BountyBps / 10_000), bounty);
        }).Check(Runs);
    }

    [Fact]
    public void A_reward_is_its_rate_of_the_provider_share_halved_once_per_period_and_never_grows_with_time()
    {
        Gen<(long Share, int Bps, long Since, long Later, long Halving)> cases =
            from share in Upto(Amounts.MaxAmount)
            from bps in Gen.Choose(0, 10_000)
            from halving in Gen.Frequency((1, Upto(10)), (1, Upto(Amounts.MaxAmount))).Select(h => Math.Max(1, h))
            from since in Gen.Frequency((1, Gen.Choose(-1000, 1000).Select(x => (long)x)), (3, Upto(Amounts.MaxAmount)))
            from later in Upto(Amounts.MaxAmount)
            select (share, bps, since, Math.Max(since, later), halving);

        Prop.ForAll(Arb.From(cases), c =>
        {
            long full = (long)((Int128)c.Share * c.Bps / 10_000);
            long halvings = Math.Max(0, c.Since) / c.Halving;
            long reward = SettlementMath.Reward(c.Share, c.Bps, c.Since, c.Halving);
            Assert.Equal(halvings >= 62 ? 0 : full >> (int)halvings, reward);
            Assert.InRange(reward, 0, full);
            Assert.True(SettlementMath.Reward(c.Share, c.Bps, c.Later, c.Halving) <= reward);
        }).Check(Runs);
    }

    // ---- the same through the ledger -----------------------------------------------------------------------

    /// <summary>
    /// Through the ledger itself: a lease settled at random moments (and maybe run past what its escrow covers) leaves
    /// provider, fee pool, reserve and tenant exactly where one closing settlement does. Rewards are off here because
    /// they are minted per settlement and floored per step by design.
    /// </summary>
    [Fact]
    public void A_lease_settled_at_random_moments_pays_exactly_what_one_settlement_at_its_close_pays()
    {
        using var tenant = AccountKey.Create();
        using var provider = AccountKey.Create();
        Gen<(long Max, long Price, long TimeoutSeconds, (int Fee, int Reserve) Rates, long[] Cuts, long End)> cases =
            from max in Gen.Frequency((1, Upto(1_000)), (2, Upto(100_000_000_000)))
            from price in Upto(max)
            from timeout in Gen.Choose(1, 7_200).Select(s => (long)s)
            from rates in Rates
            from end in Gen.Frequency((3, Upto(timeout * 1000)), (1, Upto(3 * timeout * 1000)))
            from cuts in Cuts(Upto(end))
            select (Math.Max(1, max), price, timeout, rates, cuts, end);

        Prop.ForAll(Arb.From(cases), c =>
        {
            Genesis genesis = Genesis.Devnet(LedgerHarness.Start) with
            {
                NetworkFeeBps = c.Rates.Fee,
                ReserveBps = c.Rates.Reserve,
                Rewards = new EmissionSchedule { RewardBps = 0 },
                Faucet = new FaucetRule(Amounts.MaxAmount, Amounts.MaxAmount),
            };
            LedgerHarness stepped = RunLease(genesis, tenant, provider, c.Max, c.Price, c.TimeoutSeconds, c.Cuts, c.End);
            LedgerHarness once = RunLease(genesis, tenant, provider, c.Max, c.Price, c.TimeoutSeconds, [], c.End);

            foreach (LedgerAddress account in new[] { LedgerAddress.User(provider.AccountId), LedgerAddress.User(tenant.AccountId), LedgerAddress.FeePool, LedgerAddress.Reserve })
            {
                Assert.Equal(once.State.Balance(account), stepped.State.Balance(account));
            }

            long escrow = SettlementMath.EscrowFor(c.Max, c.TimeoutSeconds * 1000);
            long gross = Math.Min(escrow, SettlementMath.GrossOwed(c.Price, c.End));
            Assert.Equal(SettlementMath.SplitTotal(gross, c.Rates.Fee, c.Rates.Reserve).Provider, stepped.State.Balance(LedgerAddress.User(provider.AccountId)));
            Assert.True(stepped.State.Totals().Conserved);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    private static LedgerHarness RunLease(Genesis genesis, AccountKey tenant, AccountKey provider, long max, long price, long timeoutSeconds, long[] cuts, long end)
    {
        var h = new LedgerHarness(genesis);
        long escrow = SettlementMath.EscrowFor(max, timeoutSeconds * 1000);
        Assert.True(h.Send(tenant, LedgerMessageTypes.Faucet, new FaucetPayload(escrow)).Applied);
        SignedEnvelope submission = h.SubmissionMicros(tenant, max, timeoutSeconds);
        Assert.True(h.Submit(submission).Applied);
        string order = OrderIds.FromSubmissionDigest(submission.Digest());
        ApplyResult opened = h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", h.Now, h.Acceptance(provider, "l-1", order, submission.Digest(), price)));
        Assert.True(opened.Applied, opened.Error);
        long start = h.Now;
        foreach (long cut in cuts)
        {
            h.Now = start + cut;
            if (h.State.Lease("l-1") is not null)
            {
                Assert.True(h.Protocol(ProtocolTypes.Settle, new SettleBody("l-1")).Applied);
            }
        }

        h.Now = start + end;
        if (h.State.Lease("l-1") is not null)
        {
            Assert.True(h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", h.Now, "completed")).Applied);
        }

        Assert.True(h.Protocol(ProtocolTypes.Refund, new RefundBody(order)).Applied);
        Assert.Equal(0, h.State.Balance(LedgerAddress.Escrow(order)));
        return h;
    }
}
