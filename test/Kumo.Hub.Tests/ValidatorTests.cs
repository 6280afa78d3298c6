using Kumo.Hub.Api;
using Kumo.Hub.Storage;
using Kumo.Hub.Tests.Support;
using Kumo.Hub.Verification;
using Kumo.Jobs;
using Kumo.Ledger;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Crypto;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Disputes;
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

    /// <summary>
    /// A fake provider's answers on its channel after it joined: validation tasks (as <see cref="Behavior"/> says, when it
    /// validates) and its side of refereed disputes — recomputed honestly from the agreed start, or along the path of its
    /// own cheat (a function that changes the job spec it trains by), or standing by a made-up root (an accuser).
    /// </summary>
    private sealed class FakeParticipant : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private readonly Dictionary<string, IDisputeParty> _disputes = [];
        private readonly Behavior _behavior;
        private readonly Func<string, string>? _cheat;
        private int _tasks, _opened, _claims, _reports;
        private volatile string? _lastVerdict;

        public FakeParticipant(HubFixture hub, FakeProvider provider, Behavior behavior, Func<string, string>? cheat = null)
        {
            Provider = provider;
            _behavior = behavior;
            _cheat = cheat;
            _loop = Task.Run(() => AnswerAsync(hub));
        }

        public FakeProvider Provider { get; }

        public string Id => Provider.Id;

        public int Tasks => Volatile.Read(ref _tasks);

        /// <summary>Reports it sent, and what the last one said ("approved" or "rejected: …").</summary>
        public int Reports => Volatile.Read(ref _reports);

        public string? LastVerdict => _lastVerdict;

        /// <summary>Disputes this party was opened into.</summary>
        public int Disputes => Volatile.Read(ref _opened);

        /// <summary>Answers for <paramref name="provider"/>, which has not joined the validator pool (a trainer defending its work).</summary>
        public static FakeParticipant Defending(HubFixture hub, FakeProvider provider, Func<string, string>? cheat = null) => new(hub, provider, Behavior.Honest, cheat);

        /// <summary>Drop the connection (as a crashed machine would) after answering this many dispute queries.</summary>
        public int? CrashAfterClaims { get; init; }

        public static async Task<FakeParticipant> JoinAsync(HubFixture hub, string name, Behavior behavior)
        {
            // Too small for the tests' train jobs (512 MiB), so the market offers them to the trainer.
            FakeProvider provider = await JoinBondedAsync(hub, name, FakeProvider.Inventory(cores: 1, memory: 256L << 20));
            await provider.SendAsync(ChannelMessageTypes.ValidatorJoin, new ValidatorJoin(1));
            await Eventually.UntilAsync(() => Task.FromResult(hub.Services.GetRequiredService<ValidatorDispatch>().Standing(provider.Id)), s => s is not null, $"{name} to join");
            return new FakeParticipant(hub, provider, behavior);
        }

        private async Task AnswerAsync(HubFixture hub)
        {
            string cache = Directory.CreateTempSubdirectory("kumo-participant-").FullName;
            while (!_stop.IsCancellationRequested)
            {
                if (await Provider.ReceiveAsync(TimeSpan.FromMilliseconds(500)) is not { } message)
                {
                    continue;
                }

                switch (message.Type)
                {
                    case ChannelMessageTypes.ValidationTask:
                        await ValidateAsync(hub, message.Body.Deserialize<ValidationTask>(KumoJson.Options)!, cache);
                        break;
                    case ChannelMessageTypes.DisputeOpen:
                        DisputeOpening opening = message.Body.Deserialize<DisputeOpening>(KumoJson.Options)!;
                        Interlocked.Increment(ref _opened);
                        _disputes[opening.DisputeId] = await PartyAsync(hub, opening, cache);
                        break;
                    case ChannelMessageTypes.DisputeQuery:
                        DisputeQueryRequest query = message.Body.Deserialize<DisputeQueryRequest>(KumoJson.Options)!;
                        SignedEnvelope? claim = _disputes[query.DisputeId].Answer(new DisputeQuery(query.DisputeId, query.Round, query.Step, query.Operator,
                            DateTimeOffset.FromUnixTimeMilliseconds(query.DeadlineMs)));
                        await Provider.SendAsync(ChannelMessageTypes.DisputeClaim, claim!);
                        if (++_claims == CrashAfterClaims)
                        {
                            Provider.Crash();
                            return;
                        }

                        break;
                    case ChannelMessageTypes.DisputeReveal:
                        DisputeRevealRequest reveal = message.Body.Deserialize<DisputeRevealRequest>(KumoJson.Options)!;
                        IDisputeParty party = _disputes[reveal.DisputeId];
                        string file = Path.Combine(cache, $"reveal-{reveal.Step}-{reveal.Operator}.safetensors");
                        await File.WriteAllBytesAsync(file, OpeningFile.Write(party.Open(reveal.Step, reveal.Operator)!));
                        string cid = (await hub.Client.UploadFileAsync(Provider.Signer, file)).Root.ToString();
                        await Provider.SendAsync(ChannelMessageTypes.DisputeRevealed, new DisputeRevelation(reveal.DisputeId, reveal.Step, cid));
                        break;
                }
            }
        }

        private async Task ValidateAsync(HubFixture hub, ValidationTask task, string cache)
        {
            Interlocked.Increment(ref _tasks);
            string claim = task.Segment?.ClaimedRoot ?? task.Inference!.OutputCid;
            ValidationReport? report = _behavior switch
            {
                Behavior.Lazy => new ValidationReport(task.TaskId, task.JobId, "lazy", claim, true, claim, "approved without looking"),
                Behavior.Accuser => new ValidationReport(task.TaskId, task.JobId, "accused", claim, false, new string('0', 64), "rejected without looking"),
                Behavior.Silent => null,
                _ => ValidationWork.Run(task, await FetchAsync(hub, task.SpecJson, task.Segment?.StartCheckpointCid, task.Inference?.OutputCid, cache), new ComputeOptions { Threads = 1 }),
            };
            if (report is not null)
            {
                await Provider.SendSignedAsync(ChannelMessageTypes.ValidationReport, ValidationMessageTypes.Report, report);
                _lastVerdict = report.Approves ? "approved" : $"rejected: {report.Subject}: {report.Detail}";
                Interlocked.Increment(ref _reports);
            }
        }

        private async Task<IDisputeParty> PartyAsync(HubFixture hub, DisputeOpening opening, string cache)
        {
            string specJson = opening.Role == "provider" && _cheat is not null ? _cheat(opening.Task.SpecJson) : opening.Task.SpecJson;
            SegmentCheckRequest segment = opening.Task.Segment!;
            Func<string, string> paths = await FetchAsync(hub, opening.Task.SpecJson, segment.StartCheckpointCid, null, cache);
            JobSpec spec = JobSpecReader.ReadWireForm(specJson, "spec").Spec!;
            TrainWorkload train = spec.Workload.Train!;
            TrainingData data = WorkloadRunner.LoadTrainingData(train, paths(spec.Workload.Inputs.Single().Cid!));
            ModelSpec model = WorkloadRunner.ModelSpecFor(train);
            TrainOptions options = WorkloadRunner.OptionsFor(train, new ComputeOptions { Threads = 1 });
            TrainingState start = segment.StartCheckpointCid is { } cid
                ? WorkloadRunner.ReadCheckpoint(await File.ReadAllBytesAsync(paths(cid)))
                : Trainer.InitialState(model, data, options);
            var replayer = new TrainingReplayer(model, data, options);
            return opening.Role == "challenger" && _behavior == Behavior.Accuser
                ? new StandsByItsRoot(Provider.Signer.Key, replayer, start, segment.ToStep)
                : new ReplayingParty(Provider.Signer.Key, replayer, start);
        }

        private static async Task<Func<string, string>> FetchAsync(HubFixture hub, string specJson, string? checkpoint, string? output, string cache)
        {
            JobSpec spec = JobSpecReader.ReadWireForm(specJson, "spec").Spec!;
            var paths = new Dictionary<string, string>();
            foreach (string cid in spec.Workload.Inputs.Select(i => i.Cid).Append(checkpoint).Append(output).OfType<string>().Distinct())
            {
                paths[cid] = Path.Combine(cache, cid);
                if (!File.Exists(paths[cid]))
                {
                    await hub.Client.DownloadAsync(cid, paths[cid]);
                }
            }

            return cid => paths[cid];
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _loop;
            await Provider.DisposeAsync();
        }
    }

    /// <summary>An accuser in the game: its claims for the last step and its last operator are the zero root it reported; the rest honest.</summary>
    private sealed class StandsByItsRoot : ReplayingParty
    {
        private readonly AccountKey _key;
        private readonly int _toStep, _last;
        private long _nonce = 1L << 40;

        public StandsByItsRoot(AccountKey key, IStepReplayer replayer, TrainingState start, int toStep)
            : base(key, replayer, start) => (_key, _toStep, _last) = (key, toStep, replayer.OperatorCount - 1);

        public override SignedEnvelope? Answer(DisputeQuery query) =>
            query.Step == _toStep && (query.Operator == DisputeQuery.StateOperator || query.Operator == _last)
                ? SignedEnvelope.Create(_key, DisputeClaim.EnvelopeType, new DisputeClaim(query.DisputeId, query.Round, query.Step, query.Operator, new string('0', 64)), ++_nonce, Time.GetUtcNow())
                : base.Answer(query);
    }

    private static async Task<AccountView> AccountAsync(HubFixture hub, string id) => await hub.Client.GetAccountAsync(id);

    [Fact]
    public async Task A_validator_whose_answers_stood_is_paid_from_the_network_fee_pool_for_the_share_of_the_job_it_re_did()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        long before = (await AccountAsync(hub, validator.Id)).Balance;
        (string jobId, _) = await TrainForAsync(hub, trainer, Publish.Honestly, billed: TimeSpan.FromMinutes(4)); // a job that costs something
        long pool = hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.FeePool)), jobPaid = hub.Ledger.Read(s => s.PaidFrom(jobId));

        await VerifyEverythingAsync(hub);

        // Each of the 4 one-step checks re-did 2.5 % of the job's 40 steps, and is due that share of what the job paid; the
        // pool holds this job's 2 % network fee, so the first check takes all of it and the rest find it empty: on
        // probation (every segment checked) checks cost more than one job's fee; trusted providers' jobs refill it.
        JobEvent paid = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "validators_paid");
        Assert.Matches($@"^from the network fee pool: {validator.Id} {pool} µKUMO for segment \d \(steps \d+–\d+\) \(2\.5% of the job's work\)", paid.Detail);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(paid.Detail, "the network fee pool is empty").Count);
        Assert.True(pool < jobPaid * 25 / 1000);
        Assert.Equal(pool, hub.Ledger.Read(s => s.ValidationRewards(jobId).Sum(r => r.Amount)));
        Assert.Equal(0, hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.FeePool)));
        Assert.Equal(before + pool, (await AccountAsync(hub, validator.Id)).Balance);
        Assert.All(hub.Ledger.Read(s => s.ValidationRewards(jobId).ToList()), r => Assert.Equal(validator.Id, r.Validator.Value)); // never the job's provider
    }

    [Fact]
    public async Task A_bonded_validator_re_executes_every_sampled_segment_and_its_approval_verifies_the_job()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent verified = Assert.Single(job.Events, e => e.Kind == "verified");
        Assert.Contains("segment(s) 0, 1, 2, 3 of 4", verified.Detail, StringComparison.Ordinal);
        for (int i = 0; i < 4; i++)
        {
            // One commit interval of it: with a root after every step, one step, from its checkpoint or a revealed state.
            Assert.Matches($@"segment {i} \(steps (\d+)–\1\) from (its checkpoint|the state after step \d+ the provider revealed), by validator {validator.Id}", verified.Detail);
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
        Assert.Matches(@"segment 0 \(steps \d+–\d+\) from [^,]+, by the hub \(no validator available\)", verified.Detail);
        await Assert.ThrowsAsync<TimeoutException>(() => trainer.ExpectAsync<ValidationTask>(ChannelMessageTypes.ValidationTask, TimeSpan.FromMilliseconds(300)));
    }

    /// <summary>The cheat of <see cref="Publish.WrongTraining"/>: the spec it really trained by (twice the learning rate).</summary>
    private static string DoubleLearningRate(string specJson)
    {
        JsonNode spec = JsonNode.Parse(specJson)!;
        spec["workload"]!["train"]!["learningRate"] = "0.02";
        return spec.ToJsonString();
    }

    [Fact]
    public async Task A_provider_whose_training_does_not_reproduce_loses_the_refereed_dispute_at_one_operator_and_the_validator_earns_the_bounty()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { DisputeRoundTimeout = TimeSpan.FromSeconds(20) });
        FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.WrongTraining); // every file consistent, the training is not the job's
        await using FakeParticipant defender = FakeParticipant.Defending(hub, trainer, DoubleLearningRate); // defends the path it took
        long before = (await AccountAsync(hub, validator.Id)).Balance;

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent dispute = job.Events.First(e => e.Kind == "dispute");
        Assert.Contains("provider_wrong at step", dispute.Detail, StringComparison.Ordinal);
        Assert.Contains(", operator ", dispute.Detail, StringComparison.Ordinal); // narrowed to one operator of one step
        JobEvent failed = Assert.Single(job.Events, e => e.Kind == "verification_failed");
        Assert.Contains($"checked by validator {validator.Id}, upheld in dispute", failed.Detail, StringComparison.Ordinal);
        AccountView slashed = await Eventually.UntilAsync(() => AccountAsync(hub, trainer.Id), a => a.Bonded < 100 * K, "the provider's slash");
        Assert.Equal(90 * K, slashed.Bonded);
        Assert.Equal(before + (5 * K), (await AccountAsync(hub, validator.Id)).Balance); // half the slash
    }

    [Fact]
    public async Task A_provider_that_does_not_answer_the_dispute_loses_it_by_the_deadline()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { DisputeRoundTimeout = TimeSpan.FromSeconds(2) });
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer"); // never answers a dispute (gone quiet)
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0);
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.WrongTraining);

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Contains(job.Events, e => e.Kind == "dispute" && e.Detail.Contains("provider_timed_out", StringComparison.Ordinal));
        Assert.Single(job.Events, e => e.Kind == "verification_failed");
        Assert.Equal(90 * K, (await Eventually.UntilAsync(() => AccountAsync(hub, trainer.Id), a => a.Bonded < 100 * K, "the provider's slash")).Bonded);
        Assert.Equal(100 * K, (await AccountAsync(hub, validator.Id)).Bonded);
    }

    [Fact]
    public async Task A_provider_that_goes_offline_in_the_middle_of_a_dispute_loses_it_at_the_next_deadline()
    {
        // Rounds long enough for the honest challenger to prepare its four games one after another while the rest of the
        // suite loads the machine (3 s was not, once), short enough to wait out the crashed provider.
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { DisputeRoundTimeout = TimeSpan.FromSeconds(8) });
        FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0);
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        string jobId = await TrainAsync(hub, trainer, Publish.WrongTraining);
        await using FakeParticipant defender = new(hub, trainer, Behavior.Honest, DoubleLearningRate) { CrashAfterClaims = 3 }; // a few answers, then gone

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        Assert.Contains(job.Events, e => e.Kind == "dispute");
        Assert.All(job.Events.Where(e => e.Kind == "dispute"), e => Assert.Contains("provider_timed_out", e.Detail, StringComparison.Ordinal));
        Assert.Single(job.Events, e => e.Kind == "verification_failed");
        Assert.Equal(90 * K, (await Eventually.UntilAsync(() => AccountAsync(hub, trainer.Id), a => a.Bonded < 100 * K, "the provider's slash")).Bonded);
    }

    [Fact]
    public async Task A_validator_that_rejects_honest_work_loses_the_dispute_and_is_slashed_on_what_it_signed_and_the_job_is_still_verified()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { DisputeRoundTimeout = TimeSpan.FromSeconds(20) });
        FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0);
        await using FakeParticipant accuser = await FakeParticipant.JoinAsync(hub, "accuser", Behavior.Accuser);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);
        await using FakeParticipant defender = FakeParticipant.Defending(hub, trainer);

        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent verified = Assert.Single(job.Events, e => e.Kind == "verified");
        Assert.Contains($"the referee, after validator {accuser.Id} challenged it and lost dispute", verified.Detail, StringComparison.Ordinal);
        Assert.All(job.Events.Where(e => e.Kind == "dispute"), e => Assert.Contains("challenger_wrong", e.Detail, StringComparison.Ordinal));
        Assert.Single(job.Events, e => e.Kind == "validator_slashed"); // slashed once, however many segments it rejected
        Assert.Equal(90 * K, (await Eventually.UntilAsync(() => AccountAsync(hub, accuser.Id), a => a.Bonded < 100 * K, "the accuser's slash")).Bonded);
        Assert.Equal(100 * K, (await AccountAsync(hub, trainer.Id)).Bonded);
        Assert.Equal(ValidatorStatus.Slashed, hub.Services.GetRequiredService<ValidatorDispatch>().Standing(accuser.Id)!.Value.Status);
        IReadOnlyList<ProviderView> providers = await hub.Client.ListProvidersAsync();
        Assert.Equal("slashed", providers.Single(p => p.Id.Value == accuser.Id).Validator); // what `kumo provider list` shows
        Assert.Null(providers.Single(p => p.Id.Value == trainer.Id).Validator); // it never offered to validate
    }

    [Fact]
    public async Task Two_challenges_of_the_same_segment_are_settled_by_one_game()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { DisputeRoundTimeout = TimeSpan.FromSeconds(20) });
        FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        await using FakeParticipant first = await FakeParticipant.JoinAsync(hub, "first", Behavior.Accuser);
        await using FakeParticipant second = await FakeParticipant.JoinAsync(hub, "second", Behavior.Accuser);
        string jobId = await TrainAsync(hub, trainer, Publish.Honestly);
        await using FakeParticipant defender = FakeParticipant.Defending(hub, trainer);
        JobView job = await hub.Client.GetJobAsync(jobId);
        string path = Path.Combine(Directory.CreateTempSubdirectory("kumo-dispute-").FullName, "commitments.json");
        await hub.Client.DownloadAsync(job.Outputs.Single(o => o.Path == "out/commitments.json").Cid, path);
        string root = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsArray()[0]!["root"]!.GetValue<string>();
        var task = new ValidationTask("vt-test", jobId, job.Spec.GetRawText(), 0, new SegmentCheckRequest(0, 0, null, null, 10, root), null);
        DisputeService disputes = hub.Services.GetRequiredService<DisputeService>();
        string runKey = new('a', 64);

        DisputeOutcome[] outcomes = await Task.WhenAll(
            disputes.RunAsync(runKey, task, trainer.Id, first.Id, CancellationToken.None),
            disputes.RunAsync(runKey, task, trainer.Id, second.Id, CancellationToken.None));

        Assert.Same(outcomes[0], outcomes[1]); // the second challenge got the first game's verdict
        Assert.Equal(DisputeVerdict.ChallengerWrong, outcomes[0].Verdict);
        Assert.Equal(1, defender.Disputes); // the provider played once
        Assert.Equal(1, first.Disputes + second.Disputes);
        Assert.InRange(outcomes[0].Rounds, 1, RefereedDispute.MaxRounds(10, 1 << 12));
    }

    [Fact]
    public async Task A_lazy_validator_approves_a_canary_whose_claim_is_wrong_and_is_slashed()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        string first = await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub); // no validators yet: the hub checks, and the segments become known answers
        Assert.Contains((await hub.Client.GetJobAsync(first)).Events, e => e.Kind == "verified");

        // Every canary's claim wrong — a made-up root: only a validator that computes rejects it.
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(1, 1, canaryAnswer: false);
        await using FakeParticipant lazy = await FakeParticipant.JoinAsync(hub, "lazy", Behavior.Lazy);
        string second = await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub);

        AccountView account = await Eventually.UntilAsync(() => AccountAsync(hub, lazy.Id), a => a.Bonded < 100 * K, "the lazy validator's slash");
        Assert.Equal(90 * K, account.Bonded); // once, though it approved several canaries
        Assert.Contains((await hub.Client.GetJobAsync(second)).Events, e => e.Kind == "verified");

        // Expelled for good: a fresh pool — what a hub restart leaves — still refuses it, on the ledger's record.
        ValidatorDispatch dispatch = hub.Services.GetRequiredService<ValidatorDispatch>();
        dispatch.SetCanaryRates(0, 0);
        ApiProblem refused = await Assert.ThrowsAsync<ApiProblem>(() => dispatch.OnJoinAsync(lazy.Id, CancellationToken.None));
        Assert.Equal("validator_slashed", refused.Code);
        Assert.Contains("slashed as a validator (canary)", refused.Message, StringComparison.Ordinal);
        Assert.Null(dispatch.Standing(lazy.Id));
        Assert.Equal("slashed", (await StoredStandingAsync(hub, lazy.Id))!.Status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_validator_that_answers_a_canary_right_is_paid_for_it_like_a_check_of_real_work(bool canaryAnswer)
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        (string first, _) = await TrainForAsync(hub, trainer, Publish.Honestly, billed: TimeSpan.FromMinutes(4)); // a job that costs something
        await VerifyEverythingAsync(hub); // no validators yet: the hub checks (unpaid), and the segments become known answers
        long pool = hub.Ledger.Read(s => s.Balance(Kumo.Ledger.LedgerAddress.FeePool));
        Assert.True(pool > 0, "the job's network fee is in the pool");

        // Every assignment a canary, with a right claim (to approve) or a made-up root (to reject).
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(1, 1, canaryAnswer);
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        long before = (await AccountAsync(hub, validator.Id)).Balance;
        await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub);

        // The canaries were made from the first job's checked segments: the validator is paid as for checking that job —
        // its share (2.5% a one-step check) of what the job paid, from the fee pool, which holds the job's 2% fee: the
        // first canary takes it all and later ones find it empty. The ledger sees an ordinary reward on its signed report.
        JobView known = await Eventually.UntilAsync(() => hub.Client.GetJobAsync(first),
            j => j.Events.Any(e => e.Kind == "validators_paid" && e.Detail.Contains("µKUMO for a known-answer check", StringComparison.Ordinal)), "the canary's pay");
        Assert.Contains(known.Events, e => e.Detail.StartsWith(
            $"from the network fee pool: {validator.Id} {pool} µKUMO for a known-answer check (canary) of segment ", StringComparison.Ordinal));
        Assert.Equal(pool, hub.Ledger.Read(s => s.ValidationRewards(first).Where(r => r.Validator.Value == validator.Id).Sum(r => r.Amount)));
        Assert.Equal(before + pool, (await AccountAsync(hub, validator.Id)).Balance);
        Assert.Equal(100 * K, (await AccountAsync(hub, validator.Id)).Bonded); // right answers: nothing taken
        using var source = new Kumo.Hub.Storage.Sqlite.SqliteLedgerSource(Path.Combine(hub.Options.DataDirectory, "hub.db"));
        Kumo.Ledger.Audit.AuditReport audit = new Kumo.Ledger.Audit.Auditor().Run(source);
        Assert.True(audit.Ok, audit.ToString()); // the audit replays the canary's reward
    }

    [Fact]
    public async Task A_validators_standing_is_kept_in_the_store_so_a_restarted_hub_neither_resets_its_probation_nor_forgets_a_drop()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        ValidatorDispatch dispatch = hub.Services.GetRequiredService<ValidatorDispatch>();
        dispatch.SetCanaryRates(0, 0);
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", Behavior.Honest);
        await TrainAsync(hub, trainer, Publish.Honestly);
        await VerifyEverythingAsync(hub);

        (int assignments, int missed, ValidatorStatus status) = dispatch.Standing(validator.Id)!.Value;
        Assert.True(assignments >= 4, $"{assignments} assignments");
        ValidatorStandingRecord saved = (await StoredStandingAsync(hub, validator.Id))!;
        Assert.Equal((assignments, 0L, "active"), ((int)saved.Assignments, saved.Missed, saved.Status));
        Assert.True(saved.Reputation > 0.5, $"each answer raised it: {saved.Reputation}"); // a newcomer starts at 0.5

        // A fresh pool is what a restart leaves; the validator's next join takes its record back.
        dispatch.SetCanaryRates(0, 0);
        Assert.Null(dispatch.Standing(validator.Id));
        await dispatch.OnJoinAsync(validator.Id, CancellationToken.None);
        Assert.Equal((assignments, missed, status), dispatch.Standing(validator.Id)!.Value);
        Assert.Equal(saved.Reputation, (await StoredStandingAsync(hub, validator.Id))!.Reputation);

        // One dropped for missing deadlines stays dropped across the restart, though it is still bonded and connected.
        await using (IHubTransaction tx = await hub.Services.GetRequiredService<IHubStore>().BeginAsync(CancellationToken.None))
        {
            await tx.UpsertValidatorStandingAsync(saved with { Reputation = 0.05, Missed = 3, Status = "dropped" });
            await tx.CommitAsync();
        }

        dispatch.SetCanaryRates(0, 0);
        await dispatch.OnJoinAsync(validator.Id, CancellationToken.None);
        Assert.Equal((assignments, 3, ValidatorStatus.Dropped), dispatch.Standing(validator.Id)!.Value);
        Assert.DoesNotContain(validator.Id, dispatch.Available());
    }

    private static async Task<ValidatorStandingRecord?> StoredStandingAsync(HubFixture hub, string validator)
    {
        await using IHubReader reader = await hub.Services.GetRequiredService<IHubStore>().OpenReaderAsync(CancellationToken.None);
        return await reader.GetValidatorStandingAsync(validator);
    }

    [Theory]
    [InlineData(Behavior.Lazy)]
    [InlineData(Behavior.Honest)]
    public async Task An_inference_canary_with_a_changed_row_slashes_a_validator_that_approves_it_and_only_that_one(Behavior behavior)
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider inferrer = await JoinBondedAsync(hub, "inferrer");
        string first = await InferDigitsAsync(hub, inferrer);
        await VerifyEverythingAsync(hub); // no validators yet: the hub checks, and the sample becomes a known answer
        Assert.Contains((await hub.Client.GetJobAsync(first)).Events, e => e.Kind == "verified");

        // Every canary's claim wrong: the checked output with one sampled row's class changed.
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(1, 1, canaryAnswer: false);
        await using FakeParticipant validator = await FakeParticipant.JoinAsync(hub, "validator", behavior);
        string second = await InferDigitsAsync(hub, inferrer);
        await VerifyEverythingAsync(hub);

        await Eventually.UntilAsync(() => Task.FromResult(validator.Reports), n => n >= 1, "the validator's report on the canary");
        if (behavior == Behavior.Lazy)
        {
            AccountView account = await Eventually.UntilAsync(() => AccountAsync(hub, validator.Id), a => a.Bonded < 100 * K, "the lazy validator's slash");
            Assert.Equal(90 * K, account.Bonded);
            Assert.Equal(ValidatorStatus.Slashed, hub.Services.GetRequiredService<ValidatorDispatch>().Standing(validator.Id)!.Value.Status);
        }
        else
        {
            // It recomputed the sample, found the changed row and rejected: passed, and nothing is taken from it.
            Assert.StartsWith("rejected: rows ", validator.LastVerdict, StringComparison.Ordinal);
            await Task.Delay(1000);
            Assert.Equal(100 * K, (await AccountAsync(hub, validator.Id)).Bonded);
            Assert.NotEqual(ValidatorStatus.Slashed, hub.Services.GetRequiredService<ValidatorDispatch>().Standing(validator.Id)!.Value.Status);
        }

        Assert.Contains((await hub.Client.GetJobAsync(second)).Events, e => e.Kind == "verified");
    }

    [Fact]
    public async Task A_silent_validator_misses_its_deadlines_loses_standing_and_the_work_is_checked_anyway()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { ValidationDeadline = TimeSpan.FromSeconds(1) });
        await using FakeProvider trainer = await JoinBondedAsync(hub, "trainer");
        hub.Services.GetRequiredService<ValidatorDispatch>().SetCanaryRates(0, 0); // every assignment real work
        await using FakeParticipant silent = await FakeParticipant.JoinAsync(hub, "silent", Behavior.Silent);
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
