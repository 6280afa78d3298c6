using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Client;
using Kumo.Hub.Storage.Sqlite;
using Kumo.Hub.Tests.Support;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Ledger;
using Kumo.Ledger.Audit;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Hub.Tests;

public class LedgerApiTests
{
    private const long K = Amounts.MicrosPerKumo;

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HubFixture hub, string json)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        using HttpResponseMessage response = await http.PostAsync("v1/ledger/transactions", new StringContent(json, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text).RootElement.Clone());
    }

    private static Task<(HttpStatusCode Status, JsonElement Body)> SendAsync<T>(HubFixture hub, RequestSigner signer, string type, T payload) =>
        PostAsync(hub, signer.Sign(type, payload).ToJson());

    private static void AssertProblem((HttpStatusCode Status, JsonElement Body) response, HttpStatusCode status, string code, string fragment)
    {
        Assert.True(response.Status == status, $"expected {status}, got {response.Status}: {response.Body}");
        Assert.Equal(code, response.Body.GetProperty("code").GetString());
        Assert.Contains(fragment, response.Body.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transfer_lands_in_a_block_and_shows_in_balances_history_and_blocks()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner alice = await hub.TenantAsync(100);
        RequestSigner bob = HubFixture.NewSigner();

        TxReceiptView receipt = await hub.Client.SubmitLedgerAsync(alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 40 * K));

        Assert.Equal(60 * K, (await hub.Client.GetAccountAsync(alice.AccountId.Value)).Balance);
        Assert.Equal(40 * K, (await hub.Client.GetAccountAsync(bob.AccountId.Value)).Balance);
        HistoryEntry entry = Assert.Single(await hub.Client.GetHistoryAsync(bob.AccountId.Value));
        Assert.Equal((receipt.Hash, "transfer", 40 * K), (entry.TxHash, entry.Kind, entry.Delta));
        BlockView block = await hub.Client.GetBlockAsync(receipt.Height);
        Assert.Contains(block.Transactions!, t => t.Hash == receipt.Hash);
        Assert.True((await hub.Client.GetLedgerSummaryAsync()).Totals.Conserved);
    }

    [Fact]
    public async Task Every_bad_transaction_is_refused_with_a_clear_reason()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner alice = await hub.TenantAsync(100);
        RequestSigner bob = HubFixture.NewSigner();

        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 101 * K)),
            HttpStatusCode.PaymentRequired, "insufficient_funds", "has 100 KUMO, needs 101 KUMO");
        string typo = bob.AccountId.Value[..^2] + "qq";
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Transfer, new TransferPayload(typo, K)),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "cannot transfer to");
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 0)),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "must be positive");
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, -5)),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "must be positive");
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Unbond, new UnbondPayload(K)),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "only 0 KUMO is bonded");
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.Withdraw, new WithdrawPayload()),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "nothing to withdraw yet");
        AssertProblem(await SendAsync(hub, alice, LedgerMessageTypes.SlashReport, new SlashReportPayload(bob.AccountId.Value, "double_result", [])),
            HttpStatusCode.UnprocessableContent, "ledger_refused", "exactly two signed results");

        // Above 2^53−1 (let alone long.MaxValue) an amount has no canonical JSON form, so no valid signature can cover it.
        JsonNode huge = JsonNode.Parse(alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 1)).ToJson())!;
        huge["payload"]!["amount"] = JsonNode.Parse("92233720368547758070");
        AssertProblem(await PostAsync(hub, huge.ToJsonString()), HttpStatusCode.Unauthorized, "invalid_signature", "2^53");

        JsonNode forged = JsonNode.Parse(alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 1)).ToJson())!;
        forged["payload"]!["amount"] = 90 * K;
        AssertProblem(await PostAsync(hub, forged.ToJsonString()), HttpStatusCode.Unauthorized, "invalid_signature", "does not match");

        SignedEnvelope once = alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, K));
        Assert.Equal(HttpStatusCode.OK, (await PostAsync(hub, once.ToJson())).Status);
        AssertProblem(await PostAsync(hub, once.ToJson()), HttpStatusCode.Conflict, "replayed_nonce", "replay");

        AssertProblem(await PostAsync(hub, alice.Sign(MessageTypes.JobSubmit, new { spec = new { } }).ToJson()),
            HttpStatusCode.BadRequest, "wrong_message_type", "POST /v1/jobs");

        Assert.Equal(99 * K, (await hub.Client.GetAccountAsync(alice.AccountId.Value)).Balance); // only the good transfer moved money
    }

    [Fact]
    public async Task A_job_without_money_for_its_escrow_is_refused_with_what_it_needs()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner poor = await hub.TenantAsync(1);
        string spec = Specs.Wire(Specs.Yaml(price: "5", timeout: "1h")); // locks 5 KUMO

        var error = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.SubmitJobAsync(poor, spec));

        Assert.Equal(HttpStatusCode.PaymentRequired, error.Status);
        Assert.Contains("has 1 KUMO, needs 5 KUMO", error.Message, StringComparison.Ordinal);
        Assert.Empty(await hub.Client.ListJobsAsync(null));
    }

    [Fact]
    public async Task A_finished_job_pays_its_provider_for_the_time_it_ran_and_refunds_the_rest_at_once()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, pricing: new ProviderPricing(0, 3_600_000, 0)); // 1 µKUMO per ms per core
        RequestSigner tenant = await hub.TenantAsync(100);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(Specs.Yaml(price: "5", timeout: "1h")));
        Assert.Equal(95 * K, (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance); // 5 KUMO/h × 1 h locked

        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Leases[0].AcceptedAt is not null, "acceptance");
        await hub.ReconcileAsync(); // lease_open at the acceptance time
        hub.Clock.Advance(TimeSpan.FromSeconds(20));
        await provider.ResultAsync(offer.LeaseId, CloseReason.Completed, 0);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Succeeded, "success");
        await hub.ReconcileAsync(); // lease_close at the close time
        await hub.ReconcileAsync(); // refund

        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        long ran = job.Leases[0].ClosedAt!.Value.ToUnixTimeMilliseconds() - job.Leases[0].AcceptedAt!.Value.ToUnixTimeMilliseconds();
        long gross = ran; // 1 µKUMO per ms
        Assert.Equal((100 * K) - gross, (await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Balance);
        Assert.Empty((await hub.Client.GetAccountAsync(tenant.AccountId.Value)).Escrows);
        LedgerSummary summary = await hub.Client.GetLedgerSummaryAsync();
        Assert.Equal(gross * 225 / 10_000, summary.Totals.FeePool + summary.Totals.Reserve);
        Assert.True(summary.Totals.Conserved);
    }

    [Fact]
    public async Task An_escrow_that_runs_dry_closes_the_lease_as_insufficient_funds_and_stops_the_provider()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, pricing: new ProviderPricing(0, 3_600_000, 0));
        RequestSigner tenant = await hub.TenantAsync(100);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(Specs.Yaml(price: "5", timeout: "1h")));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.State == JobState.Running, "running");
        await hub.ReconcileAsync();

        // The tenant takes almost everything back: 2 KUMO ... minus 4,990,000 µKUMO leaves 10,000 µKUMO (10 s of run time).
        await hub.Client.SubmitLedgerAsync(tenant, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(accepted.JobId, (5 * K) - 10_000 - 1_000));
        hub.Clock.Advance(TimeSpan.FromSeconds(30));
        await hub.ReconcileAsync(); // the settlement finds the escrow dry

        JobView job = await hub.Client.GetJobAsync(accepted.JobId);
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal(CloseReason.NetworkInsufficientFunds, job.Failure!.Reason);
        Assert.Equal(FaultParty.Network, job.Failure.Party);
        Assert.Contains("escrow-topup", job.Failure.Detail, StringComparison.Ordinal);
        LeaseCancel stop = await provider.ExpectAsync<LeaseCancel>(ChannelMessageTypes.LeaseCancel);
        Assert.Equal(CloseReason.NetworkInsufficientFunds, stop.Reason);
        Assert.True((await hub.Client.GetLedgerSummaryAsync()).Totals.Conserved);
    }

    [Fact]
    public async Task A_provider_without_the_minimum_bond_is_not_offered_work_until_it_bonds()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { Genesis = o.Genesis! with { MinBondPerDevice = 100 * K } });
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner tenant = await hub.TenantAsync(100);

        var refused = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.SubmitJobAsync(tenant, Specs.Simple));
        Assert.Equal("infeasible", refused.Code);
        Assert.Contains("too little stake bonded", refused.Message, StringComparison.Ordinal);

        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Faucet, new FaucetPayload(100 * K));
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Bond, new BondPayload(100 * K));
        await hub.Client.SubmitJobAsync(tenant, Specs.Simple);
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        Assert.NotNull(offer);
    }

    [Fact]
    public async Task Parallel_settlements_top_ups_and_withdrawals_on_one_escrow_never_pay_twice()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, pricing: new ProviderPricing(0, 3_600_000, 0));
        RequestSigner tenant = await hub.TenantAsync(1000);
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(Specs.Yaml(price: "5", timeout: "1h")));
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Leases[0].AcceptedAt is not null, "acceptance");
        await hub.ReconcileAsync();
        long openedAt = hub.Ledger.Read(s => s.Lease(offer.LeaseId)!.OpenedAt);

        // 200 operations at once, while the clock moves: settlements, top-ups, withdrawals, from many threads.
        var work = new List<Task>();
        for (int i = 0; i < 200; i++)
        {
            int n = i;
            hub.Clock.Advance(TimeSpan.FromMilliseconds(37));
            work.Add(Task.Run(async () =>
            {
                try
                {
                    switch (n % 3)
                    {
                        case 0:
                            await hub.Ledger.SubmitAsync(at => LedgerTx.FromProtocol(ProtocolTypes.Settle, new SettleBody(offer.LeaseId), at), null, CancellationToken.None);
                            break;
                        case 1:
                            await hub.Client.SubmitLedgerAsync(tenant, LedgerMessageTypes.EscrowTopUp, new EscrowTopUpPayload(accepted.JobId, 1_000));
                            break;
                        default:
                            await hub.Client.SubmitLedgerAsync(tenant, LedgerMessageTypes.EscrowWithdraw, new EscrowWithdrawPayload(accepted.JobId, 900));
                            break;
                    }
                }
                catch (HubApiException)
                {
                    // A withdrawal may find too little left; refusals are fine, double payment is not.
                }
            }));
        }

        await Task.WhenAll(work);
        await hub.Ledger.SubmitAsync(at => LedgerTx.FromProtocol(ProtocolTypes.Settle, new SettleBody(offer.LeaseId), at), null, CancellationToken.None);

        var (grossPaid, settledUntil) = hub.Ledger.Read(s => (s.Lease(offer.LeaseId)!.GrossPaid, s.Lease(offer.LeaseId)!.SettledUntil));
        Assert.Equal(settledUntil - openedAt, grossPaid); // exactly the time run at 1 µKUMO/ms: never twice, never skipped
        LedgerSummary summary = await hub.Client.GetLedgerSummaryAsync();
        Assert.True(summary.Totals.Conserved);
        long providerBalance = (await hub.Client.GetAccountAsync(provider.Id)).Balance;
        Assert.Equal(grossPaid, providerBalance - summary.Totals.Rewards + summary.Totals.FeePool + summary.Totals.Reserve);
    }

    [Fact]
    public async Task The_hubs_database_audits_clean_and_a_single_changed_byte_is_caught()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner alice = await hub.TenantAsync(100);
        for (int i = 0; i < 5; i++)
        {
            await hub.Client.SubmitLedgerAsync(alice, LedgerMessageTypes.Transfer, new TransferPayload(HubFixture.NewSigner().AccountId.Value, K));
        }

        string db = Path.Combine(hub.Options.DataDirectory, "hub.db");
        using (var source = new SqliteLedgerSource(db))
        {
            AuditReport report = new Auditor().Run(source);
            Assert.True(report.Ok, report.ToString());
            Assert.True(report.Transactions >= 6);
        }

        // Change one byte of one stored transaction (a digit of an amount), directly in the database.
        await using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={db}"))
        {
            await connection.OpenAsync();
            await using var read = connection.CreateCommand();
            read.CommandText = "SELECT height, idx, body FROM ledger_txs WHERE kind = 'transfer' ORDER BY height DESC LIMIT 1";
            await using var reader = await read.ExecuteReaderAsync();
            await reader.ReadAsync();
            long height = reader.GetInt64(0), idx = reader.GetInt64(1);
            byte[] body = (byte[])reader.GetValue(2);
            await reader.CloseAsync();
            int at = Encoding.UTF8.GetString(body).IndexOf("\"amount\":1000000", StringComparison.Ordinal) + "\"amount\":1".Length;
            body[at] = (byte)'9';
            await using var write = connection.CreateCommand();
            write.CommandText = "UPDATE ledger_txs SET body = $b WHERE height = $h AND idx = $i";
            write.Parameters.AddWithValue("$b", body);
            write.Parameters.AddWithValue("$h", height);
            write.Parameters.AddWithValue("$i", idx);
            await write.ExecuteNonQueryAsync();

            using var source = new SqliteLedgerSource(db);
            AuditReport tampered = new Auditor().Run(source);
            Assert.False(tampered.Ok);
            Assert.Equal(height, tampered.FailedBlock);
            Assert.Contains("transaction root", tampered.Failure, StringComparison.Ordinal);
        }
    }
}

