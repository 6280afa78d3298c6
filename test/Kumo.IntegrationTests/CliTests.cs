using Kumo.IntegrationTests.Support;

namespace Kumo.IntegrationTests;

/// <summary>The CLI's contract with people and scripts: messages that say what is wrong, and exit codes.</summary>
public class CliTests
{
    private static string TempDir()
    {
        string path = Path.Combine(Path.GetTempPath(), "kumo-cli-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    [Fact]
    public async Task A_malformed_spec_is_refused_with_file_line_and_column_and_exit_code_3()
    {
        string dir = TempDir();
        string spec = Path.Combine(dir, "bad.yaml");
        await File.WriteAllTextAsync(spec, "version: kumo/v1\nname: bad\nresources:\n  cpu: 1\n  memroy: 1Gi\n  disk: 1Gi\n  gpu: { count: 10000 }\nworkload:\n  exec: { command: /bin/true }\nprice: { maxPerHour: 1 }\ntimeout: 1m\n");

        KumoCli.Result result = await KumoCli.RunAsync(["job", "submit", spec, "--check"]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"{spec}:5:3: resources.memroy: unknown field 'memroy' in resources; did you mean 'memory'?", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("10000 GPUs", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "--segment-steps", "0" }, "--segment-steps must be between 1 and 1000, not 0")]
    [InlineData(new[] { "--segment-steps", "12", "--commit-every", "5" }, "--commit-every must divide the segment's 12 steps (--segment-steps): 1, 2, 3, 4, 6, 12; not 5")]
    [InlineData(new[] { "--commit-every", "3" }, "--commit-every must divide the segment's 8 steps (--segment-steps): 1, 2, 4, 8; not 3")]
    public async Task The_verify_simulation_names_an_option_it_cannot_use_with_exit_code_2(string[] options, string message)
    {
        KumoCli.Result result = await KumoCli.RunAsync(["sim", "verify", "--json", .. options]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broken_yaml_points_at_the_place()
    {
        string dir = TempDir();
        string spec = Path.Combine(dir, "broken.yaml");
        await File.WriteAllTextAsync(spec, "version: kumo/v1\nname: [unclosed\n");

        KumoCli.Result result = await KumoCli.RunAsync(["job", "submit", spec, "--check"]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"{spec}:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("invalid YAML", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_valid_spec_checks_clean()
    {
        KumoCli.Result result = await KumoCli.RunAsync(["job", "submit", Path.Combine(Repository.Root, "examples", "wordcount", "job.yaml"), "--check"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("valid spec", result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Key_new_writes_a_0600_file_and_refuses_to_overwrite_it()
    {
        string key = Path.Combine(TempDir(), "key.json");
        KumoCli.Result created = await KumoCli.RunAsync(["key", "new", "--key", key, "--json"]);
        Assert.True(created.ExitCode == 0, created.ToString());
        Assert.Contains("kumo1", created.Stdout, StringComparison.Ordinal);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));

        KumoCli.Result again = await KumoCli.RunAsync(["key", "new", "--key", key]);
        Assert.Equal(3, again.ExitCode);
        Assert.Contains("already exists", again.Stderr, StringComparison.Ordinal);

        KumoCli.Result shown = await KumoCli.RunAsync(["key", "show", "--key", key]);
        Assert.Equal(0, shown.ExitCode);
    }

    [Fact]
    public async Task A_key_file_others_can_read_is_refused_with_the_fix()
    {
        string key = Path.Combine(TempDir(), "key.json");
        Assert.Equal(0, (await KumoCli.RunAsync(["key", "new", "--key", key])).ExitCode);
        File.SetUnixFileMode(key, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        KumoCli.Result result = await KumoCli.RunAsync(["key", "show", "--key", key]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains($"chmod 600 {key}", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_hub_exits_5_with_a_hint()
    {
        KumoCli.Result result = await KumoCli.RunAsync(["job", "status", "j-000000000000", "--hub", "http://127.0.0.1:9"]);
        Assert.Equal(5, result.ExitCode);
        Assert.Contains("cannot reach the hub", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("kumo devnet up", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_options_exit_2_and_help_exits_0()
    {
        KumoCli.Result wrong = await KumoCli.RunAsync(["job", "submit", "spec.yaml", "--frobnicate"]);
        Assert.Equal(2, wrong.ExitCode);
        Assert.Contains("--help", wrong.Stderr, StringComparison.Ordinal);

        KumoCli.Result help = await KumoCli.RunAsync(["job", "--help"]);
        Assert.Equal(0, help.ExitCode);
        Assert.Contains("submit", help.Stdout, StringComparison.Ordinal);
        Assert.Contains("logs", help.Stdout, StringComparison.Ordinal);

        KumoCli.Result bare = await KumoCli.RunAsync([]);
        Assert.Equal(0, bare.ExitCode);
        Assert.Contains("devnet up --demo", bare.Stdout, StringComparison.Ordinal);
    }
}
