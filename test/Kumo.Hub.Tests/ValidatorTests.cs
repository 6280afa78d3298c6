using Kumo.Hub.Tests.Support;
using Kumo.Hub.Verification;
using Kumo.Jobs;
using Kumo.Ledger;
using Kumo.Protocol;
using Kumo.Tensor.Compute;
using Kumo.Verification.Validators;
using Microsoft.Extensions.DependencyInjection;
using static Kumo.Hub.Tests.ResultVerifierTests;

namespace Kumo.Hub.Tests;

/// <summary>
/// Validators live: bonded providers re-execute sampled segments for the hub, and each way of being a bad validator —
/// lazy, accusing, silent — or of being caught as a bad provider, ends as the rules say.
/// </summary>
public class ValidatorTests
{
    private const long K = Amounts.MicrosPerKumo;

    /// <summary>How a test validator answers.</summary>
    public enum Behavior
    {
        Honest,
        Lazy,
        Accuser,
        Silent,
    }

    /// <summary>A fake provider that joined the validator pool and answers tasks as <see cref="Behavior"/> says.</summary>
    private sealed class FakeValidator : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private int _tasks;

        private FakeValidator(HubFixture hub, FakeProvider provider, Behavior behavior)
        {
            Provider = provider;
            _loop = Task.Run(() => AnswerAsync(hub, behavior));
        }

        public FakeProvider Provider { get; }

        public string Id => Provider.Id;

        public int Tasks => Volatile.Read(ref _tasks);

        public static async Task<FakeValidator> JoinAsync(HubFixture hub, string name, Behavior behavior)
        {
            // Too small for the tests' train jobs (512 MiB), so the market offers them to the trainer.
            FakeProvider provider = await JoinBondedAsync(hub, name, FakeProvider.Inventory(cores: 1, memory: 256L << 20));
            await provider.SendAsync(ChannelMessageTypes.ValidatorJoin, new ValidatorJoin(1));
            await Eventually.UntilAsync(() => Task.FromResult(hub.Services.GetRequiredService<ValidatorDispatch>().Standing(provider.Id)), s => s is not null, $"{name} to join");
            return new FakeValidator(hub, provider, behavior);
        }

        private async Task AnswerAsync(HubFixture hub, Behavior behavior)
        {
            string cache = Directory.CreateTempSubdirectory("kumo-validator-").FullName;
            while (!_stop.IsCancellationRequested)
            {
                ValidationTask task;
                try
                {
                    task = await Provider.ExpectAsync<ValidationTask>(ChannelMessageTypes.ValidationTask, TimeSpan.FromSeconds(2));
                }
                catch (TimeoutException)
                {
                    continue;
                }

                Interlocked.Increment(ref _tasks);
                string claim = task.Segment?.ClaimedRoot ?? task.Inference!.OutputCid;
                ValidationReport? report = behavior switch
                {
                    Behavior.Lazy => new ValidationReport(task.TaskId, task.JobId, "lazy", claim, true, claim, "approved without looking"),
                    Behavior.Accuser => new ValidationReport(task.TaskId, task.JobId, "accused", claim, false, new string('0', 64), "rejected without looking"),
                    Behavior.Silent => null,
                    _ => await ComputeAsync(hub, task, cache),
                };
                if (report is not null)
                {
                    await Provider.SendSignedAsync(ChannelMessageTypes.ValidationReport, ValidationMessageTypes.Report, report);
                }
            }
        }

