using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Client;
using Kumo.Hub.Tests.Support;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Hub.Tests;

public class JobSubmissionTests
{
    [Fact]
    public async Task A_spec_the_hub_cannot_read_is_refused_with_the_field_and_position()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        string spec = Specs.Edit(s =>
        {
            JsonObject resources = s["resources"]!.AsObject();
            resources["memroy"] = resources["memory"]!.DeepClone();
            resources.Remove("memory");
        });

        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec));

        Assert.Equal(HttpStatusCode.UnprocessableContent, error.Status);
        Assert.Equal("invalid_spec", error.Code);
        JsonElement errors = JsonDocument.Parse(error.Body!).RootElement.GetProperty("extensions").GetProperty("errors");
        JsonElement unknown = errors.EnumerateArray().Single(e => e.GetProperty("path").GetString() == "resources.memroy");
        Assert.Contains("unknown field 'memroy'", unknown.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(unknown.GetProperty("line").GetInt32() >= 1 && unknown.GetProperty("column").GetInt32() >= 1);
        Assert.Contains(errors.EnumerateArray(), e => e.GetProperty("message").GetString()!.Contains("missing required field 'memory'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Ten_thousand_gpus_on_one_node_is_refused_as_impossible()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        string spec = Specs.Edit(s => s["resources"]!["gpu"] = new JsonObject { ["count"] = 10000 });

        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec));
        Assert.Equal("invalid_spec", error.Code);
        Assert.Contains("10000 GPUs", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_no_registered_provider_could_ever_run_is_refused_with_the_reasons()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider small = await FakeProvider.JoinAsync(hub, "small", FakeProvider.Inventory(cores: 2));
        await using FakeProvider a100 = await FakeProvider.JoinAsync(hub, "a100", FakeProvider.Inventory(cores: 8, gpus: FakeProvider.Gpu(0, "NVIDIA A100-SXM4-40GB", 40)));
        string spec = Specs.Wire(Specs.Yaml(resources: "cpu: 1\n  memory: 64Mi\n  disk: 16Mi\n  gpu: { count: 1, model: H100 }", price: "5"));

        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec));

        Assert.Equal("infeasible", error.Code);
        Assert.Contains("2 lack a GPU matching H100", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_job_with_no_provider_registered_says_so()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), Specs.Simple));
        Assert.Equal("infeasible", error.Code);
        Assert.Contains("no provider has registered", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_input_the_hub_does_not_store_is_refused()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        string unknown = Kumo.Content.UnixFsImporter.Import("never uploaded"u8).Root.ToString();
        string spec = Specs.Wire(Specs.Yaml(extraWorkload: $"  inputs:\n    - name: data.bin\n      cid: {unknown}"));

        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec));

        Assert.Equal("unknown_cid", error.Code);
        Assert.Contains(unknown, error.Message, StringComparison.Ordinal);
        Assert.Equal("payload.spec.workload.inputs[0].cid", error.Field);
    }

    [Fact]
    public async Task A_spec_with_a_local_path_is_refused_on_the_wire()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub);
        string spec = Specs.Edit(s => s["workload"]!["inputs"] = new JsonArray(new JsonObject { ["name"] = "a.txt", ["path"] = "./a.txt" }));

        var error = await Assert.ThrowsAsync<HubApiException>(async () => await hub.Client.SubmitJobAsync(await hub.TenantAsync(), spec));

        Assert.Equal("invalid_spec", error.Code);
    }

    [Fact]
    public async Task Only_the_tenant_can_cancel_its_job_and_a_queued_job_cancels_at_once()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider busy = await FakeProvider.JoinAsync(hub, "busy", FakeProvider.Inventory(cores: 1));
        RequestSigner tenant = await hub.TenantAsync();
        JobAccepted first = await hub.Client.SubmitJobAsync(tenant, Specs.Simple);  // takes the only core
        JobAccepted second = await hub.Client.SubmitJobAsync(tenant, Specs.Simple); // waits in the queue
        await busy.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);

        var stranger = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.CancelJobAsync(HubFixture.NewSigner(), second.JobId));
        Assert.Equal(HttpStatusCode.Forbidden, stranger.Status);

        JobView cancelled = await hub.Client.CancelJobAsync(tenant, second.JobId);
        Assert.Equal(JobState.Cancelled, cancelled.State);
        Assert.Equal(JobState.Leased, (await hub.Client.GetJobAsync(first.JobId)).State);

        var again = await Assert.ThrowsAsync<HubApiException>(() => hub.Client.CancelJobAsync(tenant, second.JobId));
        Assert.Equal("job_finished", again.Code);
    }
}
