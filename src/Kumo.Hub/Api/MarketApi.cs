using System.Text.Json;
using Kumo.Hub.Auth;
using Kumo.Hub.Jobs;
using Kumo.Hub.Market;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Kumo.Hub.Api;

/// <summary>The market's endpoints: plan a job before paying, list and accept bids, network statistics, attestations.</summary>
public static class MarketApi
{
    private const int MaxAttributes = 32;

    public static void MapMarketApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder v1 = app.MapGroup("/v1").WithTags("market");

        v1.MapPost("/plan", async (HttpContext http, MarketService market, CancellationToken ct) =>
            {
                byte[] body = await HubApi.ReadBodyAsync(http, 1 << 20, ct);
                JsonElement spec;
                try
                {
                    using JsonDocument document = JsonDocument.Parse(body);
                    spec = document.RootElement.TryGetProperty("spec", out JsonElement s) ? s.Clone()
                        : throw ApiProblem.BadRequest("malformed_plan", "send {\"spec\": <the job spec in its JSON form>}");
                }
                catch (JsonException e)
                {
                    throw ApiProblem.BadRequest("malformed_plan", $"the body is not JSON: {e.Message}");
                }

                return Results.Ok(await market.PlanAsync(JobService.ParseSpec(spec.GetRawText()), ct));
            })
            .Produces<PlanView>()
            .WithSummary("Feasibility before money: who could run a spec now, what excludes the rest, recent prices, the expected wait. Unsigned; changes nothing.");

        v1.MapGet("/jobs/{id}/bids", (string id, MarketService market, CancellationToken ct) => market.ListBidsAsync(id, ct))
            .Produces<IReadOnlyList<BidView>>()
            .WithSummary("A job's bids and declines, every order attempt, with prices, allocated models and why any was refused.");

        v1.MapPost("/jobs/{id}/accept", async (string id, HttpContext http, EnvelopeAuthenticator auth, MarketService market, JobService jobs, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await HubApi.ReadBodyAsync(http, 1 << 20, ct), MessageTypes.MarketAccept);
                await market.AcceptAsync(id, envelope, ct);
                return Results.Ok(await jobs.GetAsync(id, ct));
            })
            .Accepts<SignedEnvelope>("application/json").Produces<JobView>()
            .WithSummary("Accept bids by hand (signed BidAcceptance): together they must cover the order's nodes.");

        v1.MapGet("/stats", (MarketService market, CancellationToken ct) => market.StatsAsync(ct))
            .Produces<NetworkStats>()
            .WithSummary("The network at a glance: GPUs, CPUs, H100 and A100 counts and median clearing prices, utilization, open orders.");

        v1.MapPost("/attestations", async (HttpContext http, EnvelopeAuthenticator auth, IHubStore store, TimeProvider time, HubSignals signals, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await HubApi.ReadBodyAsync(http, 1 << 20, ct), MessageTypes.Attestation);
                AttestationStatement statement = envelope.ReadPayload<AttestationStatement>();
                CheckAttributes(statement);
                await using IHubTransaction tx = await store.BeginAsync(ct);
                await auth.RecordNonceAsync(tx, envelope);
                _ = await tx.GetProviderAsync(statement.ProviderId)
                    ?? throw ApiProblem.NotFound("unknown_provider", $"no provider {statement.ProviderId} is registered");
                var sorted = new SortedDictionary<string, string>(statement.Attributes.ToDictionary(), StringComparer.Ordinal);
                await tx.UpsertAttestationAsync(new AttestationRecord(statement.ProviderId, envelope.Signer.Value,
                    JsonSerializer.Serialize(sorted, KumoJson.Options), envelope.ToJson(), time.GetUtcNow().ToUnixTimeMilliseconds()));
                await tx.CommitAsync();
                signals.WakeScheduler();
                return Results.NoContent();
            })
            .Accepts<SignedEnvelope>("application/json")
            .WithSummary("An auditor's signed attributes for a provider (AttestationStatement); orders naming that auditor may require them. An empty set withdraws.");
    }

    private static void CheckAttributes(AttestationStatement statement)
    {
        if (statement.Attributes is null || statement.Attributes.Count > MaxAttributes)
        {
            throw ApiProblem.BadRequest("invalid_attestation", $"an attestation holds at most {MaxAttributes} attributes", "payload.attributes");
        }

        foreach ((string key, string value) in statement.Attributes)
        {
            if (!IsAttribute(key) || !IsAttribute(value))
            {
                throw ApiProblem.BadRequest("invalid_attestation",
                    $"attribute '{key}: {value}': keys and values are 1–32 letters, digits, '-', '_' or '.'", "payload.attributes");
            }
        }
    }

    private static bool IsAttribute(string text) =>
        text.Length is > 0 and <= 32 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
