using Kumo.Jobs;

namespace Kumo.Hub.Tests.Support;

/// <summary>Job specs for tests, written as a tenant would and normalized as the CLI sends them.</summary>
public static class Specs
{
    public static string Yaml(string resources = "cpu: 1\n  memory: 64Mi\n  disk: 16Mi", string price = "1", string extraWorkload = "", string timeout = "1m") => $"""
        version: kumo/v1
        name: test-job
        resources:
          {resources}
        workload:
          exec:
            command: /bin/echo
            args: ["hi"]
        {extraWorkload}
        price:
          maxPerHour: {price}
        timeout: {timeout}
        """;

    /// <summary>The wire form (normalized JSON) of a valid YAML spec.</summary>
    public static string Wire(string yaml)
    {
        JobSpecReadResult read = JobSpecReader.Read(yaml, "test.yaml");
        Assert.True(read.Succeeded, read.ToString());
        return JobSpecWriter.ToJson(read.Spec);
    }

    public static string Simple => Wire(Yaml());

    /// <summary>The simple spec's wire form, edited as JSON (for specs no valid YAML would produce).</summary>
    public static string Edit(Action<System.Text.Json.Nodes.JsonObject> edit)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(Simple)!.AsObject();
        edit(node);
        return node.ToJsonString();
    }
}
