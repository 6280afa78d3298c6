using System.Text.Json;
using Kumo.Crypto;
using Kumo.Ledger.Audit;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Leases;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>
/// Every bad input the ledger can meet gets a refusal that says why, and changes nothing: not a balance, not a
/// state line, not the pending block.
/// </summary>
public sealed class RefusalTests : IDisposable
{
    private const long K = Amounts.MicrosPerKumo;

    private readonly LedgerHarness _h = new();
    private readonly AccountKey _alice = AccountKey.Create();
    private readonly AccountKey _bob = AccountKey.Create();
    private readonly AccountKey _mallory = AccountKey.Create();

    public void Dispose()
    {
        _alice.Dispose();
        _bob.Dispose();
        _mallory.Dispose();
    }

    /// <summary>Runs <paramref name="attempt"/> and checks it was refused for <paramref name="reason"/> and changed nothing.</summary>
    private static ApplyResult AssertRefused(LedgerHarness h, Func<ApplyResult> attempt, string reason)
    {
        IReadOnlyList<string> before = h.State.StateLines();
        int pending = h.Producer.PendingCount;

        ApplyResult result = attempt();

        Assert.False(result.Applied, $"expected a refusal containing '{reason}'");
        Assert.NotNull(result.Error);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Postings);
        Assert.Empty(result.Effects);
        Assert.Equal(before, h.State.StateLines());
        Assert.Equal(pending, h.Producer.PendingCount);
        return result;
    }

    private ApplyResult AssertRefused(Func<ApplyResult> attempt, string reason) => AssertRefused(_h, attempt, reason);

    private void AssertApplied(ApplyResult result) => Assert.True(result.Applied, result.Error);

    private (string Order, string Digest) Lock(AccountKey tenant, long maxPerHour, long timeoutSeconds)
    {
        SignedEnvelope submission = _h.SubmissionMicros(tenant, maxPerHour, timeoutSeconds);
        AssertApplied(_h.Submit(submission));
        return (OrderIds.FromSubmissionDigest(submission.Digest()), submission.Digest());
    }

    private SignedEnvelope Result(AccountKey signer, string lease, CloseReason reason) =>
        _h.Sign(signer, MessageTypes.LeaseResult, new LeaseResult(lease, reason, 0, reason.ToString(), [], 1, 2));

    // ---- overspending and amounts -------------------------------------------------------------------------

    [Fact]
    public void Overspending_is_refused_for_every_kind_of_debit()
    {
        _h.Faucet(_alice, 10);
        (string order, _) = Lock(_alice, 3_600_000, 1); // locks 1,000 µKUMO

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, (10 * K) - 1_000 + 1)), "insufficient funds for transfer");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(10 * K)), "insufficient funds for bond");
        AssertRefused(() => _h.Submit(_h.SubmissionMicros(_alice, 10 * K, 3600)), "insufficient funds for escrow lock");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(order, 10 * K)), "insufficient funds for top-up");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, 1_001)), "insufficient funds for escrow withdrawal");
        AssertRefused(() => _h.Send(_bob, LedgerMessageTypes.Transfer, new TransferPayload(_alice.AccountId.Value, 1)), "has 0 KUMO, needs 0.000001 KUMO");

        // Exactly everything is fine.
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, (10 * K) - 1_000)));
        Assert.Equal(0, _h.Balance(_alice));
    }

    [Fact]
    public void An_escrow_withdrawal_beyond_what_is_left_once_the_provider_is_paid_is_refused_as_a_withdrawal()
    {
        _h.Faucet(_alice, 10);
        (string order, string digest) = Lock(_alice, 3_600_000, 1); // 1 µKUMO per ms for 1 s: locks 1,000 µKUMO
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, 3_600_000))));
        _h.Advance(TimeSpan.FromMilliseconds(500));

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, 501)), "insufficient funds for escrow withdrawal");

        AssertApplied(_h.Send(_alice, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, 500)));
        Assert.Equal(0, _h.State.Balance(LedgerAddress.Escrow(order)));
        Assert.Equal(500, _h.State.Lease("l-1")!.GrossPaid);
    }

    public static TheoryData<string, string> MalformedAccounts => new()
    {
        { "empty", "the account is empty" },
        { "garbage", "is not a valid account id" },
        { "bad checksum", "checksum" },
        { "other prefix", "is not a Kumo account id (prefix 'bc'" },
        { "wrong length", "bytes of hash, expected 20" },
        { "mixed case", "is not a valid account id" },
        { "surrounding space", "is not a valid account id" },
        { "very long", "is not a valid account id" },
        { "stake account", "not a user account" },
        { "escrow account", "not a user account" },
        { "malformed stake account", "is not a stake account" },
        { "malformed escrow account", "is not an escrow account" },
        { "fee pool", "not a user account" },
        { "issuance", "not a user account" },
    };

    [Theory]
    [MemberData(nameof(MalformedAccounts))]
    public void A_transfer_to_a_malformed_or_non_user_account_is_refused_with_the_reason(string kind, string reason)
    {
        _h.Faucet(_alice, 10);
        string bob = _bob.AccountId.Value;
        string to = kind switch
        {
            "empty" => "",
            "garbage" => "hello world",
            "bad checksum" => bob[..^1] + (bob[^1] == 'q' ? 'p' : 'q'),
            "other prefix" => Kumo.Codecs.Bech32.Encode("bc", new byte[20]),
            "wrong length" => Kumo.Codecs.Bech32.Encode(AccountId.Prefix, new byte[19]),
            "mixed case" => char.ToUpperInvariant(bob[0]) + bob[1..],
            "surrounding space" => " " + bob,
            "very long" => bob + new string('q', 200),
            "stake account" => "stake:" + bob,
            "escrow account" => "escrow:j-0123456789ab",
            "malformed stake account" => "stake:" + bob[..^1],
            "malformed escrow account" => "escrow:j-XYZ",
            "fee pool" => "network:fees",
            "issuance" => "network:issuance",
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(to, K)), reason);
    }

    [Fact]
    public void A_transfer_to_yourself_is_refused_even_written_in_upper_case()
    {
        _h.Faucet(_alice, 10);

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_alice.AccountId.Value, K)), "to yourself");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_alice.AccountId.Value.ToUpperInvariant(), K)), "to yourself");
    }

    [Fact]
    public void A_transfer_to_an_upper_case_account_id_reaches_the_same_account()
    {
        _h.Faucet(_alice, 10);

        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value.ToUpperInvariant(), K)));

        Assert.Equal(K, _h.Balance(_bob));
    }

    public static TheoryData<string, long> BadAmounts()
    {
        var data = new TheoryData<string, long>();
        foreach (string type in new[] { "transfer", "bond", "unbond", "faucet", "top-up", "escrow withdrawal" })
        {
            foreach (long amount in new[] { 0, -1, -K, long.MinValue, Amounts.MaxAmount + 1, long.MaxValue })
            {
                data.Add(type, amount);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(BadAmounts))]
    public void Zero_negative_and_oversized_amounts_are_refused_by_every_transaction_that_names_one(string type, long amount)
    {
        _h.Faucet(_alice, 100);
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(10 * K)));
        (string order, _) = Lock(_alice, K, 60);
        (string messageType, object payload) = type switch
        {
            "transfer" => (LedgerMessageTypes.Transfer, (object)new TransferPayload(_bob.AccountId.Value, amount)),
            "bond" => (LedgerMessageTypes.Bond, new BondPayload(amount)),
            "unbond" => (LedgerMessageTypes.Unbond, new UnbondPayload(amount)),
            "faucet" => (LedgerMessageTypes.Faucet, new FaucetPayload(amount)),
            "top-up" => (LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(order, amount)),
            "escrow withdrawal" => (LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, amount)),
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        // Beyond ±(2^53−1) an amount has no canonical JSON form: the block producer refuses it before the rules
        // see it (so it can never be applied without being stored); within range, the rules name the problem.
        bool representable = Math.Abs((decimal)amount) <= CanonicalJson.MaxSafeInteger;
        string reason = !representable ? "2^53" : amount <= 0 ? $"{type} amount must be positive, not {amount}" : $"{type} amount {amount} is above the largest amount";

        AssertRefused(() => _h.Submit(_h.SignAmount(_alice, messageType, payload, amount)), reason);
    }

    [Fact]
    public void The_largest_amount_is_accepted_where_funds_allow_and_one_more_cannot_even_be_signed()
    {
        var h = new LedgerHarness(Genesis.Network("kumo-test", LedgerHarness.Start, [new GenesisAllocation(_alice.AccountId.Value, Amounts.MaxAmount)]));

        AssertApplied(h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, Amounts.MaxAmount)));
        Assert.Equal(Amounts.MaxAmount, h.Balance(_bob));
        Assert.Throws<CanonicalJsonException>(() => h.Sign(_bob, LedgerMessageTypes.Transfer, new TransferPayload(_alice.AccountId.Value, Amounts.MaxAmount + 1)));
        Assert.True(h.State.Totals().Conserved);
    }

    // ---- signatures and replays ---------------------------------------------------------------------------

    public static TheoryData<string, string> Forgeries => new()
    {
        { "signed by another key", "signature does not match the message and key" },
        { "another key in the envelope", "public key belongs to" },
        { "payload changed after signing", "signature does not match the message and key" },
        { "lease acceptance signed by another key", "kumo.lease.accept/v1 by" },
        { "slash evidence signed by another key", "kumo.lease.result/v1 by" },
    };

    /// <summary>
    /// Signatures are the caller's to check (the hub on arrival, the auditor on replay), so a forged transaction that
    /// slipped past a careless sequencer is caught by the audit, which names its block and position.
    /// </summary>
    [Theory]
    [MemberData(nameof(Forgeries))]
    public void A_forged_signature_fails_the_audit_naming_its_block_and_transaction(string forgery, string reason)
    {
        _h.Faucet(_alice, 1000);
        _h.Faucet(_mallory, 10);
        _h.Seal();
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(500 * K)));
        AssertApplied(_h.Send(_mallory, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, 1)));
        var transfer = new TransferPayload(_mallory.AccountId.Value, 100 * K);
        switch (forgery)
        {
            case "signed by another key":
                AssertApplied(_h.Submit(_h.Sign(_mallory, LedgerMessageTypes.Transfer, transfer) with { Signer = _alice.AccountId, PublicKey = _alice.PublicKey.Text }));
                break;
            case "another key in the envelope":
                AssertApplied(_h.Submit(_h.Sign(_mallory, LedgerMessageTypes.Transfer, transfer) with { Signer = _alice.AccountId }));
                break;
            case "payload changed after signing":
                SignedEnvelope small = _h.Sign(_alice, LedgerMessageTypes.Transfer, transfer with { Amount = 1 });
                AssertApplied(_h.Submit(small with { Payload = JsonSerializer.SerializeToElement(transfer, KumoJson.Options) }));
                break;
            case "lease acceptance signed by another key":
                (string order, string digest) = Lock(_alice, K, 60);
                SignedEnvelope acceptance = _h.Acceptance(_mallory, "l-forged", order, digest, K) with { Signer = _bob.AccountId, PublicKey = _bob.PublicKey.Text };
                AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-forged", _h.Now, acceptance)));
                break;
            case "slash evidence signed by another key":
                SignedEnvelope a = Result(_mallory, "l-1", CloseReason.Completed) with { Signer = _alice.AccountId, PublicKey = _alice.PublicKey.Text };
                SignedEnvelope b = Result(_mallory, "l-1", CloseReason.WorkloadFailed) with { Signer = _alice.AccountId, PublicKey = _alice.PublicKey.Text };
                AssertApplied(_h.Send(_mallory, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, LedgerState.SlashKinds.DoubleResult, [a, b])));
                break;
        }

        _h.Advance(TimeSpan.FromMilliseconds(1)); // past the nonce a forgery above borrowed from another signer
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, 1)));
        _h.Seal();

        AuditReport report = _h.Audit();

        Assert.False(report.Ok);
        Assert.Equal(2, report.FailedBlock);
        Assert.Equal(_h.Blocks[1].Transactions.Count - 2, report.FailedTransaction);
        Assert.StartsWith("signature check failed: ", report.Failure, StringComparison.Ordinal);
        Assert.Contains(reason, report.Failure, StringComparison.Ordinal);
        Assert.Equal(1, report.Blocks);
    }

    [Fact]
    public void A_replayed_envelope_and_another_statement_with_a_used_nonce_are_refused()
    {
        _h.Faucet(_alice, 100);
        SignedEnvelope transfer = _h.Sign(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, K));
        AssertApplied(_h.Submit(transfer));

        AssertRefused(() => _h.Submit(transfer), $"nonce {transfer.Nonce} of {_alice.AccountId} was already used: a replay");
        _h.Advance(TimeSpan.FromSeconds(299));
        AssertRefused(() => _h.Submit(transfer), "a replay");
        SignedEnvelope sameNonce = LedgerHarness.SignWithNonce(_alice, LedgerMessageTypes.Bond, new BondPayload(K), transfer.Nonce, _h.Now);
        AssertRefused(() => _h.Submit(sameNonce), "a replay");

        // Once the window has passed the nonce is forgotten, but then the envelope is refused as stale.
        _h.Advance(TimeSpan.FromMinutes(20));
        AssertApplied(_h.Faucet(_bob, 1));
        AssertRefused(() => _h.Submit(transfer), "away from the time it was applied");
        Assert.Equal(K + K, _h.Balance(_bob));
    }

    [Fact]
    public void A_refused_transaction_does_not_use_up_its_nonce()
    {
        SignedEnvelope transfer = _h.Sign(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, K));
        AssertRefused(() => _h.Submit(transfer), "insufficient funds");

        _h.Faucet(_alice, 1);

        AssertApplied(_h.Submit(transfer));
        Assert.Equal(K, _h.Balance(_bob));
    }

    [Fact]
    public void Timestamps_outside_the_clock_skew_are_refused_and_the_edges_are_accepted()
    {
        _h.Faucet(_alice, 100);
        _h.Advance(TimeSpan.FromHours(1));
        long skew = _h.Genesis.ClockSkewMs;
        var transfer = new TransferPayload(_bob.AccountId.Value, 1);

        AssertRefused(() => _h.Submit(_h.SignAt(_alice, LedgerMessageTypes.Transfer, transfer, _h.Now - skew - 1)), "signed 300 s away from the time it was applied; the ledger accepts ±300 s");
        AssertRefused(() => _h.Submit(_h.SignAt(_alice, LedgerMessageTypes.Transfer, transfer, _h.Now + skew + 1)), "away from the time it was applied");
        AssertRefused(() => _h.Submit(_h.SignAt(_alice, LedgerMessageTypes.Transfer, transfer, 0)), "away from the time it was applied");
        AssertApplied(_h.Submit(_h.SignAt(_alice, LedgerMessageTypes.Transfer, transfer, _h.Now - skew)));
        AssertApplied(_h.Submit(_h.SignAt(_alice, LedgerMessageTypes.Transfer, transfer, _h.Now + skew)));
    }

    [Fact]
    public void Time_going_backwards_is_refused_for_signed_and_protocol_transactions()
    {
        _h.Faucet(_alice, 100);
        (string order, _) = Lock(_alice, K, 60);
        _h.Advance(TimeSpan.FromSeconds(10));
        AssertApplied(_h.Faucet(_bob, 1));
        _h.Now -= 1;

        AssertRefused(() => _h.Faucet(_alice, 1), "time cannot go backwards");
        AssertRefused(() => _h.Protocol(ProtocolTypes.Refund, new RefundBody(order)), "time cannot go backwards");

        _h.Now += 1; // the same millisecond as the last transaction is fine
        AssertApplied(_h.Protocol(ProtocolTypes.Refund, new RefundBody(order)));
    }

    // ---- stake ---------------------------------------------------------------------------------------------

    [Fact]
    public void Unbonding_more_than_is_still_bonded_is_refused()
    {
        _h.Faucet(_alice, 100);
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Unbond, new UnbondPayload(1)), "only 0 KUMO is bonded");
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(50 * K)));
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Unbond, new UnbondPayload(30 * K)));

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Unbond, new UnbondPayload((20 * K) + 1)), "cannot unbond 20.000001 KUMO: only 20 KUMO is bonded");

        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Unbond, new UnbondPayload(20 * K)));
        Assert.Equal(0, _h.State.Bonded(_alice.AccountId));
    }

    [Fact]
    public void Withdrawing_before_release_or_with_nothing_unbonding_is_refused()
    {
        _h.Faucet(_alice, 100);
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()), "nothing to withdraw yet: nothing is unbonding");
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(50 * K)));
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Unbond, new UnbondPayload(30 * K)));
        _h.Advance(TimeSpan.FromMilliseconds(_h.Genesis.UnbondingPeriodMs - 1));

        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()), "nothing to withdraw yet: 30 KUMO is unbonding; the first release is at");

        _h.Advance(TimeSpan.FromMilliseconds(1));
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()));
        Assert.Equal(80 * K, _h.Balance(_alice));
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()), "nothing is unbonding");
    }

    // ---- slashing ------------------------------------------------------------------------------------------

    public static TheoryData<string, string> BadEvidence => new()
    {
        { "unknown kind", "unknown evidence kind 'late_result'" },
        { "one envelope", "exactly two signed results" },
        { "three envelopes", "exactly two signed results" },
        { "not results", "must be two lease results" },
        { "different leases", "the two results are for different leases" },
        { "signed by someone else", "both results must be signed by the offender" },
        { "the same result twice", "the two results say the same thing" },
        { "the offender reports itself", "you cannot report yourself" },
        { "malformed offender", "slash report: offender:" },
        { "offender without stake", "has no stake to slash" },
        { "evidence that is not a result", "malformed slash_report" },
    };

    [Theory]
    [MemberData(nameof(BadEvidence))]
    public void A_slash_report_without_valid_evidence_is_refused(string flaw, string reason)
    {
        _h.Faucet(_alice, 100);
        _h.Faucet(_bob, 100);
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(100 * K)));
        SignedEnvelope a = Result(_alice, "l-1", CloseReason.Completed);
        SignedEnvelope b = Result(_alice, "l-1", CloseReason.WorkloadFailed);
        AccountKey reporter = _bob;
        string offender = _alice.AccountId.Value;
        string kind = LedgerState.SlashKinds.DoubleResult;
        IReadOnlyList<SignedEnvelope> evidence = flaw switch
        {
            "one envelope" => [a],
            "three envelopes" => [a, b, Result(_alice, "l-1", CloseReason.TenantCancelled)],
            "not results" => [a, _h.Acceptance(_alice, "l-1", "j-0123456789ab", "00", 1)],
            "different leases" => [a, Result(_alice, "l-2", CloseReason.WorkloadFailed)],
            "signed by someone else" => [a, Result(_mallory, "l-1", CloseReason.WorkloadFailed)],
            "the same result twice" => [a, Result(_alice, "l-1", CloseReason.Completed)],
            "evidence that is not a result" => [a, _h.Sign(_alice, MessageTypes.LeaseResult, new TransferPayload("x", 1))],
            _ => [a, b],
        };
        switch (flaw)
        {
            case "unknown kind": kind = "late_result"; break;
            case "the offender reports itself": reporter = _alice; break;
            case "malformed offender": offender = offender[..^1]; break;
            case "offender without stake": offender = _bob.AccountId.Value; reporter = _alice; evidence = [Result(_bob, "l-1", CloseReason.Completed), Result(_bob, "l-1", CloseReason.WorkloadFailed)]; break;
        }

        AssertRefused(() => _h.Send(reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(offender, kind, evidence)), reason);
    }

    [Fact]
    public void The_same_fault_is_slashed_once_whatever_the_order_of_its_evidence()
    {
        _h.Faucet(_alice, 100);
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(100 * K)));
        SignedEnvelope a = Result(_alice, "l-1", CloseReason.Completed);
        SignedEnvelope b = Result(_alice, "l-1", CloseReason.WorkloadFailed);
        SignedEnvelope c = Result(_alice, "l-1", CloseReason.TenantCancelled);
        AssertApplied(_h.Send(_bob, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, "double_result", [a, b])));

        AssertRefused(() => _h.Send(_bob, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, "double_result", [a, b])), "was already slashed");
        AssertRefused(() => _h.Send(_mallory, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, "double_result", [b, a])), "was already slashed");
        AssertRefused(() => _h.Send(_mallory, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, "double_result", [a, c])), "was already slashed");
    }

    /// <summary>
    /// A fault is one offender's: if the key named only the lease, an accomplice with a dust stake could sign two
    /// results for a cheater's lease, have them reported first, and make the cheater's own fault unslashable.
    /// </summary>
    [Fact]
    public void Another_offenders_fault_on_the_same_lease_does_not_shield_the_cheater()
    {
        _h.Faucet(_alice, 100);
        _h.Faucet(_mallory, 1);
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.Bond, new BondPayload(100 * K)));
        AssertApplied(_h.Send(_mallory, LedgerMessageTypes.Bond, new BondPayload(10)));
        AssertApplied(_h.Send(_alice, LedgerMessageTypes.SlashReport, new SlashReportPayload(_mallory.AccountId.Value, "double_result",
            [Result(_mallory, "l-1", CloseReason.Completed), Result(_mallory, "l-1", CloseReason.WorkloadFailed)])));

        ApplyResult cheater = _h.Send(_bob, LedgerMessageTypes.SlashReport, new SlashReportPayload(_alice.AccountId.Value, "double_result",
            [Result(_alice, "l-1", CloseReason.Completed), Result(_alice, "l-1", CloseReason.WorkloadFailed)]));

        AssertApplied(cheater);
        Assert.Equal(90 * K, _h.State.Bonded(_alice.AccountId));
        Assert.Equal(5 * K, _h.Balance(_bob));
    }

    // ---- leases and escrow ---------------------------------------------------------------------------------

    [Fact]
    public void A_lease_above_the_tenants_signed_maximum_is_refused_and_the_maximum_itself_is_accepted()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, 2 * K, 60);

        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, (2 * K) + 1))),
            "the accepted price 2000001 µKUMO/h is above the tenant's signed maximum 2000000");
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, Amounts.MaxAmount))), "above the tenant's signed maximum");
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, -1))), "above the tenant's signed maximum");

        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, 2 * K))));
    }

    [Fact]
    public void An_acceptance_for_another_submission_order_or_lease_is_refused()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, K, 60);
        (string other, string otherDigest) = Lock(_alice, K, 60);
        string reason = "the provider's acceptance is for another lease, order or submission";

        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, otherDigest, K))), reason);
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", other, otherDigest, K))), reason);
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-2", order, digest, K))), reason);
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now,
            _h.Sign(_bob, MessageTypes.LeaseReject, new LeaseRejection("l-1", "busy")))), "the evidence of a lease is the provider's signed acceptance");
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody("j-0123456789ab", "l-1", _h.Now, _h.Acceptance(_bob, "l-1", "j-0123456789ab", digest, K))), "order j-0123456789ab has no escrow");
    }

    [Fact]
    public void Leases_of_one_escrow_together_stay_within_the_signed_maximum_and_a_reused_lease_id_is_refused()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, K, 60);
        (string other, string otherDigest) = Lock(_alice, K, 60);
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, K / 2))));

        // A cluster's second node may draw on the same escrow while the two together fit the maximum (1 KUMO/h)...
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-2", _h.Now, _h.Acceptance(_mallory, "l-2", order, digest, (K / 2) + 1))),
            $"the order's leases together would cost {K + 1} µKUMO/h, above the tenant's signed maximum {K}");
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-2", _h.Now, _h.Acceptance(_mallory, "l-2", order, digest, K / 2))));
        Assert.Equal(["l-1", "l-2"], _h.State.Escrow(order)!.OpenLeaseIds);
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-2", _h.Now, "completed")));
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(other, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", other, otherDigest, K))), "lease l-1 was already opened");

        // A closed lease's id stays used.
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", _h.Now, "completed")));
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(other, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", other, otherDigest, K))), "lease l-1 was already opened");
    }

    [Fact]
    public void A_refund_while_a_lease_draws_on_the_escrow_is_refused_and_so_is_a_second_refund()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, K, 60);
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, K))));

        AssertRefused(() => _h.Protocol(ProtocolTypes.Refund, new RefundBody(order)), $"lease l-1 still draws on the escrow of {order}");

        AssertApplied(_h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", _h.Now, "completed")));
        AssertApplied(_h.Protocol(ProtocolTypes.Refund, new RefundBody(order)));
        AssertRefused(() => _h.Protocol(ProtocolTypes.Refund, new RefundBody(order)), "was already refunded");
        AssertRefused(() => _h.Protocol(ProtocolTypes.Refund, new RefundBody("j-0123456789ab")), "has no escrow");
        Assert.Equal(100 * K, _h.Balance(_alice));
    }

    [Fact]
    public void A_refunded_escrow_takes_no_lease_top_up_or_withdrawal()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, K, 60);
        AssertApplied(_h.Protocol(ProtocolTypes.Refund, new RefundBody(order)));

        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, K))), "is closed");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(order, K)), "is closed (the order ended and was refunded)");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, 1)), "is closed");
    }

    [Fact]
    public void Settling_or_closing_a_closed_lease_and_closing_one_in_the_future_are_refused()
    {
        _h.Faucet(_alice, 100);
        (string order, string digest) = Lock(_alice, K, 60);
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseOpen, new LeaseOpenBody(order, "l-1", _h.Now, _h.Acceptance(_bob, "l-1", order, digest, K))));
        _h.Advance(TimeSpan.FromSeconds(10));

        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", _h.Now + 1, "completed")), "a lease cannot be closed in the future");
        AssertApplied(_h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", _h.Now, "completed")));
        _h.Advance(TimeSpan.FromSeconds(10));

        AssertRefused(() => _h.Protocol(ProtocolTypes.Settle, new SettleBody("l-1")), "lease l-1 is not open");
        AssertRefused(() => _h.Protocol(ProtocolTypes.LeaseClose, new LeaseCloseBody("l-1", _h.Now, "completed")), "lease l-1 is not open");
        AssertRefused(() => _h.Protocol(ProtocolTypes.Settle, new SettleBody("l-never")), "lease l-never is not open");
        AssertRefused(() => _h.Protocol("mint", new SettleBody("l-1")), "'mint' is not a protocol transaction");
    }

    [Fact]
    public void Escrow_top_ups_and_withdrawals_by_someone_else_or_on_unknown_orders_are_refused()
    {
        _h.Faucet(_alice, 100);
        _h.Faucet(_mallory, 100);
        (string order, _) = Lock(_alice, K, 60);

        AssertRefused(() => _h.Send(_mallory, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(order, 1)), $"the escrow of {order} belongs to {_alice.AccountId}");
        AssertRefused(() => _h.Send(_mallory, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(order, 1)), "belongs to");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload("j-0123456789ab", 1)), "order j-0123456789ab has no escrow");
        AssertRefused(() => _h.Send(_alice, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload("not an order", 1)), "has no escrow");
    }

    [Theory]
    [InlineData(0, 60, "maxPerHour must be more than 0")]
    [InlineData(1_000_000_000_001, 60, "is above the limit")]
    [InlineData(1_000_000, 0, "timeout must be at least 1s")]
    [InlineData(1_000_000, 31 * 24 * 3600, "is longer than the limit")]
    public void A_submission_with_an_invalid_spec_is_refused(long maxPerHour, long timeoutSeconds, string reason)
    {
        _h.Faucet(_alice, 100);

        AssertRefused(() => _h.Submit(_h.SubmissionMicros(_alice, maxPerHour, timeoutSeconds)), "the job spec is invalid: ");
        AssertRefused(() => _h.Submit(_h.SubmissionMicros(_alice, maxPerHour, timeoutSeconds)), reason);
    }

    [Fact]
    public void A_signed_statement_that_is_not_a_ledger_transaction_is_refused()
    {
        _h.Faucet(_alice, 100);

        AssertRefused(() => _h.Submit(_h.Sign(_alice, MessageTypes.LeaseAccept, new LeaseAcceptance("l-1", "j-0123456789ab", "00", 1))), "'kumo.lease.accept/v1' is not a ledger transaction");
        AssertRefused(() => _h.Submit(_h.Sign(_alice, LedgerMessageTypes.Transfer, new BondPayload(1))), "malformed transfer");
    }

    // ---- faucet --------------------------------------------------------------------------------------------

    [Fact]
    public void Faucet_requests_over_its_limits_are_refused()
    {
        var h = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with { Faucet = new FaucetRule(MaxPerRequest: 10 * K, MaxPerAccount: 25 * K) });

        AssertRefused(h, () => h.Faucet(_alice, 11), "the faucet gives at most 10 KUMO per request");
        Assert.True(h.Faucet(_alice, 10).Applied);
        Assert.True(h.Faucet(_alice, 10).Applied);
        AssertRefused(h, () => h.Faucet(_alice, 6), "the faucet gives at most 25 KUMO per account; 20 KUMO already given");
        Assert.True(h.Faucet(_alice, 5).Applied);
        AssertRefused(h, () => h.Send(_alice, LedgerMessageTypes.Faucet, new FaucetPayload(1)), "per account");

        // Spending it does not refill it.
        Assert.True(h.Send(_alice, LedgerMessageTypes.Transfer, new TransferPayload(_bob.AccountId.Value, 25 * K)).Applied);
        AssertRefused(h, () => h.Send(_alice, LedgerMessageTypes.Faucet, new FaucetPayload(1)), "per account");
        Assert.True(h.Faucet(_bob, 10).Applied);
    }

    [Fact]
    public void A_network_without_a_faucet_refuses_faucet_requests()
    {
        var h = new LedgerHarness(Genesis.Network("kumo-test", LedgerHarness.Start, [new GenesisAllocation(_alice.AccountId.Value, 100 * K)]));

        AssertRefused(h, () => h.Faucet(_bob, 1), "this network has no faucet (devnet only)");
        Assert.Equal(100 * K, h.State.Totals().Minted);
    }
}
