using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

/// <summary>
/// The errors of the cluster, market, checkpoint and retries parts and of gpu.interface: where they are reported and
/// what they say. <see cref="SampleSpecs.MinimalPlus"/> puts the added lines from line 13 on.
/// </summary>
public class JobSpecMarketErrorTests
{
    private static IReadOnlyList<SpecError> ReadErrors(string text)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.False(result.Succeeded, "the spec was accepted");
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    /// <summary>The only error, which must be about <paramref name="path"/>.</summary>
    private static SpecError ErrorAt(string text, string path)
    {
        var errors = ReadErrors(text);
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        Assert.True(errors[0].Path == path, $"expected an error about {path}, got {errors[0]}");
        return errors[0];
    }

    private static SpecError ErrorAtPlus(string lines, string path) => ErrorAt(SampleSpecs.MinimalPlus(lines), path);

    private static void AssertPosition(SpecError error, int line, int column) =>
        Assert.True(error.Line == line && error.Column == column, $"expected {line}:{column}, got {error}");

    private static string WithGpu(string gpu) => SampleSpecs.MinimalWith("disk: 0", $"disk: 0\n  gpu: {gpu}");

    // ---- Unknown, duplicate and mistyped fields --------------------------------------------------------------

    [Fact]
    public void A_misspelled_market_field_is_reported_at_its_key_with_a_suggestion()
    {
        var error = ErrorAtPlus("market:\n  mode: auction\n  minReputaton: 0.8", "market.minReputaton");

        AssertPosition(error, 15, 3);
        Assert.Equal("job.yaml:15:3: market.minReputaton: unknown field 'minReputaton' in market; did you mean 'minReputation'?",
            error.ToString());
    }

    [Fact]
    public void An_unknown_market_field_without_a_close_match_lists_the_known_ones()
    {
        var error = ErrorAtPlus("market:\n  budget: 5", "market.budget");

        Assert.Equal("unknown field 'budget' in market; expected mode, window, accept, perBenchmarkHour, minReputation, " +
                     "regions, auditor or attested", error.Message);
    }

    [Fact]
    public void A_misspelled_cluster_field_is_reported_and_the_missing_nodes_too()
    {
        var errors = ReadErrors(SampleSpecs.MinimalPlus("cluster:\n  node: 4"));

        Assert.Equal(2, errors.Count);
        Assert.Equal("cluster.node", errors[0].Path);
        Assert.Equal("unknown field 'node' in cluster; did you mean 'nodes'?", errors[0].Message);
        AssertPosition(errors[0], 14, 3);
        Assert.Equal("cluster.nodes", errors[1].Path);
        Assert.Equal("missing required field 'nodes' in cluster", errors[1].Message);
        AssertPosition(errors[1], 14, 3);
    }

