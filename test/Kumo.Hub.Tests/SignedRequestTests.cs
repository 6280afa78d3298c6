using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Client;
using Kumo.Hub.Tests.Support;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Hub.Tests;

public class SignedRequestTests
{
    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostRawAsync(HubFixture hub, string path, string body)
    {
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        using HttpResponseMessage response = await http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        string text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }

        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone());
    }

    private static async Task<int> JobCountAsync(HubFixture hub) => (await hub.Client.ListJobsAsync(null)).Count;

    [Fact]
    public async Task A_replayed_submission_is_refused_and_creates_no_second_job()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner tenant = await hub.TenantAsync();
        SignedEnvelope envelope = tenant.Sign(MessageTypes.JobSubmit, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement));

        (HttpStatusCode first, _) = await PostRawAsync(hub, "v1/jobs", envelope.ToJson());
        (HttpStatusCode second, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", envelope.ToJson());

        Assert.Equal(HttpStatusCode.Created, first);
        Assert.Equal(HttpStatusCode.Conflict, second);
        Assert.Equal("replayed_nonce", problem.GetProperty("code").GetString());
        Assert.Contains("already used", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await JobCountAsync(hub));
    }

    [Fact]
    public async Task A_tampered_payload_fails_the_signature_check_and_changes_nothing()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        RequestSigner tenant = await hub.TenantAsync();
        JsonNode envelope = JsonNode.Parse(tenant.Sign(MessageTypes.JobSubmit, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement)).ToJson())!;
        envelope["payload"]!["spec"]!["name"] = "someone-elses-job";

        (HttpStatusCode status, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", envelope.ToJsonString());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_signature", problem.GetProperty("code").GetString());
        Assert.Equal(0, await JobCountAsync(hub));
    }

    [Fact]
    public async Task A_signature_from_another_key_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner tenant = await hub.TenantAsync();
        RequestSigner impostor = HubFixture.NewSigner();
        SignedEnvelope real = tenant.Sign(MessageTypes.JobSubmit, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement));
        SignedEnvelope forged = impostor.Sign(MessageTypes.JobSubmit, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement)) with { Signer = tenant.AccountId, PublicKey = real.PublicKey };

        (HttpStatusCode status, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", forged.ToJson());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("invalid_signature", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task A_stale_timestamp_is_refused_even_with_a_fresh_nonce()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        var past = new ManualClock(DateTimeOffset.UtcNow - TimeSpan.FromMinutes(20));
        RequestSigner tenant = HubFixture.NewSigner(past);
        SignedEnvelope old = tenant.Sign(MessageTypes.JobSubmit, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement));

        (HttpStatusCode status, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", old.ToJson());

        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("stale_timestamp", problem.GetProperty("code").GetString());
        Assert.Contains("check the clock", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_signature_made_for_another_message_type_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner tenant = await hub.TenantAsync();
        SignedEnvelope cancel = tenant.Sign(MessageTypes.JobCancel, new JobSubmission(JsonDocument.Parse(Specs.Simple).RootElement));

        (HttpStatusCode status, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", cancel.ToJson());

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("wrong_message_type", problem.GetProperty("code").GetString());
    }

    [Theory]
    [InlineData("not json at all", "malformed_envelope")]
    [InlineData("{\"type\":\"kumo.job.submit/v1\"}", "malformed_envelope")]
    [InlineData("[]", "malformed_envelope")]
    public async Task Malformed_envelopes_get_a_problem_document_that_says_what_is_wrong(string body, string code)
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        (HttpStatusCode status, JsonElement problem) = await PostRawAsync(hub, "v1/jobs", body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal(code, problem.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task One_account_may_sign_on_two_connections_out_of_order()
    {
        // A provider signs heartbeats on its channel and uploads over REST at the same time: a later nonce
        // arriving first must not make the earlier one look like a replay.
        await using HubFixture hub = await HubFixture.StartAsync();
        RequestSigner signer = HubFixture.NewSigner();
        await hub.Client.RegisterProviderAsync(signer, new ProviderRegistration("p", FakeProvider.Inventory(), "fake", ProviderPricing.Default, "t"));
        SignedEnvelope earlier = signer.Sign(MessageTypes.ProviderHeartbeat, new Heartbeat(1, []));
        SignedEnvelope later = signer.Sign(MessageTypes.ProviderHeartbeat, new Heartbeat(2, []));

        (HttpStatusCode a, _) = await PostRawAsync(hub, $"v1/providers/{signer.AccountId}/heartbeats", later.ToJson());
        (HttpStatusCode b, _) = await PostRawAsync(hub, $"v1/providers/{signer.AccountId}/heartbeats", earlier.ToJson());

        Assert.Equal(HttpStatusCode.NoContent, a);
        Assert.Equal(HttpStatusCode.NoContent, b);
    }

    [Fact]
    public async Task The_openapi_document_lists_the_api()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(hub.Url) };
        JsonElement doc = await http.GetFromJsonAsync<JsonElement>("openapi/v1.json");
        JsonElement paths = doc.GetProperty("paths");
        foreach (string path in new[] { "/v1/jobs", "/v1/jobs/{id}/logs", "/v1/content/uploads", "/v1/providers", "/v1/health" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }
    }
}
