using Kumo.Client;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Hub.Tests.Support;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>The hub's referee: a new network's genesis names it, and its verdicts slash through the ledger, auditable.</summary>
public class RefereeTests
{
    private const long K = Amounts.MicrosPerKumo;

    [Fact]
    public async Task A_verdict_slashes_the_offender_pays_the_winner_and_the_chain_audits_with_its_evidence()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RefereeService referee = hub.Services.GetRequiredService<RefereeService>();
        Assert.True(referee.CanSlash);
        Assert.Equal(referee.AccountId.Value, hub.Ledger.Genesis.Referee);

        RequestSigner provider = await hub.TenantAsync(200);
        await hub.Client.SubmitLedgerAsync(provider, LedgerMessageTypes.Bond, new BondPayload(100 * K));
        RequestSigner validator = HubFixture.NewSigner();
        SignedEnvelope claim = provider.Sign(MessageTypes.LeaseCheckpoint, new LeaseCheckpointReport("l-1", [], 1));

        LedgerReceipt? receipt = await referee.SlashAsync("dispute", provider.AccountId, validator.AccountId, "job j-1/segment 4",
            "step 17, operator 3: output differs from the recomputation", [claim], CancellationToken.None);

        Assert.NotNull(receipt);
        Assert.Equal(90 * K, (await hub.Client.GetAccountAsync(provider.AccountId.Value)).Bonded);
        Assert.Equal(5 * K, (await hub.Client.GetAccountAsync(validator.AccountId.Value)).Balance);
        await Assert.ThrowsAsync<LedgerRefusedException>(() => referee.SlashAsync("dispute", provider.AccountId, validator.AccountId,
            "job j-1/segment 4", "again", [claim], CancellationToken.None));

        using var source = new SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        AuditReport audit = new Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString());
    }
}
