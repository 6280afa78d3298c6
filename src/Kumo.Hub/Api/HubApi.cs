using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Control;
using Kumo.Hub.Jobs;
using Kumo.Hub.Leases;
using Kumo.Hub.Providers;
using Kumo.Hub.Storage;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Kumo.Hub.Api;

/// <summary>
/// The REST API, version 1. Every request that changes state is a <see cref="SignedEnvelope"/> body; reads are
/// open. Errors are RFC 7807 problem+json with a stable <c>code</c>. The OpenAPI document is at /openapi/v1.json.
/// </summary>
public static class HubApi
{
    private const int MaxEnvelopeBytes = 1 << 20;

    public static void MapHubApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder v1 = app.MapGroup("/v1");

        v1.MapGet("/health", async (IHubStore store, ProviderSessions sessions, CancellationToken ct) =>
                new HealthView("ok", HubInfo.Version, await store.GetSchemaVersionAsync(ct), sessions.Count))
            .WithTags("system").WithSummary("Liveness, version, schema version and connected providers.");

        v1.MapPost("/noop", () => Results.NoContent())
            .WithTags("system").WithSummary("Does nothing, unsigned: the anchor the heartbeat benchmark compares against.");

        // ---- providers -----------------------------------------------------------------------------------
        v1.MapGet("/providers", (ProviderService providers, CancellationToken ct) => providers.ListAsync(ct))
            .WithTags("providers").WithSummary("Every registered provider, with free capacity; simulated GPUs are marked.");

        v1.MapGet("/providers/{id}", (string id, ProviderService providers, CancellationToken ct) => providers.GetAsync(id, ct))
            .WithTags("providers");

