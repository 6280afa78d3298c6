using Kumo.Cli.Commands;
using Kumo.IntegrationTests.Support;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.IntegrationTests;

/// <summary>
/// Proof of learning on a real devnet: the sampled segments of a train job are re-executed from its published
/// checkpoints by the other provider's agent, acting as a bonded validator.
/// </summary>
public class TrainingVerificationTests(TwoProviderDevnet devnet) : IClassFixture<TwoProviderDevnet>
{
    [Fact]
    public async Task A_train_job_is_verified_by_another_provider_re_executing_sampled_segments_from_its_published_checkpoints()
    {
        string spec = Path.Combine(Repository.Root, "examples", "train-digits", "job.yaml");
        (JobAccepted accepted, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);

        JobView job = await Eventually.Until(() => devnet.Client.GetJobAsync(accepted.JobId),
            j => j.Events.Any(e => e.Kind.StartsWith("verif", StringComparison.Ordinal)), "the hub's verdict", seconds: 90);

        Assert.Equal(JobState.Succeeded, job.State);
        Assert.Contains(job.Outputs, o => o.Path == "out/checkpoint-0000200.safetensors");
        JobEvent verification = Assert.Single(job.Events, e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.True(verification.Kind == "verified", $"{verification.Kind}: {verification.Detail}");
        Assert.StartsWith("proof of learning:", verification.Detail, StringComparison.Ordinal); // usually "re-executed segment(s) … every root agrees"; q = 0.74 may draw none (0.5 %)
        if (!verification.Detail.Contains("no segment", StringComparison.Ordinal))
        {
            // Both agents validate; the job ran on one, so the other checked it (never the provider itself).
            LeaseView lease = job.Leases.Last();
            Assert.Contains("by validator kumo1", verification.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain($"by validator {lease.ProviderId.Value}", verification.Detail, StringComparison.Ordinal);
            // One 20-step commit interval of each sampled segment (step-roots.json at train-digits' interval), from the
            // segment's checkpoint when the interval starts there, else from the state the provider kept and revealed.
            Assert.Contains("one commit interval of segment(s)", verification.Detail, StringComparison.Ordinal);
            Assert.Contains("(a root every 20 steps)", verification.Detail, StringComparison.Ordinal);
            Assert.DoesNotContain("was not revealed", verification.Detail, StringComparison.Ordinal);
            foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(verification.Detail, @"\(steps (\d+)–(\d+)\) from (its checkpoint|the state after step (\d+) the provider revealed)"))
            {
                int first = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), last = int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(20, last - first + 1);
                Assert.Equal(m.Groups[3].Value == "its checkpoint", (first - 1) % 200 == 0);
            }

            Assert.NotEmpty(System.Text.RegularExpressions.Regex.Matches(verification.Detail, @"\(steps \d+–\d+\) from "));
        }
    }

    [Fact]
    public async Task A_train_job_resumed_from_its_checkpoint_ends_with_the_same_model_bit_for_bit_and_is_verified_from_there()
    {
        string spec = Path.Combine(Repository.Root, "examples", "train-digits", "job.yaml");
        (JobAccepted first, _) = await new JobSubmitter(devnet.Client, devnet.Tenant).SubmitAsync(spec, null, CancellationToken.None);
        JobView original = await Eventually.Until(() => devnet.Client.GetJobAsync(first.JobId), j => j.State == JobState.Succeeded, "the first run", seconds: 90);

        KumoCli.Result refused = await KumoCli.RunAsync(["job", "resume", first.JobId], devnet.Environment); // nothing failed: which checkpoint?
        Assert.Equal(3, refused.ExitCode);
        Assert.Contains("--from-step", refused.Stderr, StringComparison.Ordinal);

        KumoCli.Result resumed = await KumoCli.RunAsync(["job", "resume", first.JobId, "--from-step", "400", "--json"], devnet.Environment);
        Assert.True(resumed.ExitCode == 0, resumed.Stderr);
        string jobId = System.Text.Json.JsonDocument.Parse(resumed.Stdout).RootElement.GetProperty("job").GetString()!;
        JobView second = await Eventually.Until(() => devnet.Client.GetJobAsync(jobId),
            j => j.State == JobState.Failed || j.Events.Any(e => e.Kind.StartsWith("verif", StringComparison.Ordinal)), "the resumed run's verdict", seconds: 90);

        Assert.Equal(JobState.Succeeded, second.State);
        string Model(JobView job) => job.Outputs.Single(o => o.Path == "out/model.safetensors").Cid;
        Assert.Equal(Model(original), Model(second)); // 400 steps + 400 resumed steps = the same 800 steps, to the bit
        Assert.DoesNotContain(second.Outputs, o => o.Path == "out/checkpoint-0000200.safetensors"); // only the steps after the resume point
        JobEvent verdict = second.Events.Single(e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.True(verdict.Kind == "verified", $"{verdict.Kind}: {verdict.Detail}");
        Assert.Contains(" of 2", verdict.Detail, StringComparison.Ordinal); // two segments: 401–600, 601–800 ("segment(s) … of 2", or none drawn "of 2")
    }
}
