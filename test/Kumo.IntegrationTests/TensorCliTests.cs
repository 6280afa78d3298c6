using System.Security.Cryptography;
using Kumo.IntegrationTests.Support;

namespace Kumo.IntegrationTests;

/// <summary>`kumo tensor run`: the same workload as on the network, locally; bad inputs named, nothing half-written.</summary>
public class TensorCliTests
{
    private static string Examples => Path.Combine(Repository.Root, "examples");

    private static string TempDir()
    {
        string path = Path.Combine(Path.GetTempPath(), "kumo-tensor-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        return path;
    }

    [Fact]
    public async Task Training_locally_gives_the_commitments_pinned_in_the_example_with_one_thread_or_two()
    {
        string one = TempDir(), two = TempDir();
        string spec = Path.Combine(Examples, "train-digits", "job.yaml");

        KumoCli.Result first = await KumoCli.RunAsync(["tensor", "run", spec, "--out", one, "--threads", "1"]);
        KumoCli.Result second = await KumoCli.RunAsync(["tensor", "run", spec, "--out", two, "--threads", "2"]);

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("step 800/800", first.Stdout, StringComparison.Ordinal);
        Assert.Contains("held-out accuracy", first.Stdout, StringComparison.Ordinal);
        byte[] expected = await File.ReadAllBytesAsync(Path.Combine(Examples, "train-digits", "expected", "out", "commitments.json"));
        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(one, "commitments.json")));
        Assert.Equal(expected, await File.ReadAllBytesAsync(Path.Combine(two, "commitments.json")));
        Assert.Equal(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(one, "model.safetensors"))),
            SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(two, "model.safetensors"))));
    }

    [Fact]
    public async Task A_data_input_that_is_not_the_digits_is_refused_naming_it_and_exit_code_3()
    {
        string dir = TempDir();
        await File.WriteAllTextAsync(Path.Combine(dir, "digits.csv.gz"), "this is not gzip");
        string spec = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(spec, (await File.ReadAllTextAsync(Path.Combine(Examples, "train-digits", "job.yaml")))
            .Replace("../../.kumo/datasets/digits.csv.gz", "digits.csv.gz", StringComparison.Ordinal));

        KumoCli.Result result = await KumoCli.RunAsync(["tensor", "run", spec, "--out", Path.Combine(dir, "out")]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("the data input 'digits.csv.gz' is not scikit-learn's digits.csv.gz", result.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir, "out", "model.safetensors")));
    }

    [Fact]
    public async Task A_model_file_that_is_not_safetensors_is_refused_with_what_is_wrong()
    {
        string dir = TempDir();
        await File.WriteAllBytesAsync(Path.Combine(dir, "model.safetensors"), [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]);
        File.Copy(Path.Combine(Repository.Root, ".kumo", "datasets", "digits.csv.gz"), Path.Combine(dir, "digits.csv.gz"));
        string spec = Path.Combine(dir, "job.yaml");
        await File.WriteAllTextAsync(spec, (await File.ReadAllTextAsync(Path.Combine(Examples, "infer-digits", "job.yaml")))
            .Replace("../../.kumo/datasets/digits.csv.gz", "digits.csv.gz", StringComparison.Ordinal));

        KumoCli.Result result = await KumoCli.RunAsync(["tensor", "run", spec, "--out", Path.Combine(dir, "out")]);

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("the model input 'model.safetensors' is not a valid safetensors file", result.Stderr, StringComparison.Ordinal);
    }
}
