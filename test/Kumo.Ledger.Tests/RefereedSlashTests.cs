using Kumo.Crypto;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Ledger.Tests;

/// <summary>Slashes on a referee's verdict (lost dispute, failed hardware proof, wrong canary), traceable to what the offender signed.</summary>
public class RefereedSlashTests
{
    private const long K = Amounts.MicrosPerKumo;

    private sealed class Setup : IDisposable
    {
        public Setup(bool withReferee = true)
        {
            H = new LedgerHarness(Genesis.Devnet(LedgerHarness.Start) with { Referee = withReferee ? Referee.AccountId.Value : null });
            H.Faucet(Provider, 1000);
            Assert.True(H.Send(Provider, LedgerMessageTypes.Bond, new BondPayload(1000 * K)).Applied);
            Claim = H.Sign(Provider, MessageTypes.LeaseCheckpoint, new LeaseCheckpointReport("l-1", [], 42));
        }

        public LedgerHarness H { get; }

        public AccountKey Referee { get; } = AccountKey.Create();

        public AccountKey Provider { get; } = AccountKey.Create();

        public AccountKey Validator { get; } = AccountKey.Create();

        public AccountKey Reporter { get; } = AccountKey.Create();

        public SignedEnvelope Claim { get; }

        public SignedEnvelope Verdict(AccountKey signer, string offender, params SignedEnvelope[] cited) =>
            H.Sign(signer, MessageTypes.VerificationVerdict, new VerificationVerdict("dispute", offender, Validator.AccountId.Value, "job j-1/segment 3",
                [.. cited.Select(c => c.Digest())], "operator 17 of step 1204: the provider's output differs from the recomputation"));

        public ApplyResult Report(params SignedEnvelope[] evidence) =>
            H.Send(Reporter, LedgerMessageTypes.SlashReport, new SlashReportPayload(Provider.AccountId.Value, "refereed", evidence));

        public void Dispose()
        {
            Referee.Dispose();
            Provider.Dispose();
            Validator.Dispose();
            Reporter.Dispose();
        }
    }

    [Fact]
    public void A_referee_verdict_slashes_once_and_the_winner_gets_the_bounty()
    {
        using var s = new Setup();

        ApplyResult slashed = s.Report(s.Verdict(s.Referee, s.Provider.AccountId.Value, s.Claim), s.Claim);

        Assert.True(slashed.Applied, slashed.Error);
        Assert.Equal(50 * K, s.H.Balance(s.Validator)); // 10% of 1000 slashed, half to the winner named in the verdict
        Assert.Equal(0, s.H.Balance(s.Reporter));
        Assert.Equal(900 * K, s.H.State.Bonded(s.Provider.AccountId));
        ApplyResult again = s.Report(s.Verdict(s.Referee, s.Provider.AccountId.Value, s.Claim), s.Claim);
        Assert.False(again.Applied);
        Assert.Contains("already slashed", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_verdict_not_signed_by_the_referee_is_refused()
    {
        using var s = new Setup();

        ApplyResult refused = s.Report(s.Verdict(s.Validator, s.Provider.AccountId.Value, s.Claim), s.Claim);

        Assert.False(refused.Applied);
        Assert.Contains("not by the referee", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_verdict_citing_a_statement_the_report_lacks_or_someone_else_signed_is_refused()
    {
        using var s = new Setup();
        SignedEnvelope forged = s.H.Sign(s.Validator, MessageTypes.LeaseCheckpoint, new LeaseCheckpointReport("l-1", [], 42));

        ApplyResult missing = s.Report(s.Verdict(s.Referee, s.Provider.AccountId.Value, s.Claim));
        ApplyResult notTheirs = s.Report(s.Verdict(s.Referee, s.Provider.AccountId.Value, forged), forged);

        Assert.False(missing.Applied);
        Assert.Contains("which the report does not carry", missing.Error, StringComparison.Ordinal);
        Assert.False(notTheirs.Applied);
        Assert.Contains("not by the offender", notTheirs.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_verdict_against_someone_else_or_on_a_network_without_a_referee_is_refused()
    {
        using var s = new Setup();
        ApplyResult other = s.Report(s.Verdict(s.Referee, s.Validator.AccountId.Value, s.Claim), s.Claim);
        Assert.False(other.Applied);
        Assert.Contains("is against", other.Error, StringComparison.Ordinal);

        using var none = new Setup(withReferee: false);
        ApplyResult noReferee = none.Report(none.Verdict(none.Referee, none.Provider.AccountId.Value, none.Claim), none.Claim);
        Assert.False(noReferee.Applied);
        Assert.Contains("names no referee", noReferee.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refereed_slash_audits_clean_and_a_genesis_without_a_referee_keeps_its_bytes()
    {
        using var s = new Setup();
        Assert.True(s.Report(s.Verdict(s.Referee, s.Provider.AccountId.Value, s.Claim), s.Claim).Applied);
        s.H.Seal();

        Assert.True(s.H.Audit().Ok);
        Assert.DoesNotContain("referee", Genesis.Devnet(0).ToJson(), StringComparison.Ordinal);
    }
}
