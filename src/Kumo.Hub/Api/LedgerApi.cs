using System.Text;
using System.Text.Json;
using Kumo.Hub.Auth;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Ledger;
using Kumo.Ledger.Blocks;
using Kumo.Ledger.State;
using Kumo.Ledger.Transactions;
using Kumo.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Kumo.Hub.Api;

/// <summary>The ledger's endpoints: submit signed transactions; read accounts, history, blocks and the summary.</summary>
public static class LedgerApi
{
    public static void MapLedgerApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder ledger = app.MapGroup("/v1/ledger").WithTags("ledger");

        ledger.MapPost("/transactions", async (HttpContext http, EnvelopeAuthenticator auth, LedgerService service, CancellationToken ct) =>
            {
                SignedEnvelope envelope = CheckLedgerEnvelope(await HubApi.ReadBodyAsync(http, 1 << 20, ct), auth);
                try
                {
                    LedgerReceipt receipt = await service.SubmitAsync(at => LedgerTx.FromSigned(envelope, at), null, ct);
                    return Results.Ok(new TxReceiptView(receipt.Hash, receipt.Height, receipt.Index, receipt.Kind));
                }
                catch (LedgerRefusedException e)
                {
                    throw LedgerProblems.From(e);
                }
            })
            .Accepts<SignedEnvelope>("application/json").Produces<TxReceiptView>()
            .WithSummary("Submit a signed ledger transaction (transfer, bond, unbond, withdraw, faucet, escrow top-up/withdrawal, slash report); answers once its block is committed.");

        ledger.MapPost("/transactions/batch", async (HttpContext http, EnvelopeAuthenticator auth, LedgerService service, CancellationToken ct) =>
            {
                byte[] body = await HubApi.ReadBodyAsync(http, 16 << 20, ct);
                List<JsonElement> items;
                try
                {
                    items = JsonSerializer.Deserialize<List<JsonElement>>(body) ?? [];
                }
                catch (JsonException e)
                {
                    throw ApiProblem.BadRequest("malformed_batch", $"a batch is a JSON array of signed envelopes: {e.Message}");
                }

                if (items.Count is 0 or > MaxBatch)
                {
                    throw ApiProblem.BadRequest("batch_size", $"a batch holds 1..{MaxBatch} transactions, not {items.Count}");
                }

                // Each transaction is checked and sequenced on its own: one refusal does not sink the others.
                var pending = new Task<LedgerReceipt>?[items.Count];
                var results = new BatchItemResult?[items.Count];
                for (int i = 0; i < items.Count; i++)
                {
                    try
                    {
                        SignedEnvelope envelope = CheckLedgerEnvelope(items[i], auth);
                        pending[i] = service.SubmitAsync(at => LedgerTx.FromSigned(envelope, at), null, ct);
                    }
                    catch (ApiProblem problem)
                    {
                        results[i] = new BatchItemResult(null, problem.Code, problem.Message);
                    }
                }

                for (int i = 0; i < items.Count; i++)
                {
                    if (pending[i] is not { } task)
                    {
                        continue;
                    }

                    try
                    {
                        LedgerReceipt receipt = await task;
                        results[i] = new BatchItemResult(new TxReceiptView(receipt.Hash, receipt.Height, receipt.Index, receipt.Kind), null, null);
                    }
                    catch (LedgerRefusedException e)
                    {
                        ApiProblem problem = LedgerProblems.From(e);
                        results[i] = new BatchItemResult(null, problem.Code, problem.Message);
                    }
                }

                return Results.Ok(results);
            })
            .Accepts<SignedEnvelope[]>("application/json").Produces<BatchItemResult[]>()
            .WithSummary($"Submit up to {MaxBatch} signed ledger transactions at once; each is checked, applied and committed on its own and gets its own receipt or problem.");

        ledger.MapGet("/accounts/{address}", (string address, LedgerService service) => Account(service, Parse(address)))
            .Produces<AccountView>().WithSummary("Balance; for a user its stake, unbonding entries and open escrows.");