public class LedgerBatchTests
{
    [Fact]
    public async Task A_batch_applies_each_transaction_on_its_own_and_reports_each_outcome()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner alice = await hub.TenantAsync(10);
        RequestSigner bob = HubFixture.NewSigner();
        SignedEnvelope good = alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, Amounts.MicrosPerKumo));
        SignedEnvelope overspend = alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 100 * Amounts.MicrosPerKumo));
        SignedEnvelope forged = good with { Nonce = good.Nonce + 1 };
        SignedEnvelope alsoGood = alice.Sign(LedgerMessageTypes.Transfer, new TransferPayload(bob.AccountId.Value, 2 * Amounts.MicrosPerKumo));

        IReadOnlyList<BatchItemResult> results = await hub.Client.SubmitLedgerBatchAsync([good, overspend, forged, alsoGood, good]);

        Assert.NotNull(results[0].Receipt);
        Assert.Equal("insufficient_funds", results[1].Code);
        Assert.Equal("invalid_signature", results[2].Code);
        Assert.NotNull(results[3].Receipt);
        Assert.Equal("replayed_nonce", results[4].Code);
        Assert.Equal(3 * Amounts.MicrosPerKumo, (await hub.Client.GetAccountAsync(bob.AccountId.Value)).Balance);
    }
}
