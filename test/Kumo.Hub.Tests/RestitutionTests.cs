using Kumo.Client;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Hub.Tests.Support;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.State;
using Kumo.Protocol;
using static Kumo.Hub.Tests.ResultVerifierTests;

namespace Kumo.Hub.Tests;

/// <summary>A provider caught forging its training pays back, besides its slash, what the tenant paid it for the job.</summary>
public class RestitutionTests
{
    private const long K = Amounts.MicrosPerKumo;

    [Fact]
    public async Task A_forged_train_job_is_caught_and_the_tenant_gets_back_exactly_what_the_provider_was_paid_for_the_lease()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "forger");
        // Four minutes of a 1 KUMO/h lease (within the ledger's ±5 min for what the test's signers sign on the real clock).
        (string jobId, RequestSigner tenant) = await TrainForAsync(hub, provider, Publish.ForgedCommitments, billed: TimeSpan.FromMinutes(4));

        // The lease is closed and settled in the ledger, and the rest of the escrow refunded, before the verdict.
        EscrowInfo? escrow = await Eventually.UntilAsync(async () =>
            {
                await hub.ReconcileAsync();
                return hub.Ledger.Read(s => s.Escrow(jobId));
            }, e => e is { Closed: true }, $"the ledger to close the lease of {jobId} and refund its escrow");
        long paid = hub.Ledger.Read(s => s.PaidFrom(jobId, provider.Signer.AccountId));
        Assert.True(paid > 0, "the provider was paid for its lease");
        long tenantBefore = (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance;
        long providerBefore = (await hub.Client.GetAccountAsync(provider.Id)).Balance;

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Single(job.Events, e => e.Kind == "verification_failed");
        AccountView provided = await hub.Client.GetAccountAsync(provider.Id);
        Assert.Equal(90 * K, provided.Bonded);                 // the slash: 10 % of its stake …
        Assert.Equal(providerBefore - paid, provided.Balance); // … and its pay for the job, from its balance
        // The hub caught it itself, so the tenant is the verdict's winner too: half the slash, plus its money back.
        Assert.Equal(tenantBefore + (5 * K) + paid, (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance);
        JobEvent refunded = Assert.Single(job.Events, e => e.Kind == "restitution");
        Assert.Contains($"refunded {Amounts.Format(paid)}, what the provider was paid for this job", refunded.Detail, StringComparison.Ordinal);

        IReadOnlyList<HistoryEntry> history = await hub.Client.GetHistoryAsync(tenant.AccountId.Value);
        HistoryEntry restitution = Assert.Single(history, h => h.Kind == HistoryKinds.Restitution);
        Assert.Equal(paid, restitution.Delta);
        Assert.Contains(history, h => h.Kind == HistoryKinds.SlashReport && h.TxHash == restitution.TxHash && h.Delta == 5 * K);

        using var source = new SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        AuditReport audit = new Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString());
    }
}
