using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

public class JobSpecReaderErrorTests
{
    private static IReadOnlyList<SpecError> ReadErrors(string text)
    {
        var result = JobSpecReader.Read(text, "job.yaml");
        Assert.False(result.Succeeded, "the spec was accepted");
        Assert.Null(result.Spec);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    private static SpecError SingleError(string text)
    {
        var errors = ReadErrors(text);
        Assert.True(errors.Count == 1, "expected one error, got:\n" + string.Join("\n", errors));
        return errors[0];
    }

    /// <summary>The only error, which must be about <paramref name="path"/>.</summary>
    private static SpecError ErrorAt(string text, string path)
    {
        var error = SingleError(text);
        Assert.Equal(path, error.Path);
        return error;
    }

    private static void AssertPosition(SpecError error, int line, int column)
    {
        Assert.True(error.Line == line && error.Column == column, $"expected {line}:{column}, got {error}");
        Assert.Equal("job.yaml", error.SourceName);
    }

    // ---- Malformed YAML --------------------------------------------------------------------------------------

    [Fact]
    public void An_unclosed_list_is_reported_where_the_parser_gave_up()
    {
        var error = SingleError("version: kumo/v1\nname: x\nresources: [1, 2\n");

        AssertPosition(error, 4, 1);
        Assert.Equal("", error.Path);
        Assert.Equal("job.yaml:4:1: invalid YAML: a list in [ ] is not closed; expected ',' or ']'", error.ToString());
    }

    [Fact]
    public void An_unclosed_list_that_runs_into_the_next_lines_is_reported_at_its_start()
    {
        var error = SingleError(SampleSpecs.MinimalWith("cpu: 500m", "cpu: [1"));

        AssertPosition(error, 4, 8);
        Assert.Contains("check that every '[' and '{' is closed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_first_line_indented_unlike_the_rest_is_malformed()
    {
        var error = SingleError(" " + SampleSpecs.Minimal);

        AssertPosition(error, 2, 1);
        Assert.Contains("must line up", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_tab_used_for_indentation_is_reported_at_the_tab()
    {
        var error = SingleError("version: kumo/v1\nresources:\n  cpu: 1\n\tmemory: 1Gi\n");

        AssertPosition(error, 4, 1);
        Assert.Contains("tabs cannot indent YAML; use spaces", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unclosed_quote_is_reported_at_the_opening_quote()
    {
        var error = SingleError("version: kumo/v1\nname: 'hello\n");

        AssertPosition(error, 2, 7);
        Assert.Equal("invalid YAML: a quoted string is not closed", error.Message);
    }

    [Fact]
    public void A_value_that_starts_a_nested_mapping_on_its_line_is_malformed()
    {
        var error = SingleError("version: kumo/v1\nname: a: b\n");

        AssertPosition(error, 2, 8);
        Assert.StartsWith("invalid YAML: a 'key: value' cannot start here", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_escape_is_reported_at_the_backslash()
    {
        var error = SingleError("version: \"kumo\\q1\"\n");

        AssertPosition(error, 1, 15);
        Assert.Contains("unknown escape", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_second_document_is_refused()
    {
        var error = SingleError(SampleSpecs.Minimal + "\n---\n" + SampleSpecs.Minimal);

        AssertPosition(error, 13, 1);
        Assert.Contains("second one starts here", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# nothing but a comment\n")]
    [InlineData("---\n")]
    [InlineData("~\n")]
    public void An_empty_spec_is_refused(string text)
    {
        var error = SingleError(text);

        Assert.StartsWith("the spec is empty", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_spec_that_is_not_a_mapping_is_refused_with_a_hint_about_the_missing_space()
    {
        var error = SingleError("version:kumo/v1\n");

        AssertPosition(error, 1, 1);
        Assert.Contains("found the string 'version:kumo/v1'", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs a space after it", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_list_at_the_top_level_is_refused()
    {
        var error = SingleError("- version: kumo/v1\n");

        Assert.Equal("expected a mapping of fields (version, name, ...) at the top level, found a list", error.Message);
    }

    [Fact]
    public void Absurdly_deep_nesting_is_refused_without_crashing()
    {
        var text = "version: " + new string('[', 10_000) + new string(']', 10_000);

        var error = SingleError(text);

        Assert.Contains("nesting is deeper than", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_text_over_the_size_limit_is_refused_unread()
    {
        var text = SampleSpecs.Minimal + "\n#" + new string('x', JobSpecReader.MaxTextLength);

        var error = SingleError(text);

        Assert.Contains("limited to", error.Message, StringComparison.Ordinal);
    }

    // ---- Unknown, duplicate and missing fields ---------------------------------------------------------------

    [Fact]
    public void An_unknown_field_is_reported_at_its_key_with_a_suggestion()
    {
        var text = SampleSpecs.MinimalWith("memory: 64Mi", "memroy: 64Mi");

        var errors = ReadErrors(text);

        var unknown = Assert.Single(errors, e => e.Path == "resources.memroy");
        AssertPosition(unknown, 5, 3);
        Assert.Equal("unknown field 'memroy' in resources; did you mean 'memory'?", unknown.Message);
        Assert.Equal("job.yaml:5:3: resources.memroy: unknown field 'memroy' in resources; did you mean 'memory'?",
            unknown.ToString());
        var missing = Assert.Single(errors, e => e.Path == "resources.memory");
        Assert.Equal("missing required field 'memory' in resources", missing.Message);
    }

    [Fact]
    public void An_unknown_field_without_a_close_match_lists_the_known_ones()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("exec:", "docker: {}\n  exec:"), "workload.docker");

        Assert.Equal("unknown field 'docker' in workload; expected exec, train, infer, quantize, inputs or outputs", error.Message);
        AssertPosition(error, 8, 3);
    }

    [Theory]
    [InlineData("nmae: x\n", "name")]
    [InlineData("Timeout: 1\n", "timeout")]
    [InlineData("verison: kumo/v1\n", "version")]
    public void Top_level_typos_get_suggestions(string line, string suggestion)
    {
        var errors = ReadErrors(SampleSpecs.Minimal + "\n" + line);

        Assert.Contains(errors, e => e.Message.EndsWith($"did you mean '{suggestion}'?", StringComparison.Ordinal));
    }

    [Fact]
    public void A_duplicate_field_is_reported_at_the_second_key()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("  disk: 0", "  disk: 0\n  cpu: 2"), "resources.cpu");

        AssertPosition(error, 7, 3);
        Assert.Equal("duplicate field 'cpu' in resources; it was first given on line 4", error.Message);
    }

    [Fact]
    public void A_duplicate_key_in_json_is_reported_too()
    {
        var errors = ReadErrors("{\"version\": \"kumo/v1\", \"name\": \"a\", \"name\": \"b\"}");

        var duplicate = Assert.Single(errors, e => e.Message.StartsWith("duplicate", StringComparison.Ordinal));
        AssertPosition(duplicate, 1, 37);
        Assert.Equal("name", duplicate.Path);
    }

    [Fact]
    public void A_duplicate_environment_variable_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    env:\n      A: x\n      A: y"),
            "workload.exec.env.A");

        AssertPosition(error, 12, 7);
        Assert.Contains("duplicate variable 'A'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_required_field_is_reported_at_the_parent_mapping()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("timeout: 90s", ""), "timeout");

        AssertPosition(error, 1, 1);
        Assert.Equal("missing required field 'timeout'", error.Message);
    }

    [Fact]
    public void A_missing_command_is_reported_at_the_exec_mapping()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "network: true"), "workload.exec.command");

        AssertPosition(error, 9, 5);
        Assert.Equal("missing required field 'command' in workload.exec", error.Message);
    }

    [Fact]
    public void A_required_field_written_empty_is_reported_at_the_field()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("name: minimal", "name:"), "name");

        AssertPosition(error, 2, 6);
        Assert.Equal("field 'name' has no value; it is required", error.Message);
    }

    [Fact]
    public void Every_missing_field_is_reported()
    {
        var errors = ReadErrors("version: kumo/v1\n");

        Assert.Equal(["name", "price", "resources", "timeout", "workload"], errors.Select(e => e.Path).Order());
    }

    [Fact]
    public void Yaml_merge_keys_are_refused_with_an_explanation()
    {
        var errors = ReadErrors(SampleSpecs.MinimalWith("  cpu: 500m", "  <<: {cpu: 1}\n  cpu: 500m"));

        Assert.Contains(errors, e => e.Message.Contains("merge keys", StringComparison.Ordinal));
    }

    // ---- Wrong types ------------------------------------------------------------------------------------------

    [Fact]
    public void A_mapping_where_a_list_of_strings_belongs_is_reported_at_the_value()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    args: {a: b}"),
            "workload.exec.args");

        AssertPosition(error, 10, 11);
        Assert.Equal("expected a list of strings, found a mapping", error.Message);
    }

    [Fact]
    public void Numbers_and_booleans_in_args_are_refused_each_at_its_position()
    {
        var errors = ReadErrors(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    args: [1, true, \"2\", 2.5]"));

        Assert.Equal(3, errors.Count);
        AssertPosition(errors[0], 10, 12);
        Assert.Equal("workload.exec.args[0]", errors[0].Path);
        Assert.Equal("expected a string, found the number 1; put it in quotes (\"1\") if it is meant as text",
            errors[0].Message);
        AssertPosition(errors[1], 10, 15);
        Assert.StartsWith("expected a string, found the boolean true", errors[1].Message, StringComparison.Ordinal);
        Assert.Equal("workload.exec.args[3]", errors[2].Path);
    }

    [Fact]
    public void A_number_as_an_environment_value_must_be_quoted()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    env: {PORT: 8080}"),
            "workload.exec.env.PORT");

        Assert.StartsWith("expected a string, found the number 8080", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yes")]
    [InlineData("no")]
    [InlineData("on")]
    [InlineData("off")]
    [InlineData("1")]
    public void Only_true_and_false_are_booleans(string written)
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", $"command: /bin/true\n    network: {written}"),
            "workload.exec.network");

        Assert.StartsWith("expected true or false", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_capitalised_boolean_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    network: True"),
            "workload.exec.network");

        Assert.Equal("expected true or false in lower case, found 'True'", error.Message);
    }

    [Fact]
    public void A_quoted_boolean_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    network: \"true\""),
            "workload.exec.network");

        Assert.EndsWith("in quotes; remove the quotes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_number_where_the_name_belongs_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("name: minimal", "name: 42"), "name");

        Assert.StartsWith("expected a string, found the number 42", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_scalar_where_a_mapping_belongs_stops_binding_that_subtree_only()
    {
        var errors = ReadErrors(SampleSpecs.MinimalWith("maxPerHour: 1", "maxPerHour: 1\n  extra: 1")
            .Replace("resources:\n  cpu: 500m\n  memory: 64Mi\n  disk: 0", "resources: lots", StringComparison.Ordinal));

        Assert.Equal(2, errors.Count);
        Assert.Equal("expected a mapping of cpu, memory, disk and gpu, found the string 'lots'", errors[0].Message);
        AssertPosition(errors[0], 3, 12);
        Assert.Equal("price.extra", errors[1].Path);
    }

    [Fact]
    public void A_quoted_gpu_count_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu: {count: \"2\"}"), "resources.gpu.count");

        Assert.Equal("expected a whole number, found the string '2'; remove the quotes", error.Message);
    }

    [Fact]
    public void A_fractional_gpu_count_is_refused()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu: {count: 1.5}"), "resources.gpu.count");

        Assert.Equal("expected a whole number, found the number 1.5", error.Message);
    }

    [Fact]
    public void A_list_of_inputs_that_holds_a_string_is_refused_at_the_item()
    {
        var error = ErrorAt(SampleSpecs.MinimalWith("    command: /bin/true", "    command: /bin/true\n  inputs: [words.txt]"),
            "workload.inputs[0]");

        AssertPosition(error, 10, 12);
        Assert.Equal("expected an input (a mapping of name and path or cid), found the string 'words.txt'", error.Message);
    }

    [Fact]
    public void A_list_key_is_refused()
    {
        var errors = ReadErrors(SampleSpecs.Minimal + "\n? [a]\n: b\n");

        Assert.Contains(errors, e => e.Message == "expected a field name, found a list");
    }

    [Fact]
    public void An_alias_to_no_anchor_explains_the_star()
    {
        var error = SingleError(SampleSpecs.MinimalWith("disk: 0", "disk: 0\n  gpu: {count: 1, model: *H100}"));

        AssertPosition(error, 7, 26);
        Assert.Contains("'*H100' is a YAML alias", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_field_name_starting_with_a_star_is_reported_once()
    {
        var errors = ReadErrors(SampleSpecs.MinimalWith("  disk: 0", "  disk: 0\n  *gpu: 1"));

        var error = Assert.Single(errors);
        Assert.Contains("is a YAML alias", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Yaml_tags_other_than_str_are_refused()
    {
        var error = SingleError(SampleSpecs.MinimalWith("cpu: 500m", "cpu: !!float 1"));

        AssertPosition(error, 4, 8);
        Assert.StartsWith("the YAML tag '!!float' is not supported", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_str_tag_makes_a_number_text()
    {
        var result = JobSpecReader.Read(SampleSpecs.MinimalWith("command: /bin/true", "command: /bin/true\n    args: [!!str 1]"), "job.yaml");

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(["1"], result.Spec.Workload.Exec!.Args);
    }

    // ---- Quantities -------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("cpu: 500m", "cpu: 1.5m", "resources.cpu", "millicores are whole numbers")]
    [InlineData("cpu: 500m", "cpu: 0.0005", "resources.cpu", "finer than a millicore")]
    [InlineData("cpu: 500m", "cpu: two", "resources.cpu", "invalid CPU amount 'two'")]
    [InlineData("cpu: 500m", "cpu: -1", "resources.cpu", "must not be negative")]
    [InlineData("cpu: 500m", "cpu: 99999999999", "resources.cpu", "far too large")]
    [InlineData("cpu: 500m", "cpu: true", "resources.cpu", "expected a CPU amount (2, 0.5 or 500m), found the boolean true")]
    [InlineData("memory: 64Mi", "memory: 256MB", "resources.memory", "units have no 'B'")]
    [InlineData("memory: 64Mi", "memory: 64mi", "resources.memory", "invalid memory amount '64mi'")]
    [InlineData("memory: 64Mi", "memory: 1e9", "resources.memory", "invalid memory amount '1e9'")]
    [InlineData("memory: 64Mi", "memory: 1.0000001Mi", "resources.memory", "not a whole number of bytes")]
    [InlineData("memory: 64Mi", "memory: 99999999999Ti", "resources.memory", "far too large")]
    [InlineData("memory: 64Mi", "memory: 9999999999999999999999999999999999999999", "resources.memory", "far too large")]
    [InlineData("memory: 64Mi", "memory: [1]", "resources.memory", "found a list")]
    [InlineData("disk: 0", "disk: -1Gi", "resources.disk", "disk must not be negative")]
    [InlineData("timeout: 90s", "timeout: 10min", "timeout", "invalid timeout '10min'")]
    [InlineData("timeout: 90s", "timeout: 30m1h", "timeout", "in that order")]
    [InlineData("timeout: 90s", "timeout: 1.5h", "timeout", "not a whole number of seconds")]
    [InlineData("timeout: 90s", "timeout: 99999999999999999999d", "timeout", "far too long")]
    [InlineData("timeout: 90s", "timeout: -5", "timeout", "must not be negative")]
    [InlineData("maxPerHour: 1", "maxPerHour: 0.0000001", "price.maxPerHour", "finer than 1 µKUMO")]
    [InlineData("maxPerHour: 1", "maxPerHour: 2.5u", "price.maxPerHour", "µKUMO are whole numbers")]
    [InlineData("maxPerHour: 1", "maxPerHour: 2.5 KUMO", "price.maxPerHour", "invalid maxPerHour '2.5 KUMO'")]
    [InlineData("maxPerHour: 1", "maxPerHour: -1", "price.maxPerHour", "must be more than 0")]
    [InlineData("maxPerHour: 1", "maxPerHour: 99999999999999999999u", "price.maxPerHour", "far too large")]
    public void A_malformed_quantity_is_refused_at_its_value(string find, string replace, string path, string message)
    {
        var text = SampleSpecs.MinimalWith(find, replace);

        var error = ErrorAt(text, path);

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        var lines = text.Split('\n');
        var line = Array.FindIndex(lines, l => l.Contains(replace, StringComparison.Ordinal));
        AssertPosition(error, line + 1, lines[line].IndexOf(": ", StringComparison.Ordinal) + 3);
    }

    // ---- Everything at once -----------------------------------------------------------------------------------

    [Fact]
    public void All_errors_are_collected_and_ordered_by_position()
    {
        var text = """
            version: kumo/v2
            name: Hello
            resources:
              cpu: 2000
              memroy: 1Gi
              memory: 1Gi
              disk: 1Gi
            workload:
              exec:
                command: /bin/sh
                args: [1]
            price:
              maxPerHour: 0
            timeout: 45d
            """;

        var errors = ReadErrors(text);

        Assert.Equal(
            ["version", "name", "resources.cpu", "resources.memroy", "workload.exec.args[0]", "price.maxPerHour", "timeout"],
            errors.Select(e => e.Path));
        Assert.Equal(errors.OrderBy(e => e.Line).ThenBy(e => e.Column), errors);
    }

    [Fact]
    public void A_value_that_failed_to_bind_is_not_reported_again_by_the_validator()
    {
        var errors = ReadErrors(SampleSpecs.MinimalWith("    command: /bin/true", "    command: /bin/true\n  inputs:\n    - name: 7\n      cid: 7"));

        Assert.Equal(["workload.inputs[0].name", "workload.inputs[0].cid"], errors.Select(e => e.Path));
    }
}