    [Theory]
    [InlineData("clutser: {nodes: 2}", "cluster")]
    [InlineData("retires: 1", "retries")]
    [InlineData("checkpoints: {path: ckpt}", "checkpoint")]
    [InlineData("makret: {}", "market")]
    public void Misspelled_top_level_parts_get_suggestions(string line, string suggestion)
    {
        var error = SingleError(SampleSpecs.MinimalPlus(line));

        AssertPosition(error, 13, 1);
        Assert.EndsWith($"did you mean '{suggestion}'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misspelled_gpu_interface_field_gets_a_suggestion()
    {
        var error = ErrorAt(WithGpu("{count: 1, interfce: sxm}"), "resources.gpu.interfce");

        Assert.Equal("unknown field 'interfce' in resources.gpu; did you mean 'interface'?", error.Message);
    }

    [Fact]
    public void A_duplicate_market_field_is_reported_at_the_second_key()
    {
        var error = ErrorAtPlus("market:\n  mode: auction\n  window: 5s\n  mode: market", "market.mode");

        AssertPosition(error, 16, 3);
        Assert.Equal("duplicate field 'mode' in market; it was first given on line 14", error.Message);
    }

    [Fact]
    public void A_duplicate_attested_attribute_is_reported_at_the_second_key()
    {
        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested:\n    tier: a\n    tier: b",
            "market.attested.tier");

        AssertPosition(error, 17, 5);
        Assert.Equal("duplicate attribute 'tier' in attested; it was first set on line 16", error.Message);
    }

    [Theory]
    [InlineData("market: auction", "market", "expected a mapping of mode, window, accept, perBenchmarkHour, minReputation, regions, auditor and attested, found the string 'auction'")]
    [InlineData("cluster: 4", "cluster", "expected a mapping of nodes and maxRtt, found the number 4")]
    [InlineData("checkpoint: ckpt", "checkpoint", "expected a mapping of path and every, found the string 'ckpt'")]
    [InlineData("cluster: {nodes: \"4\"}", "cluster.nodes", "expected a whole number, found the string '4'; remove the quotes")]
    [InlineData("cluster: {nodes: 2.5}", "cluster.nodes", "expected a whole number, found the number 2.5")]
    [InlineData("retries: \"2\"", "retries", "expected a whole number, found the string '2'; remove the quotes")]
    [InlineData("retries: many", "retries", "expected a whole number, found the string 'many'")]
    [InlineData("market: {regions: eu-west}", "market.regions", "expected a list of strings, found the string 'eu-west'")]
    [InlineData("market: {regions: [eu-west, 7]}", "market.regions[1]", "expected a string, found the number 7; put it in quotes (\"7\") if it is meant as text")]
    [InlineData("market: {attested: [tier]}", "market.attested", "expected a mapping of attribute names to values (tier: datacenter), found a list")]
    [InlineData("market: {accept: true}", "market.accept", "expected a string, found the boolean true; put it in quotes (\"true\") if it is meant as text")]
    [InlineData("market: {minReputation: high}", "market.minReputation", "invalid minReputation 'high'; write a number from 0 to 1 with at most 3 decimals, e.g. 0.8")]
    [InlineData("market: {minReputation: [1]}", "market.minReputation", "expected a number from 0 to 1 (0.8), found a list")]
    [InlineData("checkpoint: {path: 7}", "checkpoint.path", "expected a string, found the number 7; put it in quotes (\"7\") if it is meant as text")]
    public void Wrong_types_are_refused_at_the_value(string line, string path, string message)
    {
        var error = ErrorAtPlus(line, path);

        Assert.Equal(message, error.Message);
        Assert.Equal(13, error.Line);
    }

    [Fact]
    public void An_attested_value_that_yaml_reads_as_a_number_must_be_quoted()
    {
        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested: {{gen: 4}}", "market.attested.gen");

        AssertPosition(error, 15, 19);
        Assert.StartsWith("expected a string, found the number 4", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_checkpoint_path_is_reported_at_the_checkpoint()
    {
        var error = ErrorAtPlus("checkpoint:\n  every: 10m", "checkpoint.path");

        AssertPosition(error, 14, 3);
        Assert.Equal("missing required field 'path' in checkpoint", error.Message);
    }

    // ---- Choices ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("aution", "unknown market mode 'aution'; did you mean 'auction'?")]
    [InlineData("perfomance", "unknown market mode 'perfomance'; did you mean 'performance'?")]
    [InlineData("fixed", "unknown market mode 'fixed'; expected auction, market or performance")]
    public void Unknown_market_modes_are_refused_at_the_value(string mode, string message)
    {
        var error = ErrorAtPlus($"market:\n  mode: {mode}", "market.mode");

        AssertPosition(error, 14, 9);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("manuel", "unknown accept mode 'manuel'; did you mean 'manual'?")]
    [InlineData("first", "unknown accept mode 'first'; expected auto or manual")]
    public void Unknown_accept_modes_are_refused(string accept, string message)
    {
        var error = ErrorAtPlus($"market:\n  accept: {accept}", "market.accept");

        AssertPosition(error, 14, 11);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("sxn", "unknown GPU interface 'sxn'; did you mean 'sxm'?")]
    [InlineData("pci", "unknown GPU interface 'pci'; did you mean 'pcie'?")]
    [InlineData("nvlink", "unknown GPU interface 'nvlink'; expected sxm or pcie")]
    public void Unknown_gpu_interfaces_are_refused(string bus, string message)
    {
        var error = ErrorAt(WithGpu($"{{count: 1, interface: {bus}}}"), "resources.gpu.interface");

        AssertPosition(error, 7, 30);
        Assert.Equal(message, error.Message);
    }

    // ---- Cluster ----------------------------------------------------------------------------------------------

    [Fact]
    public void A_hundred_nodes_are_refused_at_the_count()
    {
        var error = ErrorAtPlus("cluster:\n  nodes: 100", "cluster.nodes");

        AssertPosition(error, 14, 10);
        Assert.Equal(
            "asks for 100 nodes; a cluster has at most 64 — split the work into several jobs or ask for fewer nodes",
            error.Message);
    }

    [Fact]
    public void A_node_count_beyond_any_integer_gets_the_same_explanation()
    {
        var error = ErrorAtPlus("cluster: {nodes: 99999999999999}", "cluster.nodes");

        Assert.StartsWith("asks for 99999999999999 nodes; a cluster has at most 64", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-3")]
    public void Fewer_than_one_node_is_refused(string nodes)
    {
        var error = ErrorAtPlus($"cluster: {{nodes: {nodes}}}", "cluster.nodes");

        Assert.StartsWith("a cluster needs at least 1 node", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("leave out 'cluster' for a job on one node", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void More_than_512_gpus_over_all_nodes_are_refused_at_the_node_count()
    {
        var text = SampleSpecs.MinimalPlus("cluster:\n  nodes: 64").Replace("disk: 0", "disk: 0\n  gpu: {count: 16}", StringComparison.Ordinal);

        var error = ErrorAt(text, "cluster.nodes");

        AssertPosition(error, 15, 10);
        Assert.Equal("asks for 64 nodes × 16 GPUs = 1024 GPUs; an order holds at most 512 GPUs in all — ask for fewer " +
                     "nodes or fewer GPUs per node", error.Message);
    }

    [Theory]
    [InlineData("5", "maxRtt '5' has no unit; write milliseconds (5ms, 0.5ms) or seconds (0.01s)")]
    [InlineData("0.5", "maxRtt '0.5' has no unit; write milliseconds (5ms, 0.5ms) or seconds (0.01s)")]
    [InlineData("5 ms", "invalid maxRtt '5 ms'; write milliseconds (5ms, 0.5ms) or seconds (0.01s)")]
    [InlineData("500us", "invalid maxRtt '500us'; write milliseconds (5ms, 0.5ms) or seconds (0.01s)")]
    [InlineData("1m", "invalid maxRtt '1m'; write milliseconds (5ms, 0.5ms) or seconds (0.01s)")]
    [InlineData("0.0001ms", "maxRtt '0.0001ms' is finer than a microsecond (0.001ms)")]
    [InlineData("-1ms", "maxRtt must not be negative, found '-1ms'")]
    [InlineData("99999999999999999999s", "maxRtt '99999999999999999999s' is far too long")]
    [InlineData("0ms", "maxRtt must be more than 0, found 0ms")]
    [InlineData("0s", "maxRtt must be more than 0, found 0ms")]
    [InlineData("11s", "maxRtt of 11s is longer than the limit of 10s")]
    [InlineData("10000.5ms", "maxRtt of 10000.5ms is longer than the limit of 10s")]
    public void A_max_rtt_outside_the_rules_is_refused_at_the_value(string rtt, string message)
    {
        var error = ErrorAtPlus($"cluster:\n  nodes: 2\n  maxRtt: {rtt}", "cluster.maxRtt");

        AssertPosition(error, 15, 11);
        Assert.Equal(message, error.Message);
    }

    // ---- Market -----------------------------------------------------------------------------------------------

    [Fact]
    public void The_performance_mode_without_a_rate_is_reported_at_the_market()
    {
        var error = ErrorAtPlus("market:\n  mode: performance\n  window: 30s", "market.perBenchmarkHour");

        AssertPosition(error, 14, 3);
        Assert.Equal(
            "job.yaml:14:3: market.perBenchmarkHour: the performance mode needs a price per benchmark-unit-hour",
            error.ToString());
    }

    [Theory]
    [InlineData("market:\n  mode: auction\n  perBenchmarkHour: 0.02", "auction")]
    [InlineData("market:\n  mode: market\n  perBenchmarkHour: 0.02", "market")]
    [InlineData("market:\n  window: 30s\n  perBenchmarkHour: 0.02", "auction")]
    public void A_rate_outside_the_performance_mode_is_refused_at_the_rate(string lines, string mode)
    {
        var error = ErrorAtPlus(lines, "market.perBenchmarkHour");

        AssertPosition(error, 15, 21);
        Assert.Equal($"perBenchmarkHour is only for the performance mode, and the mode is {mode}; remove it or set " +
                     "mode: performance", error.Message);
    }

    [Theory]
    [InlineData("0", "perBenchmarkHour must be more than 0, found 0 KUMO")]
    [InlineData("1000000.000001", "perBenchmarkHour of 1000000.000001 KUMO is above the limit of 1000000 KUMO per benchmark-unit-hour")]
    [InlineData("0.0000001", "perBenchmarkHour '0.0000001' is finer than 1 µKUMO; use at most 6 decimals")]
    [InlineData("2 KUMO", "invalid perBenchmarkHour '2 KUMO'; write KUMO per benchmark-unit-hour (2.5) or µKUMO per benchmark-unit-hour with a 'u' suffix (\"2500000u\")")]
    [InlineData("-1", "perBenchmarkHour must be more than 0, found '-1'")]
    public void A_rate_outside_the_limits_is_refused(string rate, string message)
    {
        var error = ErrorAtPlus($"market:\n  mode: performance\n  perBenchmarkHour: {rate}", "market.perBenchmarkHour");

        AssertPosition(error, 15, 21);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("0", "window must be at least 1s, found 0s")]
    [InlineData("11m", "window of 11m is longer than the limit of 10m")]
    [InlineData("10m1s", "window of 10m1s is longer than the limit of 10m")]
    [InlineData("1.5s", "window '1.5s' is not a whole number of seconds; write e.g. 90s or 1h30m")]
    [InlineData("soon", "invalid window 'soon'; write seconds (600) or whole numbers with units d, h, m, s in that order, e.g. 90s, 10m, 1h30m, 1d")]
    public void A_window_outside_one_second_to_ten_minutes_is_refused(string window, string message)
    {
        var error = ErrorAtPlus($"market:\n  window: {window}", "market.window");

        AssertPosition(error, 14, 11);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("1.5", "minReputation must be from 0 to 1, found 1.5")]
    [InlineData("2", "minReputation must be from 0 to 1, found 2")]
    [InlineData("0.8001", "minReputation '0.8001' has more than 3 decimals")]
    [InlineData("-0.1", "minReputation must not be negative, found '-0.1'")]
    [InlineData("1e-1", "invalid minReputation '1e-1'; write a number from 0 to 1 with at most 3 decimals, e.g. 0.8")]
    [InlineData("99999999999999999999", "minReputation '99999999999999999999' is far too large; it is a number from 0 to 1")]
    public void A_reputation_outside_zero_to_one_is_refused(string reputation, string message)
    {
        var error = ErrorAtPlus($"market:\n  minReputation: {reputation}", "market.minReputation");

        AssertPosition(error, 14, 18);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("[EU-West]", "market.regions[0]", "invalid region name 'EU-West'; use 1 to 32 lower-case letters, digits and '-' (eu-west)")]
    [InlineData("[eu_west]", "market.regions[0]", "invalid region name 'eu_west'; use 1 to 32 lower-case letters, digits and '-' (eu-west)")]
    [InlineData("[\"\"]", "market.regions[0]", "invalid region name ''; use 1 to 32 lower-case letters, digits and '-' (eu-west)")]
    [InlineData("[eu-west, us-east, eu-west]", "market.regions[2]", "region 'eu-west' is listed twice; market.regions[0] has it too")]
    public void Region_names_are_checked_each_at_its_item(string regions, string path, string message)
    {
        var error = ErrorAtPlus($"market:\n  regions: {regions}", path);

        Assert.Equal(14, error.Line);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_region_name_may_be_32_characters_but_not_33()
    {
        var valid = JobSpecReader.Read(SampleSpecs.MinimalPlus($"market: {{regions: [{new string('a', 32)}]}}"), "job.yaml");
        Assert.True(valid.Succeeded, valid.ToString());

        var error = ErrorAtPlus($"market:\n  regions:\n    - {new string('a', 33)}", "market.regions[0]");

        AssertPosition(error, 15, 7);
    }

    [Fact]
    public void More_than_64_regions_are_refused_at_the_list()
    {
        var regions = string.Join(", ", Enumerable.Range(0, 65).Select(i => $"r{i}"));

        var error = ErrorAtPlus($"market:\n  regions: [{regions}]", "market.regions");

        AssertPosition(error, 14, 12);
        Assert.Equal("lists 65 regions; at most 64 may be listed", error.Message);
    }

    [Theory]
    [InlineData("kumo1xyz", "is not a valid account id")]
    [InlineData("kumo12nhs4un622p8srz6fcku6muf8330f636wvft7q", "checksum does not match")]
    [InlineData("cosmos1tls9ndthylhp6kxf33fdqaeuyjvxcku7g27835", "is not a valid account id")]
    public void An_auditor_that_is_not_an_account_id_is_refused_at_the_value(string auditor, string message)
    {
        var error = ErrorAtPlus($"market:\n  auditor: {auditor}\n  attested: {{tier: datacenter}}", "market.auditor");

        AssertPosition(error, 14, 12);
        Assert.StartsWith("invalid auditor: ", error.Message, StringComparison.Ordinal);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_auditor_without_attested_attributes_is_reported_where_they_belong()
    {
        var error = ErrorAtPlus($"market:\n  mode: auction\n  auditor: {SampleSpecs.Auditor}", "market.attested");

        AssertPosition(error, 14, 3);
        Assert.Equal("an auditor is named but no attested attributes for it to vouch for; add attested " +
                     "(e.g. attested: { tier: datacenter }) or remove auditor", error.Message);
    }

    [Fact]
    public void An_empty_attested_mapping_is_reported_at_the_mapping()
    {
        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested: {{}}", "market.attested");

        AssertPosition(error, 15, 13);
        Assert.StartsWith("an auditor is named but no attested attributes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attested_attributes_without_an_auditor_are_reported_where_it_belongs()
    {
        var error = ErrorAtPlus("market:\n  attested: {tier: datacenter}", "market.auditor");

        AssertPosition(error, 14, 3);
        Assert.Equal("job.yaml:14:3: market.auditor: attested attributes need the auditor who signs them; add auditor " +
                     "(the auditor's account id, kumo1...) or remove attested", error.ToString());
    }

    [Theory]
    [InlineData("Tier: datacenter", "market.attested.Tier", "invalid attribute name 'Tier'; use 1 to 32 of a-z, 0-9, '_', '.' and '-'")]
    [InlineData("tier: Data Center", "market.attested.tier", "invalid value 'Data Center' for attribute 'tier'; use 1 to 32 of a-z, 0-9, '_', '.' and '-'")]
    [InlineData("tier: \"\"", "market.attested.tier", "invalid value '' for attribute 'tier'; use 1 to 32 of a-z, 0-9, '_', '.' and '-'")]
    public void Attested_names_and_values_are_checked_at_the_name(string entry, string path, string message)
    {
        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested:\n    {entry}", path);

        AssertPosition(error, 16, 5);
        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void More_than_32_attested_attributes_are_refused()
    {
        var attributes = string.Join(", ", Enumerable.Range(0, 33).Select(i => $"a{i}: x"));

        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested: {{{attributes}}}", "market.attested");

        Assert.Equal("asks for 33 attested attributes; at most 32 may be asked for", error.Message);
    }

    // ---- Checkpoint and retries -------------------------------------------------------------------------------

    [Theory]
    [InlineData("/ckpt", "checkpoint path '/ckpt' must be relative to /job; remove the leading '/'")]
    [InlineData("../ckpt", "checkpoint path '../ckpt' must not contain '..'; the checkpoint stays inside /job")]
    [InlineData("a/../../b", "checkpoint path 'a/../../b' must not contain '..'; the checkpoint stays inside /job")]
    [InlineData("a//b", "checkpoint path 'a//b' has an empty segment; separate directory names with one '/' and do not end with '/'")]
    [InlineData("ckpt/", "checkpoint path 'ckpt/' has an empty segment; separate directory names with one '/' and do not end with '/'")]
    [InlineData(".", "checkpoint path '.' must not contain '.' segments; name the directory itself (ckpt, state/ckpt)")]
    [InlineData("./ckpt", "checkpoint path './ckpt' must not contain '.' segments; name the directory itself (ckpt, state/ckpt)")]
    [InlineData("\"\"", "checkpoint path must not be empty")]
    [InlineData("\"a\\0b\"", "checkpoint path must not contain NUL characters")]
    [InlineData("inputs", "checkpoint path 'inputs' is inside inputs/, where the inputs lie read-only; choose another directory under /job")]
    [InlineData("inputs/ckpt", "checkpoint path 'inputs/ckpt' is inside inputs/, where the inputs lie read-only; choose another directory under /job")]
    public void A_checkpoint_path_outside_the_rules_is_refused_at_the_value(string path, string message)
    {
        var error = ErrorAtPlus($"checkpoint:\n  path: {path}", "checkpoint.path");

        AssertPosition(error, 14, 9);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("0", "every must be at least 1s, found 0s")]
    [InlineData("0s", "every must be at least 1s, found 0s")]
    [InlineData("24h1s", "every of 1d1s is longer than the limit of 1d")]
    [InlineData("2d", "every of 2d is longer than the limit of 1d")]
    [InlineData("-5m", "every must not be negative, found '-5m'")]
    public void A_checkpoint_interval_outside_one_second_to_a_day_is_refused(string every, string message)
    {
        var error = ErrorAtPlus($"checkpoint:\n  path: ckpt\n  every: {every}", "checkpoint.every");

        AssertPosition(error, 15, 10);
        Assert.Equal(message, error.Message);
    }

    [Theory]
    [InlineData("11", "retries must be from 0 to 10, found 11")]
    [InlineData("-1", "retries must be from 0 to 10, found -1")]
    [InlineData("99999999999", "retries must be from 0 to 10, found 99999999999")]
    [InlineData("99999999999999999999", "'99999999999999999999' is far too large")]
    public void Retries_outside_zero_to_ten_are_refused(string retries, string message)
    {
        var error = ErrorAtPlus($"retries: {retries}", "retries");

        AssertPosition(error, 13, 10);
        Assert.Equal(message, error.Message);
    }

    // ---- One problem, one error -------------------------------------------------------------------------------

    [Fact]
    public void A_misspelled_mode_next_to_a_rate_is_reported_once()
    {
        var error = ErrorAtPlus("market:\n  mode: perfromance\n  perBenchmarkHour: 0.02", "market.mode");

        Assert.StartsWith("unknown market mode 'perfromance'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_performance_rate_that_does_not_parse_is_reported_once()
    {
        var error = ErrorAtPlus("market:\n  mode: performance\n  perBenchmarkHour: cheap", "market.perBenchmarkHour");

        Assert.StartsWith("invalid perBenchmarkHour 'cheap'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_auditor_of_the_wrong_type_is_reported_once()
    {
        var error = ErrorAtPlus("market:\n  auditor: 42\n  attested: {tier: datacenter}", "market.auditor");

        Assert.StartsWith("expected a string, found the number 42", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Attested_of_the_wrong_type_is_reported_once()
    {
        var error = ErrorAtPlus($"market:\n  auditor: {SampleSpecs.Auditor}\n  attested: datacenter", "market.attested");

        Assert.StartsWith("expected a mapping of attribute names to values", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_in_the_new_parts_is_collected_in_order()
    {
        var text = SampleSpecs.MinimalPlus("""
            cluster:
              nodes: 100
              maxRtt: 5
            market:
              mode: performance
              window: 1h
              accept: maybe
              minReputation: 1.01
              regions: [eu-west, eu-west]
              attested: {tier: datacenter}
            checkpoint:
              path: inputs/ckpt
              every: 0s
            retries: 11
            """).Replace("disk: 0", "disk: 0\n  gpu: {count: 1, interface: nvlink}", StringComparison.Ordinal);

        var errors = ReadErrors(text);

        Assert.Equal(
        [
            "resources.gpu.interface", "cluster.nodes", "cluster.maxRtt", "market.perBenchmarkHour", "market.auditor",
            "market.window", "market.accept", "market.minReputation", "market.regions[1]", "checkpoint.path",
            "checkpoint.every", "retries",
        ], errors.Select(e => e.Path));
        Assert.Equal(errors.OrderBy(e => e.Line).ThenBy(e => e.Column), errors);
    }

    // ---- Specs built in code ----------------------------------------------------------------------------------

    [Fact]
    public void A_spec_built_in_code_gets_the_same_checks_with_paths_and_no_positions()
    {
        var spec = JobSpecReader.Read(SampleSpecs.Minimal, "job.yaml").Spec! with
        {
            Cluster = new ClusterRequest { Nodes = 2, MaxRtt = TimeSpan.FromTicks(1) },
            Market = new MarketTerms
            {
                Mode = (MarketMode)7,
                Window = TimeSpan.FromMilliseconds(1500),
                MinReputation = 0.1234,
                Regions = ["eu-west"],
                Attested = new Dictionary<string, string> { ["tier"] = "datacenter" },
            },
            Checkpoint = new CheckpointPolicy { Path = "ckpt", Every = TimeSpan.FromSeconds(10.5) },
            Retries = -1,
        };

        var errors = JobSpecValidator.Validate(spec);

        Assert.Equal(
        [
            new SpecError("", 0, 0, "cluster.maxRtt", "maxRtt must be a whole number of microseconds"),
            new SpecError("", 0, 0, "market.mode", "unknown market mode 7"),
            new SpecError("", 0, 0, "market.window", "window must be a whole number of seconds"),
            new SpecError("", 0, 0, "market.minReputation", "minReputation 0.1234 has more than 3 decimals"),
            new SpecError("", 0, 0, "market.auditor", "attested attributes need the auditor who signs them; add auditor (the auditor's account id, kumo1...) or remove attested"),
            new SpecError("", 0, 0, "checkpoint.every", "every must be a whole number of seconds"),
            new SpecError("", 0, 0, "retries", "retries must be from 0 to 10, found -1"),
        ], errors);
    }

    [Fact]
    public void A_reputation_that_is_not_a_number_is_refused()
    {
        var spec = JobSpecReader.Read(SampleSpecs.Minimal, "job.yaml").Spec! with
        {
            Market = new MarketTerms { MinReputation = double.NaN },
        };

        var error = Assert.Single(JobSpecValidator.Validate(spec));

        Assert.Equal("market.minReputation", error.Path);
        Assert.StartsWith("minReputation must be from 0 to 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Null_market_terms_are_refused()
    {
        var spec = JobSpecReader.Read(SampleSpecs.Minimal, "job.yaml").Spec! with { Market = null! };

        var error = Assert.Single(JobSpecValidator.Validate(spec));

        Assert.Equal("market", error.Path);
    }

    [Fact]
    public void The_documented_cluster_example_is_valid_in_code()
    {
        Assert.Empty(JobSpecValidator.Validate(JobSpecReader.Read(SampleSpecs.Cluster, "job.yaml").Spec!));
    }

    private static SpecError SingleError(string text)
    {
        var errors = ReadErrors(text);
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        return errors[0];
    }
}