        ledger.MapGet("/accounts/{address}/history", async (string address, int? limit, IHubStore store, LedgerService service, CancellationToken ct) =>
            {
                LedgerAddress parsed = Parse(address);
                await using IHubReader reader = await store.OpenReaderAsync(ct);
                var entries = new List<HistoryEntry>();
                foreach (LedgerPostingRow p in await reader.ListPostingsAsync(parsed.Value, Math.Clamp(limit ?? 50, 1, 1000)))
                {
                    var entry = new HistoryEntry(p.Height, p.Index, p.TxHash, p.Kind, p.Delta, DateTimeOffset.FromUnixTimeMilliseconds(p.Time));
                    long refunded = p.Kind == HistoryKinds.SlashReport && p.Delta > 0 && parsed.Kind == AccountKind.User
                        ? RestitutionTo(service, parsed.Value, await reader.GetLedgerTxAsync(p.TxHash))
                        : 0;
                    if (refunded > 0)
                    {
                        // A slash that refunded this tenant: the refund is its own entry, the rest (a bounty) stays the slash's.
                        entries.Add(entry with { Kind = HistoryKinds.Restitution, Delta = refunded });
                        entry = entry with { Delta = p.Delta - refunded };
                    }

                    if (entry.Delta != 0)
                    {
                        entries.Add(entry);
                    }
                }

                return entries;
            })
            .WithSummary("An account's postings, newest first; a slash's refund of a tenant shows as its own `restitution` entry.");

        ledger.MapGet("/summary", (LedgerService service) =>
            {
                Genesis g = service.Genesis;
                return new LedgerSummary(g.ChainId, service.Height, service.HeadHash, service.Read(s => s.Totals()), g.NetworkFeeBps, g.ReserveBps,
                    g.MinBondPerDevice, g.UnbondingPeriodMs, g.SettlementIntervalMs, g.Faucet is not null);
            })
            .WithSummary("Totals by kind (minted, users, escrow, stake, reserve, fee pool, burned, rewards, replication pool), height and rules.");

        ledger.MapGet("/genesis", (LedgerService service) => Results.Text(service.Genesis.ToJson(), "application/json"))
            .WithSummary("The genesis: every rule that creates or moves money without a signature.");

        ledger.MapGet("/blocks", async (long? before, int? limit, IHubStore store, CancellationToken ct) =>
            {
                await using IHubReader reader = await store.OpenReaderAsync(ct);
                return (await reader.ListLedgerHeadersAsync(before, Math.Clamp(limit ?? 20, 1, 500)))
                    .Select(b => new BlockView(b.Hash, BlockHeader.Parse(b.Header), null)).ToList();
            })
            .WithSummary("Block headers, newest first.");

        ledger.MapGet("/blocks/{height:long}", async (long height, IHubStore store, CancellationToken ct) =>
            {
                await using IHubReader reader = await store.OpenReaderAsync(ct);
                LedgerBlockRow block = (await reader.ListLedgerHeadersAsync(height + 1, 1)).FirstOrDefault(b => b.Height == height)
                    ?? throw ApiProblem.NotFound("unknown_block", $"no block {height}");
                IReadOnlyList<LedgerTxRow> txs = await reader.ListLedgerTxsAsync(height);
                return new BlockView(block.Hash, BlockHeader.Parse(block.Header), [.. txs.Select(ToView)]);
            })
            .WithSummary("One block with its transactions.");

