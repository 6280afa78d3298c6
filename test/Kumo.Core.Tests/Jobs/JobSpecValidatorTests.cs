using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

public class JobSpecValidatorTests
{
    private static SpecError ErrorAt(string text, string path)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.False(result.Succeeded, "the spec was accepted");
        var error = Assert.Single(result.Errors);
        Assert.True(error.Path == path, $"expected an error about {path}, got {error}");
        return error;
    }

    private static void AssertValid(string text)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.True(result.Succeeded, result.ToString());
    }

    private static string WithGpu(string gpu) => SampleSpecs.MinimalWith("disk: 0", $"disk: 0\n  gpu: {gpu}");

    private static string WithExec(string lines) =>
        SampleSpecs.MinimalWith("    command: /bin/true", "    command: /bin/true\n" + lines);

    private static string WithWorkload(string lines) =>
        SampleSpecs.MinimalWith("    command: /bin/true", "    command: /bin/true\n" + lines);

    [Fact]
    public void An_unsupported_version_is_refused_at_the_version()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("kumo/v1", "kumo/v2"), "version");

        Assert.Equal("job.yaml:1:10: version: unsupported spec version 'kumo/v2'; this build understands kumo/v1",
            error.ToString());
    }

    [Theory]
    [InlineData("Hello")]
    [InlineData("1st")]
    [InlineData("-x")]
    [InlineData("hello_world")]
    [InlineData("\"\"")]
    public void Names_outside_the_pattern_are_refused(string name)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("name: minimal", $"name: {name}"), "name");

        Assert.StartsWith("invalid name", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a")]
    [InlineData("hello-world-2")]
    public void Names_inside_the_pattern_are_accepted(string name) =>
        AssertValid(SampleSpecs.MinimalWith("name: minimal", $"name: {name}"));

    [Fact]
    public void Names_may_be_63_characters_but_not_64()
    {
        AssertValid(SampleSpecs.MinimalWith("name: minimal", "name: a" + new string('0', 62)));
        ErrorAt(SampleSpecs.MinimalWith("name: minimal", "name: a" + new string('0', 63)), "name");
    }

    [Fact]
    public void Ten_thousand_gpus_on_one_node_are_refused_at_the_count()
    {
        var text = """
            version: kumo/v1
            name: greedy
            resources:
              cpu: 1
              memory: 1Gi
              disk: 1Gi
              gpu:
                count: 10000
            workload:
              exec:
                command: /bin/true
            price:
              maxPerHour: 1
            timeout: 1h
            """;

        var error = ErrorAt(text, "resources.gpu.count");

        Assert.Equal(8, error.Line);
        Assert.Equal(12, error.Column);
        Assert.Equal(
            "asks for 10000 GPUs on one node; the largest nodes have 16 — split the job into a cluster (cluster.nodes) or ask for fewer",
            error.Message);
    }

    [Fact]
    public void A_gpu_count_beyond_any_integer_gets_the_same_explanation()
    {
        var error = ErrorAt(WithGpu("{count: 99999999999999}"), "resources.gpu.count");

        Assert.StartsWith("asks for 99999999999999 GPUs on one node", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("16")]
    public void One_to_sixteen_gpus_are_accepted(string count) => AssertValid(WithGpu($"{{count: {count}}}"));

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    public void Fewer_than_one_gpu_is_refused(string count)
    {
        var error = ErrorAt(WithGpu($"{{count: {count}}}"), "resources.gpu.count");

        Assert.Contains("leave out 'gpu' if the job needs none", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_1024_cores_are_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("cpu: 500m", "cpu: 1024.001"), "resources.cpu");

        Assert.Equal("asks for 1024.001 cores on one node; the largest nodes have 1024", error.Message);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0m")]
    [InlineData("0.000")]
    public void Less_than_a_millicore_is_refused(string cpu)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("cpu: 500m", $"cpu: {cpu}"), "resources.cpu");

        Assert.Equal("asks for 0m of CPU; at least 1m (a thousandth of a core) is needed", error.Message);
    }

    [Fact]
    public void One_millicore_is_accepted() => AssertValid(SampleSpecs.MinimalWith("cpu: 500m", "cpu: 1m"));

    [Theory]
    [InlineData("1048575", "asks for 1048575 bytes of memory; at least 1Mi is needed")]
    [InlineData("0", "asks for 0 bytes of memory; at least 1Mi is needed")]
    [InlineData("65Ti", "asks for 65Ti of memory on one node; the largest nodes have 64Ti")]
    public void Memory_outside_one_mebibyte_to_64_tebibytes_is_refused(string memory, string message)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("memory: 64Mi", $"memory: {memory}"), "resources.memory");

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("1Mi")]
    [InlineData("64Ti")]
    public void Memory_at_the_limits_is_accepted(string memory) =>
        AssertValid(SampleSpecs.MinimalWith("memory: 64Mi", $"memory: {memory}"));

    [Fact]
    public void More_than_a_pebibyte_of_disk_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("disk: 0", "disk: 1025Ti"), "resources.disk");

        Assert.Equal("asks for 1025Ti of disk on one node; at most 1Pi is offered", error.Message);
    }

    [Fact]
    public void More_than_a_tebibyte_of_vram_is_refused()
    {
        var error = ErrorAt(WithGpu("{count: 1, vram: 2Ti}"), "resources.gpu.vram");

        Assert.Equal("asks for 2Ti of memory per GPU; no GPU has more than 1Ti", error.Message);
    }

    [Theory]
    [InlineData("nvdia", "unknown GPU vendor 'nvdia'; did you mean 'nvidia'?")]
    [InlineData("qualcomm", "unknown GPU vendor 'qualcomm'; expected nvidia, amd or intel")]
    public void Unknown_vendors_are_refused(string vendor, string message)
    {
        var error = ErrorAt(WithGpu($"{{count: 1, vendor: {vendor}}}"), "resources.gpu.vendor");

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void An_empty_model_pattern_is_refused_at_its_item()
    {
        var error = ErrorAt(WithGpu("{count: 1, model: [\"H100*\", \"\"]}"), "resources.gpu.model[1]");

        Assert.Equal("a GPU model pattern must not be empty", error.Message);
    }

    [Theory]
    [InlineData("0", "timeout must be at least 1s, found 0s")]
    [InlineData("0s", "timeout must be at least 1s, found 0s")]
    [InlineData("31d", "timeout of 31d is longer than the limit of 30d")]
    [InlineData("30d1s", "timeout of 30d1s is longer than the limit of 30d")]
    public void Timeouts_outside_one_second_to_thirty_days_are_refused(string timeout, string message)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("timeout: 90s", $"timeout: {timeout}"), "timeout");

        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("0", "maxPerHour must be more than 0, found 0 KUMO")]
    [InlineData("0u", "maxPerHour must be more than 0, found 0 KUMO")]
    [InlineData("1000000.000001", "maxPerHour of 1000000.000001 KUMO is above the limit of 1000000 KUMO per hour")]
    public void Prices_outside_the_limits_are_refused(string price, string message)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("maxPerHour: 1", $"maxPerHour: {price}"), "price.maxPerHour");

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_workload_without_a_kind_is_refused_at_the_workload()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("  exec:\n    command: /bin/true", "  outputs: [a]"), "workload");

        Assert.Equal(8, error.Line);
        Assert.Equal("the workload has no kind; add one of 'exec' (a program), 'train', 'infer' or 'quantize' (built-in AI work)", error.Message);
    }

    [Theory]
    [InlineData("\"\"")]
    [InlineData("\"  \"")]
    public void An_empty_command_is_refused(string command)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", $"command: {command}"), "workload.exec.command");

        Assert.Equal("command must not be empty", error.Message);
    }

    [Fact]
    public void A_nul_character_in_an_argument_is_refused()
    {
        var error = ErrorAt(WithExec("    args: [\"a\\0b\"]"), "workload.exec.args[0]");

        Assert.Equal("argument must not contain NUL characters", error.Message);
    }

    [Theory]
    [InlineData("1X")]
    [InlineData("A-B")]
    [InlineData("\"\"")]
    [InlineData("\"A B\"")]
    public void Invalid_environment_names_are_refused_at_the_name(string name)
    {
        var error = ErrorAt(WithExec($"    env:\n      {name}: x"), $"workload.exec.env.{name.Trim('"')}");

        Assert.Equal(11, error.Line);
        Assert.Equal(7, error.Column);
        Assert.StartsWith("invalid environment variable name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Kumo_environment_names_are_reserved()
    {
        var error = ErrorAt(WithExec("    env: {KUMO_LEASE: x}"), "workload.exec.env.KUMO_LEASE");

        Assert.Equal(
            "environment variable 'KUMO_LEASE' is reserved: names starting with KUMO_ are set by Kumo inside the sandbox",
            error.Message);
    }

    [Fact]
    public void Names_that_only_look_like_kumo_ones_are_allowed() =>
        AssertValid(WithExec("    env: {KUMO: x, kumo_x: y, MY_KUMO_X: z}"));

    [Theory]
    [InlineData("a/b")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData("\"\"")]
    [InlineData("\"with space\"")]
    public void Unsafe_input_names_are_refused(string name)
    {
        var error = ErrorAt(WithWorkload($"  inputs:\n    - name: {name}\n      path: x"), "workload.inputs[0].name");

        Assert.StartsWith("invalid input name", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Input_names_may_be_255_safe_characters()
    {
        AssertValid(WithWorkload($"  inputs:\n    - name: {new string('a', 255)}\n      path: x"));
        ErrorAt(WithWorkload($"  inputs:\n    - name: {new string('a', 256)}\n      path: x"), "workload.inputs[0].name");
    }

    [Fact]
    public void Input_names_must_be_unique()
    {
        var error = ErrorAt(WithWorkload("  inputs:\n    - {name: a.txt, path: x}\n    - {name: a.txt, path: y}"),
            "workload.inputs[1].name");

        Assert.Equal("input name 'a.txt' is used twice; workload.inputs[0] has it too", error.Message);
    }

    [Fact]
    public void An_input_with_both_path_and_cid_is_refused_at_the_input()
    {
        var error = ErrorAt(WithWorkload($"  inputs:\n    - {{name: a, path: x, cid: {SampleSpecs.Cid}}}"), "workload.inputs[0]");

        Assert.Equal("input 'a' gives both path and cid; give exactly one", error.Message);
        Assert.Equal(11, error.Line);
        Assert.Equal(7, error.Column);
    }

    [Fact]
    public void An_input_with_neither_path_nor_cid_is_refused()
    {
        var error = ErrorAt(WithWorkload("  inputs:\n    - name: a"), "workload.inputs[0]");

        Assert.StartsWith("input 'a' gives neither path nor cid", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG")]
    [InlineData("bafkrei")]
    [InlineData("BAFKREIHDWDCEFGH4DQKJV67UZCMW7OJEE6XEDZDETOJUZJEVTENXQUVYKU")]
    [InlineData("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyk1")]
    public void Cids_that_are_not_base32_cidv1_are_refused(string cid)
    {
        var error = ErrorAt(WithWorkload($"  inputs:\n    - {{name: a, cid: {cid}}}"), "workload.inputs[0].cid");

        Assert.Contains("is not a content id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_cid_check_accepts_base32_cidv1() => Assert.True(JobSpecValidator.IsPlausibleCid(SampleSpecs.Cid));

    [Theory]
    [InlineData("/etc/passwd", "must be relative to /job")]
    [InlineData("../secret", "must not contain '..'")]
    [InlineData("out/../../x", "must not contain '..'")]
    [InlineData("\"\"", "must not be empty")]
    public void Outputs_must_stay_inside_the_job_directory(string pattern, string message)
    {
        var error = ErrorAt(WithWorkload($"  outputs: [{pattern}]"), "workload.outputs[0]");

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("out/*.txt")]
    [InlineData("model/**")]
    [InlineData("a..b/c")]
    [InlineData("./results.json")]
    public void Relative_output_patterns_are_accepted(string pattern) =>
        AssertValid(WithWorkload($"  outputs: [\"{pattern}\"]"));

    [Fact]
    public void A_spec_built_in_code_is_validated_with_paths_and_no_positions()
    {
        var spec = JobSpecReader.Read(SampleSpecs.Minimal, "job.yaml").Spec! with { Timeout = TimeSpan.FromMilliseconds(1500) };

        var error = Assert.Single(JobSpecValidator.Validate(spec));

        Assert.Equal(new SpecError("", 0, 0, "timeout", "timeout must be a whole number of seconds"), error);
        Assert.Equal("timeout: timeout must be a whole number of seconds", error.ToString());
    }

    [Fact]
    public void A_valid_spec_built_in_code_has_no_errors()
    {
        var spec = JobSpecReader.Read(SampleSpecs.Full, "job.yaml").Spec!;

        Assert.Empty(JobSpecValidator.Validate(spec));
    }
}