        private static async Task<ValidationReport> ComputeAsync(HubFixture hub, ValidationTask task, string cache)
        {
            JobSpec spec = JobSpecReader.ReadWireForm(task.SpecJson, "spec").Spec!;
            var paths = new Dictionary<string, string>();
            foreach (string cid in spec.Workload.Inputs.Select(i => i.Cid).Append(task.Segment?.StartCheckpointCid).Append(task.Inference?.OutputCid).OfType<string>().Distinct())
            {
                paths[cid] = Path.Combine(cache, cid);
                if (!File.Exists(paths[cid]))
                {
                    await hub.Client.DownloadAsync(cid, paths[cid]);
                }
            }

            return ValidationWork.Run(task, cid => paths[cid], new ComputeOptions { Threads = 1 });
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await Provider.DisposeAsync();
        }
    }

    private static async Task<AccountView> AccountAsync(HubFixture hub, string id) => await hub.Client.GetAccountAsync(id);

    [Fact]
    public async Task A_bonded_validator_re_executes_every_sampled_segment_and_its_approval_verifies_the_job()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeValidator validator = await FakeValidator.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent verified = Assert.Single(job.Events, e => e.Kind == "verified");
        Assert.Contains("segment(s) 0, 1, 2, 3 of 4", verified.Detail, StringComparison.Ordinal);
        for (int i = 0; i < 4; i++)
        {
            Assert.Contains($"segment {i} by validator {validator.Id}", verified.Detail, StringComparison.Ordinal);
        }

        Assert.Equal(4, validator.Tasks);
        Assert.Equal(100 * K, (await AccountAsync(hub, trainer.Id)).Bonded);
    }

    [Fact]
    public async Task A_provider_is_never_its_own_validator_the_hub_checks_instead()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        await trainer.SendAsync(ChannelMessageTypes.ValidatorJoin, new ValidatorJoin(1)); // the only validator is the provider itself
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);

        await VerifyEverythingAsync(hub);

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Contains("segment 0 by the hub (no validator available)", verified.Detail, StringComparison.Ordinal);
        await Assert.ThrowsAsync<TimeoutException>(() => trainer.ExpectAsync<ValidationTask>(ChannelMessageTypes.ValidationTask, TimeSpan.FromMilliseconds(300)));
    }

    [Fact]
    public async Task A_provider_whose_training_does_not_reproduce_is_caught_by_a_validator_which_earns_the_bounty()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeValidator validator = await FakeValidator.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.WrongTraining); // every file consistent, the training is not the job's
        long before = (await AccountAsync(hub, validator.Id)).Balance;

        await VerifyEverythingAsync(hub);

        JobEvent failed = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verification_failed");
        Assert.Contains($"checked by validator {validator.Id}, confirmed by the referee", failed.Detail, StringComparison.Ordinal);
        Assert.Contains("ends at", failed.Detail, StringComparison.Ordinal);
        AccountView slashed = await Eventually.UntilAsync(() => AccountAsync(hub, trainer.Id), a => a.Bonded < 100 * K, "the provider's slash");
        Assert.Equal(90 * K, slashed.Bonded);
        Assert.Equal(before + (5 * K), (await AccountAsync(hub, validator.Id)).Balance); // half the slash
    }

    [Fact]
    public async Task A_validator_that_rejects_honest_work_is_slashed_on_its_signed_report_and_the_job_is_still_verified()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeValidator accuser = await FakeValidator.JoinAsync(hub, "accuser", Behavior.Accuser);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent verified = Assert.Single(job.Events, e => e.Kind == "verified");
        Assert.Contains($"the referee, after validator {accuser.Id} accused the provider falsely", verified.Detail, StringComparison.Ordinal);
        Assert.Single(job.Events, e => e.Kind == "validator_slashed"); // slashed once, however many segments it rejected
        Assert.Equal(90 * K, (await Eventually.UntilAsync(() => AccountAsync(hub, accuser.Id), a => a.Bonded < 100 * K, "the accuser's slash")).Bonded);
        Assert.Equal(100 * K, (await AccountAsync(hub, trainer.Id)).Bonded);
        Assert.Equal(ValidatorStatus.Slashed, hub.Services.GetRequiredService<ValidatorDispatch>().Standing(accuser.Id)!.Value.Status);
    }

    [Fact]
    public async Task A_lazy_validator_approves_a_canary_whose_claim_is_wrong_and_is_slashed()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        string first = await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub); // no validators yet: the hub checks, and the segments become known answers
        Assert.Contains((await hub.Client.GetJobAsync(first)).Events, e => e.Kind == "verified");

        ResultVerifier verifier = hub.Services.GetRequiredService<ResultVerifier>();
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(1, 1);
        verifier.CanaryExpectsApproval = false; // a made-up root: only a validator that computes rejects it
        await using FakeValidator lazy = await FakeValidator.JoinAsync(hub, "lazy", Behavior.Lazy);
        string second = await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub);

        AccountView account = await Eventually.UntilAsync(() => AccountAsync(hub, lazy.Id), a => a.Bonded < 100 * K, "the lazy validator's slash");
        Assert.Equal(90 * K, account.Bonded); // once, though it approved several canaries
        Assert.Contains((await hub.Client.GetJobAsync(second)).Events, e => e.Kind == "verified");
    }

    [Fact]
    public async Task A_silent_validator_misses_its_deadlines_loses_standing_and_the_work_is_checked_anyway()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ValidationDeadline = TimeSpan.FromSeconds(1) });
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeValidator silent = await FakeValidator.JoinAsync(hub, "silent", Behavior.Silent);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);

        await VerifyEverythingAsync(hub);

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Contains("by the hub (no validator available)", verified.Detail, StringComparison.Ordinal);
        (int assignments, int missed, ValidatorStatus status) = hub.Services.GetRequiredService<ValidatorDispatch>().Standing(silent.Id)!.Value;
        Assert.Equal(4, silent.Tasks); // one per segment: a replacement is always somebody else
        Assert.Equal(4, assignments);
        Assert.Equal(4, missed);
        Assert.NotEqual(ValidatorStatus.Slashed, status); // silence is unreliability, not fraud: no slash
        Assert.Equal(100 * K, (await AccountAsync(hub, silent.Id)).Bonded);
    }
}
