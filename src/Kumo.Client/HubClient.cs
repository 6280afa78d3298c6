using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Kumo.Content;
using Kumo.Ledger;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Client;

/// <summary>
/// A typed client for the hub's REST API. State-changing calls take a <see cref="RequestSigner"/>; refusals
/// surface as <see cref="HubApiException"/> with the hub's code and message, an unreachable hub as
/// <see cref="HubUnreachableException"/>.
/// </summary>
public sealed class HubClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;

    public HubClient(Uri baseAddress, HttpClient? http = null)
    {
        BaseAddress = baseAddress;
        _ownsHttp = http is null;
        _http = http ?? new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(10),
        })
        { Timeout = Timeout.InfiniteTimeSpan };
    }

    public Uri BaseAddress { get; }

    public static HubClient Create(string url) => new(new Uri(url.TrimEnd('/') + "/"));

    // ---- system ----------------------------------------------------------------------------------------------

    public Task<HealthInfo> GetHealthAsync(CancellationToken ct = default) => GetAsync<HealthInfo>("v1/health", ct);

    // ---- providers -------------------------------------------------------------------------------------------

    public Task<ProviderView> RegisterProviderAsync(RequestSigner signer, ProviderRegistration registration, CancellationToken ct = default) =>
        PostAsync<ProviderView>("v1/providers", signer.Sign(MessageTypes.ProviderRegister, registration), ct);

    public Task<IReadOnlyList<ProviderView>> ListProvidersAsync(CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<ProviderView>>("v1/providers", ct);

    public async Task SendHeartbeatAsync(RequestSigner signer, Heartbeat heartbeat, CancellationToken ct = default) =>
        await SendAsync(HttpMethod.Post, $"v1/providers/{signer.AccountId}/heartbeats", Json(signer.Sign(MessageTypes.ProviderHeartbeat, heartbeat)), ct);

    /// <summary>The WebSocket address of the control channel.</summary>
    public Uri ChannelUri => new UriBuilder(new Uri(BaseAddress, "v1/providers/channel"))
    {
        Scheme = BaseAddress.Scheme == "https" ? "wss" : "ws",
    }.Uri;

    // ---- jobs ------------------------------------------------------------------------------------------------

    public Task<JobAccepted> SubmitJobAsync(RequestSigner signer, string normalizedSpecJson, CancellationToken ct = default)
    {
        using var spec = JsonDocument.Parse(normalizedSpecJson);
        return PostAsync<JobAccepted>("v1/jobs", signer.Sign(MessageTypes.JobSubmit, new JobSubmission(spec.RootElement.Clone())), ct);
    }

    public Task<JobView> GetJobAsync(string jobId, CancellationToken ct = default) =>
        GetAsync<JobView>($"v1/jobs/{Uri.EscapeDataString(jobId)}", ct);

    public Task<IReadOnlyList<JobView>> ListJobsAsync(string? tenant, int limit = 50, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<JobView>>($"v1/jobs?limit={limit}{(tenant is null ? "" : "&tenant=" + Uri.EscapeDataString(tenant))}", ct);

    public Task<JobView> CancelJobAsync(RequestSigner signer, string jobId, CancellationToken ct = default) =>
        PostAsync<JobView>($"v1/jobs/{Uri.EscapeDataString(jobId)}/cancel", signer.Sign(MessageTypes.JobCancel, new JobCancellation(jobId)), ct);

    // ---- market ----------------------------------------------------------------------------------------------

    /// <summary>Feasibility before money for a normalized spec: who could run it, what excludes the rest, prices, wait.</summary>
    public async Task<PlanView> PlanAsync(string normalizedSpecJson, CancellationToken ct = default)
    {
        using var spec = JsonDocument.Parse(normalizedSpecJson);
        using var content = new StringContent(JsonSerializer.Serialize(new { spec = spec.RootElement }, KumoJson.Options), System.Text.Encoding.UTF8, "application/json");
        using HttpResponseMessage response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "v1/plan")) { Content = content }, ct);
        return await ReadAsync<PlanView>(response, ct);
    }

    public Task<IReadOnlyList<BidView>> ListBidsAsync(string jobId, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<BidView>>($"v1/jobs/{Uri.EscapeDataString(jobId)}/bids", ct);

    /// <summary>Accepts bids by hand; together they must cover the order's nodes.</summary>
    public Task<JobView> AcceptBidsAsync(RequestSigner signer, string jobId, IReadOnlyList<string> bidIds, CancellationToken ct = default) =>
        PostAsync<JobView>($"v1/jobs/{Uri.EscapeDataString(jobId)}/accept", signer.Sign(MessageTypes.MarketAccept, new BidAcceptance(jobId, bidIds)), ct);

    public Task<NetworkStats> GetStatsAsync(CancellationToken ct = default) => GetAsync<NetworkStats>("v1/stats", ct);

    /// <summary>Signs, as an auditor, attributes of a provider machine (an empty set withdraws them).</summary>
    public Task AttestAsync(RequestSigner auditor, string providerId, IReadOnlyDictionary<string, string> attributes, CancellationToken ct = default) =>
        SendAsync(HttpMethod.Post, "v1/attestations", Json(auditor.Sign(MessageTypes.Attestation, new AttestationStatement(providerId, attributes))), ct);

    public Task<IReadOnlyList<LogEntry>> GetLogsAsync(string jobId, long after = 0, int limit = 1000, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<LogEntry>>($"v1/jobs/{Uri.EscapeDataString(jobId)}/logs?after={after}&limit={limit}", ct);

    /// <summary>
    /// Follows a job's logs as they are written, ending with a <see cref="LogFollowItem"/> whose <c>End</c> is set
    /// when the job ends. Reconnects after a dropped stream from the last line seen.
    /// </summary>
    public async IAsyncEnumerable<LogFollowItem> FollowLogsAsync(string jobId, long after = 0, [EnumeratorCancellation] CancellationToken ct = default)
    {
        long last = after;
        int failures = 0;
        while (true)
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, $"v1/jobs/{Uri.EscapeDataString(jobId)}/logs?follow=true&after={last}"));
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            HttpResponseMessage response;
            try
            {
                response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            }
            catch (HttpRequestException e)
            {
                if (++failures > 5)
                {
                    throw Unreachable(e);
                }

                await Task.Delay(TimeSpan.FromSeconds(failures), ct);
                continue;
            }

            using (response)
            {
                await EnsureSuccessAsync(response, ct);
                await using Stream stream = await response.Content.ReadAsStreamAsync(ct);
                IAsyncEnumerator<SseItem<string>> events = SseParser.Create(stream).EnumerateAsync(ct).GetAsyncEnumerator(ct);
                bool ended = false;
                try
                {
                    while (true)
                    {
                        bool more;
                        try
                        {
                            more = await events.MoveNextAsync();
                        }
                        catch (Exception e) when (e is IOException or HttpRequestException)
                        {
                            break; // dropped: reconnect from `last`
                        }

                        if (!more)
                        {
                            break;
                        }

                        SseItem<string> item = events.Current;
                        if (item.EventType == "log")
                        {
                            LogEntry entry = JsonSerializer.Deserialize<LogEntry>(item.Data, KumoJson.Options)!;
                            last = entry.Seq;
                            failures = 0;
                            yield return new LogFollowItem(entry, null);
                        }
                        else if (item.EventType == "end")
                        {
                            ended = true;
                            yield return new LogFollowItem(null, JsonSerializer.Deserialize<LogStreamEnd>(item.Data, KumoJson.Options));
                            break;
                        }
                    }
                }
                finally
                {
                    await events.DisposeAsync();
                }

                if (ended)
                {
                    yield break;
                }
            }

            if (++failures > 5)
            {
                throw new HubUnreachableException($"the log stream of {jobId} kept dropping");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200 * failures), ct);
        }
    }

    // ---- ledger ----------------------------------------------------------------------------------------------

    /// <summary>Signs and submits a ledger transaction; returns once its block is committed.</summary>
    public Task<TxReceiptView> SubmitLedgerAsync<T>(RequestSigner signer, string type, T payload, CancellationToken ct = default) =>
        PostAsync<TxReceiptView>("v1/ledger/transactions", signer.Sign(type, payload), ct);

    /// <summary>Submits already signed ledger transactions in one request; each gets its own receipt or refusal.</summary>
    public async Task<IReadOnlyList<BatchItemResult>> SubmitLedgerBatchAsync(IReadOnlyList<SignedEnvelope> envelopes, CancellationToken ct = default)
    {
        using HttpResponseMessage response = await SendRawAsync(
            new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, "v1/ledger/transactions/batch")) { Content = Json(envelopes) }, ct);
        return await ReadAsync<IReadOnlyList<BatchItemResult>>(response, ct);
    }

    public Task<AccountView> GetAccountAsync(string address, CancellationToken ct = default) =>
        GetAsync<AccountView>($"v1/ledger/accounts/{Uri.EscapeDataString(address)}", ct);

    public Task<IReadOnlyList<HistoryEntry>> GetHistoryAsync(string address, int limit = 50, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<HistoryEntry>>($"v1/ledger/accounts/{Uri.EscapeDataString(address)}/history?limit={limit}", ct);

    public Task<LedgerSummary> GetLedgerSummaryAsync(CancellationToken ct = default) => GetAsync<LedgerSummary>("v1/ledger/summary", ct);

    public Task<IReadOnlyList<BlockView>> ListBlocksAsync(long? before = null, int limit = 20, CancellationToken ct = default) =>
        GetAsync<IReadOnlyList<BlockView>>($"v1/ledger/blocks?limit={limit}{(before is null ? "" : "&before=" + before)}", ct);

    public Task<BlockView> GetBlockAsync(long height, CancellationToken ct = default) => GetAsync<BlockView>($"v1/ledger/blocks/{height}", ct);

    // ---- content ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Uploads a file and returns its CID. Computes the manifest locally, announces it, and sends only the chunks
    /// the hub lacks, so running it again after an interruption resumes. <paramref name="progress"/> gets bytes sent.
    /// </summary>
    public async Task<ContentManifest> UploadFileAsync(RequestSigner signer, string path, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        ContentManifest manifest;
        if (new FileInfo(path).Length == 0)
        {
            // Never open an empty-looking file: FIFOs and sockets report length 0, and opening a FIFO with no
            // writer blocks forever. An empty file's manifest needs no bytes.
            manifest = UnixFsImporter.Import([]);
        }
        else
        {
            await using FileStream file = File.OpenRead(path);
            manifest = await UnixFsImporter.ImportAsync(file, ct);
        }

        var request = new UploadRequest(manifest.Root.ToString(), manifest.Size, [.. manifest.Leaves.Select(l => new UploadLeaf(l.Cid.ToString(), l.Size))]);
        UploadView upload = await PostAsync<UploadView>("v1/content/uploads", signer.Sign(MessageTypes.UploadCreate, request), ct);
        if (upload.Complete)
        {
            progress?.Report(manifest.Size);
            return manifest;
        }

        long sent = (long)(upload.ChunkCount - upload.MissingChunks.Count) * ContentManifest.ChunkSize;
        progress?.Report(Math.Min(sent, manifest.Size));
        byte[] buffer = new byte[ContentManifest.ChunkSize];
        await using (FileStream file = File.OpenRead(path))
        {
            foreach (int index in upload.MissingChunks)
            {
                int size = manifest.Leaves[index].Size;
                file.Position = (long)index * ContentManifest.ChunkSize;
                await file.ReadExactlyAsync(buffer.AsMemory(0, size), ct);
                using var content = new ByteArrayContent(buffer, 0, size);
                content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
                await SendAsync(HttpMethod.Put, $"v1/content/uploads/{upload.UploadId}/chunks/{index}", content, ct);
                sent += size;
                progress?.Report(Math.Min(sent, manifest.Size));
            }
        }

        await SendAsync(HttpMethod.Post, $"v1/content/uploads/{upload.UploadId}/complete", null, ct);
        return manifest;
    }

    /// <summary>
    /// Downloads <paramref name="cid"/> to <paramref name="destination"/>, resuming a previous partial download,
    /// and verifies the bytes hash to the CID before the file appears under its name.
    /// </summary>
    public async Task<long> DownloadAsync(string cid, string destination, IProgress<long>? progress = null, CancellationToken ct = default)
    {
        Cid expected = Cid.TryParse(cid, out Cid? parsed, out string? error) ? parsed : throw new ArgumentException(error, nameof(cid));
        string partial = destination + ".part";
        long have = File.Exists(partial) ? new FileInfo(partial).Length : 0;
        var request = new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, $"v1/content/{expected}"));
        if (have > 0)
        {
            request.Headers.Range = new RangeHeaderValue(have, null);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }

        using (response)
        {
            if (response.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
            {
                have = 0;
                File.Delete(partial);
                return await DownloadAsync(cid, destination, progress, ct);
            }

            await EnsureSuccessAsync(response, ct);
            bool resumed = response.StatusCode == HttpStatusCode.PartialContent;
            string? directory = Path.GetDirectoryName(Path.GetFullPath(destination));
            if (directory is not null)
            {
                Directory.CreateDirectory(directory);
            }

            await using (var file = new FileStream(partial, resumed ? FileMode.Append : FileMode.Create, FileAccess.Write))
            {
                long written = resumed ? have : 0;
                await using Stream body = await response.Content.ReadAsStreamAsync(ct);
                byte[] buffer = new byte[1 << 16];
                int read;
                while ((read = await body.ReadAsync(buffer, ct)) > 0)
                {
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                    written += read;
                    progress?.Report(written);
                }
            }
        }

        ContentManifest actual;
        await using (FileStream check = File.OpenRead(partial))
        {
            actual = await UnixFsImporter.ImportAsync(check, ct);
        }

        if (actual.Root != expected)
        {
            File.Delete(partial);
            throw new InvalidDataException($"downloaded bytes hash to {actual.Root}, not {expected}; the hub served corrupt data and nothing was kept");
        }

        File.Move(partial, destination, overwrite: true);
        return actual.Size;
    }

    // ---- plumbing --------------------------------------------------------------------------------------------

    private async Task<T> GetAsync<T>(string path, CancellationToken ct)
    {
        using HttpResponseMessage response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, path)), ct);
        return await ReadAsync<T>(response, ct);
    }

    private async Task<T> PostAsync<T>(string path, SignedEnvelope envelope, CancellationToken ct)
    {
        using HttpResponseMessage response = await SendRawAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, path)) { Content = Json(envelope) }, ct);
        return await ReadAsync<T>(response, ct);
    }

    private async Task SendAsync(HttpMethod method, string path, HttpContent? content, CancellationToken ct)
    {
        using HttpResponseMessage response = await SendRawAsync(new HttpRequestMessage(method, new Uri(BaseAddress, path)) { Content = content }, ct);
    }

    private async Task<HttpResponseMessage> SendRawAsync(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        finally
        {
            request.Dispose();
        }

        try
        {
            await EnsureSuccessAsync(response, ct);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private HubUnreachableException Unreachable(HttpRequestException e) =>
        new($"cannot reach the hub at {BaseAddress}: {e.Message}", e);

    private static async Task<T> ReadAsync<T>(HttpResponseMessage response, CancellationToken ct) =>
        await response.Content.ReadFromJsonAsync<T>(KumoJson.Options, ct)
        ?? throw new HubApiException(response.StatusCode, "empty_response", "the hub sent an empty answer", null, null);

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        string body = await response.Content.ReadAsStringAsync(ct);
        string code = "http_" + (int)response.StatusCode, detail = body.Length > 0 ? body : response.ReasonPhrase ?? "";
        string? field = null;
        try
        {
            using var problem = JsonDocument.Parse(body);
            JsonElement root = problem.RootElement;
            code = root.TryGetProperty("code", out JsonElement c) ? c.GetString() ?? code : code;
            detail = root.TryGetProperty("detail", out JsonElement d) ? d.GetString() ?? detail : detail;
            field = root.TryGetProperty("field", out JsonElement f) ? f.GetString() : null;
        }
        catch (JsonException)
        {
            // Not problem+json (a proxy's error page); keep the raw text.
        }

        throw new HubApiException(response.StatusCode, code, detail, field, body);
    }

    private static StringContent Json<T>(T value) =>
        new(JsonSerializer.Serialize(value, KumoJson.Options), Encoding.UTF8, "application/json");

    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }
}

/// <summary>The hub's health answer.</summary>
public sealed record HealthInfo(string Status, string Version, int SchemaVersion, int ConnectedProviders);

/// <summary>A followed log line, or the end of the stream with the job's final state.</summary>
public sealed record LogFollowItem(LogEntry? Line, LogStreamEnd? End);