        ledger.MapGet("/transactions/{hash}", async (string hash, IHubStore store, CancellationToken ct) =>
            {
                await using IHubReader reader = await store.OpenReaderAsync(ct);
                LedgerTxRow tx = await reader.GetLedgerTxAsync(hash) ?? throw ApiProblem.NotFound("unknown_transaction", $"no ledger transaction {hash}");
                return ToView(tx);
            })
            .WithSummary("One transaction by hash.");
    }

    private const int MaxBatch = 1000;

    private static SignedEnvelope CheckLedgerEnvelope(JsonElement item, EnvelopeAuthenticator auth)
    {
        SignedEnvelope envelope;
        try
        {
            envelope = item.Deserialize<SignedEnvelope>(Kumo.Serialization.KumoJson.Options) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest("malformed_envelope", $"malformed signed envelope: {e.Message}");
        }

        return CheckLedgerEnvelope(envelope, auth);
    }

    /// <summary>A signed ledger transaction (not a job submission), with a valid fresh signature; or an <see cref="ApiProblem"/>.</summary>
    private static SignedEnvelope CheckLedgerEnvelope(byte[] body, EnvelopeAuthenticator auth) =>
        SignedEnvelope.TryParse(body, out SignedEnvelope? envelope, out string? error)
            ? CheckLedgerEnvelope(envelope, auth)
            : throw ApiProblem.BadRequest("malformed_envelope", error);

    private static SignedEnvelope CheckLedgerEnvelope(SignedEnvelope envelope, EnvelopeAuthenticator auth)
    {
        if (!LedgerMessageTypes.All.Contains(envelope.Type) || envelope.Type == LedgerMessageTypes.EscrowLock)
        {
            throw ApiProblem.BadRequest("wrong_message_type",
                $"'{envelope.Type}' is not a ledger transaction (jobs, which lock escrow, go to POST /v1/jobs)", "type");
        }

        auth.Verify(envelope, envelope.Type);
        return envelope;
    }

    /// <summary>What the slash report <paramref name="tx"/> refunded <paramref name="account"/> as the tenant its verdict names (0: nothing).</summary>
    private static long RestitutionTo(LedgerService service, string account, LedgerTxRow? tx)
    {
        if (tx is null || LedgerTx.Parse(tx.Body).Signed is not { } signed)
        {
            return 0;
        }

        SlashReportPayload report = signed.PayloadAs<SlashReportPayload>();
        Protocol.Restitution? asked = report.Evidence.Where(e => e.Type == MessageTypes.VerificationVerdict)
            .Select(e => e.PayloadAs<Protocol.VerificationVerdict>().Restitution).FirstOrDefault(r => r is not null);
        if (asked is null || asked.Tenant != account || !Crypto.AccountId.TryParse(report.Offender, out Crypto.AccountId offender, out _))
        {
            return 0;
        }

        return service.Read(state => state.Restitution(asked.JobId, offender)?.Amount ?? 0);
    }

    private static LedgerAddress Parse(string address) =>
        LedgerAddress.TryParse(address, out LedgerAddress parsed, out string error)
            ? parsed
            : throw ApiProblem.BadRequest("invalid_account", error, "address");

    private static AccountView Account(LedgerService service, LedgerAddress address) => service.Read(state =>
    {
        Crypto.AccountId? user = address.Kind == AccountKind.User ? Crypto.AccountId.Parse(address.Value) : null;
        var escrows = new List<EscrowView>();
        if (user is { } owner)
        {
            foreach (EscrowInfo e in state.Escrows.Where(e => e.Owner == owner && !e.Closed))
            {
                escrows.Add(ToView(state, e));
            }
        }
        else if (address.Kind == AccountKind.Escrow && state.Escrow(address.Value["escrow:".Length..]) is { } escrow)
        {
            escrows.Add(ToView(state, escrow));
        }

        return new AccountView(address.Value, address.Kind, state.Balance(address),
            user is { } staker ? state.Bonded(staker) : 0,
            user is { } s ? state.Unbonding(s) : [],
            escrows);
    });

    private static EscrowView ToView(LedgerState state, EscrowInfo e)
    {
        List<LeaseCursor> leases = [.. e.OpenLeaseIds.Select(id => state.Lease(id)!)];
        return new EscrowView(e.OrderId, state.Balance(LedgerAddress.Escrow(e.OrderId)), e.Locked, e.Closed, e.OpenLeaseIds,
            leases.Count == 0 ? null : leases.Sum(l => l.PricePerHour), leases.Count == 0 ? null : leases.Sum(l => l.GrossPaid));
    }

    private static TxView ToView(LedgerTxRow tx) =>
        new(tx.Hash, tx.Height, tx.Index, tx.Kind, tx.Signer, JsonDocument.Parse(Encoding.UTF8.GetString(tx.Body)).RootElement.Clone());
}