        v1.MapPost("/providers", async (HttpContext http, EnvelopeAuthenticator auth, ProviderService providers, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await ReadBodyAsync(http, MaxEnvelopeBytes, ct), MessageTypes.ProviderRegister);
                return Results.Ok(await providers.RegisterAsync(envelope, ct));
            })
            .Accepts<SignedEnvelope>("application/json").Produces<ProviderView>()
            .WithTags("providers").WithSummary("Register or update a provider (signed ProviderRegistration).");

        v1.MapPost("/providers/{id}/heartbeats", async (string id, HttpContext http, EnvelopeAuthenticator auth, ProviderService providers, LeaseCoordinator leases, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await ReadBodyAsync(http, MaxEnvelopeBytes, ct), MessageTypes.ProviderHeartbeat);
                if (envelope.Signer.Value != id)
                {
                    throw ApiProblem.Forbidden("wrong_signer", $"heartbeat for {id} signed by {envelope.Signer}");
                }

                await providers.HeartbeatAsync(envelope, leases, ct);
                return Results.NoContent();
            })
            .Accepts<SignedEnvelope>("application/json")
            .WithTags("providers").WithSummary("A signed heartbeat (agents normally send these over the control channel).");

        v1.Map("/providers/channel", (HttpContext http, ControlChannel channel) => channel.HandleAsync(http))
            .WithTags("providers").WithSummary("The provider control channel (WebSocket).");

        // ---- jobs ----------------------------------------------------------------------------------------
        v1.MapPost("/jobs", async (HttpContext http, EnvelopeAuthenticator auth, JobService jobs, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await ReadBodyAsync(http, MaxEnvelopeBytes, ct), MessageTypes.JobSubmit);
                JobAccepted accepted = await jobs.SubmitAsync(envelope, ct);
                return Results.Created($"/v1/jobs/{accepted.JobId}", accepted);
            })
            .Accepts<SignedEnvelope>("application/json").Produces<JobAccepted>(StatusCodes.Status201Created)
            .WithTags("jobs").WithSummary("Submit a job (signed JobSubmission with the normalized spec).");

        v1.MapGet("/jobs", (string? tenant, int? limit, JobService jobs, CancellationToken ct) => jobs.ListAsync(tenant, limit ?? 50, ct))
            .WithTags("jobs").WithSummary("Newest jobs first, optionally of one tenant.");

        v1.MapGet("/jobs/{id}", (string id, JobService jobs, CancellationToken ct) => jobs.GetAsync(id, ct))
            .WithTags("jobs").WithSummary("A job with its leases, outputs and event timeline.");

        v1.MapPost("/jobs/{id}/cancel", async (string id, HttpContext http, EnvelopeAuthenticator auth, JobService jobs, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await ReadBodyAsync(http, MaxEnvelopeBytes, ct), MessageTypes.JobCancel);
                return Results.Ok(await jobs.CancelAsync(id, envelope, ct));
            })
            .Accepts<SignedEnvelope>("application/json").Produces<JobView>()
            .WithTags("jobs").WithSummary("Cancel a job (signed JobCancellation); its workload is killed.");

        v1.MapGet("/jobs/{id}/logs", async (string id, long? after, bool? follow, int? limit, HttpContext http, JobService jobs, HubSignals signals, CancellationToken ct) =>
            {
                long from = Math.Max(after ?? 0, LastEventId(http));
                if (follow != true)
                {
                    (IReadOnlyList<LogEntry> lines, _) = await jobs.ReadLogsAsync(id, from, Math.Clamp(limit ?? 1000, 1, 10_000), ct);
                    return Results.Ok(lines);
                }

                await jobs.GetAsync(id, ct); // 404 before the stream starts
                return TypedResults.ServerSentEvents(FollowAsync(id, from, jobs, signals, ct));
            })
            .WithTags("jobs").WithSummary("Log lines after a sequence number; with follow=true a server-sent event stream that ends with an 'end' event when the job ends.");

        // ---- content -------------------------------------------------------------------------------------
        v1.MapPost("/content/uploads", async (HttpContext http, EnvelopeAuthenticator auth, ContentStore content, CancellationToken ct) =>
            {
                SignedEnvelope envelope = auth.Authenticate(await ReadBodyAsync(http, 8 << 20, ct), MessageTypes.UploadCreate);
                return Results.Ok(await content.CreateUploadAsync(envelope, ct));
            })
            .Accepts<SignedEnvelope>("application/json").Produces<UploadView>()
            .WithTags("content").WithSummary("Announce an upload (signed UploadRequest: root CID, size, leaf CIDs); returns the chunks the hub still needs.");

        v1.MapGet("/content/uploads/{uploadId}", (string uploadId, ContentStore content, CancellationToken ct) => content.GetUploadAsync(uploadId, ct))
            .WithTags("content").WithSummary("Which chunks of an upload are still missing.");

        v1.MapPut("/content/uploads/{uploadId}/chunks/{index:int}", (string uploadId, int index, HttpContext http, ContentStore content, CancellationToken ct) =>
                content.PutChunkAsync(uploadId, index, http.Request.Body, ct))
            .Accepts<byte[]>("application/octet-stream").Produces<UploadView>()
            .WithTags("content").WithSummary("One 256 KiB chunk, checked against its leaf CID before it is kept.");

        v1.MapPost("/content/uploads/{uploadId}/complete", (string uploadId, ContentStore content, CancellationToken ct) => content.CompleteUploadAsync(uploadId, ct))
            .WithTags("content").WithSummary("Assemble a fully received upload; the object becomes visible at once or not at all.");

        v1.MapMethods("/content/{cid}", ["GET", "HEAD"], async (string cid, ContentStore content, CancellationToken ct) =>
            {
                (ContentRecord record, string path) = await content.OpenAsync(cid, ct);
                return Results.File(path, "application/octet-stream", fileDownloadName: null,
                    entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue($"\"{record.Cid}\""), enableRangeProcessing: true);
            })
            .WithTags("content").WithSummary("Download a stored object (supports Range requests for resuming).");
    }

    private static async IAsyncEnumerable<SseItem<object>> FollowAsync(string jobId, long after, JobService jobs, HubSignals signals, [EnumeratorCancellation] CancellationToken ct)
    {
        long last = after;
        while (!ct.IsCancellationRequested)
        {
            Task change = signals.NextJobChange(jobId);
            (IReadOnlyList<LogEntry> lines, JobState state) = await jobs.ReadLogsAsync(jobId, last, 1000, ct);
            foreach (LogEntry line in lines)
            {
                last = line.Seq;
                yield return new SseItem<object>(line, "log") { EventId = line.Seq.ToString(System.Globalization.CultureInfo.InvariantCulture) };
            }

            if (lines.Count == 1000)
            {
                continue;
            }

            if (state.IsFinal())
            {
                JobView view = await jobs.GetAsync(jobId, ct);
                yield return new SseItem<object>(new LogStreamEnd(view.State, view.Failure), "end");
                yield break;
            }

            // Wake on news, or every 15 s to send a keep-alive so proxies keep the stream open.
            Task finished = await Task.WhenAny(change, Task.Delay(TimeSpan.FromSeconds(15), ct));
            if (finished != change && !ct.IsCancellationRequested)
            {
                yield return new SseItem<object>(new { }, "ping");
            }
        }
    }

    private static long LastEventId(HttpContext http) =>
        long.TryParse(http.Request.Headers["Last-Event-ID"].ToString(), out long id) ? id : 0;

    internal static async Task<byte[]> ReadBodyAsync(HttpContext http, int max, CancellationToken ct)
    {
        if (http.Request.ContentLength > max)
        {
            throw ApiProblem.TooLarge("body_too_large", $"request body over {max} bytes");
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16384];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, ct)) > 0)
        {
            buffer.Write(chunk, 0, read);
            if (buffer.Length > max)
            {
                throw ApiProblem.TooLarge("body_too_large", $"request body over {max} bytes");
            }
        }

        return buffer.ToArray();
    }
}

public sealed record HealthView(string Status, string Version, int SchemaVersion, int ConnectedProviders);
