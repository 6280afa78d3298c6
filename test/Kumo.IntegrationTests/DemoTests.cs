using Kumo.IntegrationTests.Support;

namespace Kumo.IntegrationTests;

public class DemoTests
{
    [Fact]
    public async Task Devnet_up_demo_runs_every_example_and_exits_zero()
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-demo-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            KumoCli.Result result = await KumoCli.RunAsync(
                ["devnet", "up", "--demo", "--dir", directory, "--examples", Path.Combine(Repository.Root, "examples")],
                timeout: TimeSpan.FromMinutes(3));

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("all 4 example jobs succeeded and their outputs match expected/", result.Stdout, StringComparison.Ordinal);
            Assert.Contains("simulated", result.Stdout, StringComparison.Ordinal); // the GPU job ran on a simulated H100, and says so
            Assert.Equal("hello, kumo\n", await File.ReadAllTextAsync(Path.Combine(directory, "demo", "hello", "out", "hello.txt")));
        }
        finally
        {
            TryDelete(directory);
        }
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Temp files.
        }
    }
}
