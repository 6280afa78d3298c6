using System.Text.Json.Nodes;
using Kumo.Client;
using Kumo.Hub.Storage;
using Kumo.Hub.Tests.Support;
using Kumo.Hub.Verification;
using Kumo.Jobs;
using Kumo.Leases;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Validators;
using Microsoft.Extensions.DependencyInjection;

namespace Kumo.Hub.Tests;

/// <summary>Proof of learning against a real hub: a provider runs a real train job and publishes honest or forged commitments.</summary>
public class ResultVerifierTests
{
    private const long K = Kumo.Ledger.Amounts.MicrosPerKumo;

    internal static string Digits()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string path = Path.Combine(d.FullName, ".kumo", "datasets", "digits.csv.gz");
            if (File.Exists(Path.Combine(d.FullName, "Kumo.slnx")))
            {
                Assert.True(File.Exists(path), $"{path} is missing: run scripts/datasets.sh (test.sh does)");
                return path;
            }
        }

        throw new InvalidOperationException("repository root not found");
    }

    /// <summary>The provider takes the job it is offered and starts it.</summary>
    private static async Task<LeaseOffer> StartAsync(FakeProvider provider)
    {
        LeaseOffer offer = await provider.ExpectAsync<LeaseOffer>(ChannelMessageTypes.LeaseOffer);
        await provider.AcceptAsync(offer);
        await provider.StartedAsync(offer.LeaseId);
        return offer;
    }

    /// <summary>Uploads every file of <paramref name="output"/> as out/NAME and reports the lease completed with them.</summary>
    private static async Task PublishAsync(HubFixture hub, FakeProvider provider, LeaseOffer offer, string jobId, string output)
    {
        var files = new List<OutputFile>();
        foreach (string file in Directory.EnumerateFiles(output).Order(StringComparer.Ordinal))
        {
            files.Add(new OutputFile("out/" + Path.GetFileName(file), (await hub.Client.UploadFileAsync(provider.Signer, file)).Root.ToString(), new FileInfo(file).Length));
        }

        await provider.ResultAsync(offer.LeaseId, CloseReason.Completed, 0, [.. files]);
        await Eventually.UntilAsync(() => hub.Client.GetJobAsync(jobId), j => j.State == JobState.Succeeded, "the job to succeed");
    }

    /// <summary>One verification pass that checks every segment and every row or token (no sampling luck in tests).</summary>
    internal static Task<int> VerifyEverythingAsync(HubFixture hub)
    {
        ResultVerifier verifier = hub.Services.GetRequiredService<ResultVerifier>();
        verifier.Sampling = new SegmentSampling(probationQ: 1, probationSegments: 1000, trustedQ: 1);
        verifier.InferenceQ = 1;
        return verifier.RunOnceAsync(CancellationToken.None);
    }

    /// <summary>How a test trainer publishes its run.</summary>
    internal enum Publish
    {
        /// <summary>What it trained.</summary>
        Honestly,

        /// <summary>Claims training it did not do: the last two commitments are replaced by the root of the state at step 20.</summary>
        ForgedCommitments,

        /// <summary>Trains at another learning rate than the job's and publishes that run, self-consistent in every file.</summary>
        WrongTraining,

        /// <summary>What it trained, but step-roots.json names another root after step 20 than commitments.json does.</summary>
        ContradictingStepRoots,
    }

    private static async Task<(HubFixture Hub, FakeProvider Provider, string JobId)> RunAsync(bool forge)
    {
        HubFixture hub = await HubFixture.StartAsync();
        FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, forge ? Publish.ForgedCommitments : Publish.Honestly);
        await VerifyEverythingAsync(hub);
        return (hub, provider, jobId);
    }

    /// <summary>A fake provider with 100 KUMO bonded.</summary>
    internal static async Task<FakeProvider> JoinBondedAsync(HubFixture hub, string name, Kumo.Hardware.HardwareInventory? inventory = null)
    {
        FakeProvider provider = await FakeProvider.JoinAsync(hub, name, inventory ?? FakeProvider.Inventory(cores: 2));
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Faucet, new FaucetPayload(100 * K));
        await hub.Client.SubmitLedgerAsync(provider.Signer, LedgerMessageTypes.Bond, new BondPayload(100 * K));
        return provider;
    }

    /// <summary>Submits a 40-step train job, has <paramref name="provider"/> run it for real and publish it; returns the job id once it succeeded.</summary>
    internal static async Task<string> TrainAsync(HubFixture hub, FakeProvider provider, Publish how) => (await TrainForAsync(hub, provider, how)).JobId;

    /// <summary>
    /// <see cref="TrainAsync"/>, returning the tenant that submitted (and pays for) the job too; the hub's clock moves
    /// <paramref name="billed"/> while the job runs, so that the lease costs something.
    /// </summary>
    internal static async Task<(string JobId, RequestSigner Tenant)> TrainForAsync(HubFixture hub, FakeProvider provider, Publish how, TimeSpan billed = default)
    {
        RequestSigner tenant = await hub.TenantAsync();
        string digits = Digits();
        string cid = (await hub.Client.UploadFileAsync(tenant, digits)).Root.ToString();
        string spec = $$"""
            {"version":"kumo/v1","name":"pol","resources":{"cpu":"1","memory":"512Mi","disk":"64Mi"},
             "workload":{"train":{"model":"mlp","data":"digits.csv.gz","steps":40,"batchSize":8,"learningRate":"0.01","optimizer":"adamw","seed":3,"checkpointEvery":10,"hidden":16,"layers":2,"heads":4,"embed":64,"context":64},
             "inputs":[{"name":"digits.csv.gz","cid":"{{cid}}"}],"outputs":["out/*"]},
             "price":{"maxPerHour":"1"},"timeout":"5m"}
            """;
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(spec));
        LeaseOffer offer = await StartAsync(provider);
        if (billed > TimeSpan.Zero)
        {
            await Eventually.UntilAsync(() => hub.Client.GetJobAsync(accepted.JobId), j => j.Events.Any(e => e.Kind == "started"), $"job {accepted.JobId} to start");
            hub.Clock.Advance(billed);
        }

        // The provider really trains (the same runner the sandbox runs), then publishes — honestly or not.
        string inputs = Directory.CreateTempSubdirectory("kumo-pol-in-").FullName, output = Directory.CreateTempSubdirectory("kumo-pol-out-").FullName;
        File.Copy(digits, Path.Combine(inputs, "digits.csv.gz"));
        string trained = how == Publish.WrongTraining ? spec.Replace("\"learningRate\":\"0.01\"", "\"learningRate\":\"0.02\"", StringComparison.Ordinal) : spec;
        JobSpec parsed = JobSpecReader.ReadWireForm(Specs.Wire(trained), "spec").Spec!;
        string kept = Directory.CreateTempSubdirectory("kumo-pol-kept-").FullName;
        new WorkloadRunner(TextWriter.Null, new ComputeOptions { Threads = 1 }) { Retention = new StateRetention(kept, 64L << 20) }.Run(parsed.Workload, inputs, output);
        provider.RevealState = async request =>
        {
            // As an agent does (RetainedStates, StateRevealer): upload the state it kept after that step of this job.
            string file = Path.Combine(kept, WorkloadRunner.StateFileName(request.Step));
            return request.JobId == accepted.JobId && File.Exists(file)
                ? new StateRevelation(request.RequestId, (await hub.Client.UploadFileAsync(provider.Signer, file)).Root.ToString())
                : new StateRevelation(request.RequestId, null, $"no state kept after step {request.Step} of job {request.JobId}");
        };
        if (how == Publish.ForgedCommitments)
        {
            var list = JsonNode.Parse(File.ReadAllText(Path.Combine(output, "commitments.json")))!.AsArray();
            string stale = list[1]!["root"]!.GetValue<string>();
            list[2]!["root"] = stale;
            list[3]!["root"] = stale;
            File.WriteAllText(Path.Combine(output, "commitments.json"), list.ToJsonString());
        }

        if (how == Publish.ContradictingStepRoots)
        {
            StepRoots roots = StepRoots.Parse(File.ReadAllBytes(Path.Combine(output, WorkloadRunner.StepRootsFileName)));
            string[] changed = [.. roots.Roots];
            changed[(20 - roots.FirstStep) / roots.Every] = new string('0', 64);
            File.WriteAllText(Path.Combine(output, WorkloadRunner.StepRootsFileName), StepRoots.ToJson(roots.FirstStep, roots.Every, changed));
        }

        await PublishAsync(hub, provider, offer, accepted.JobId, output);
        return (accepted.JobId, tenant);
    }

    [Fact]
    public async Task An_honest_train_job_is_verified_on_every_segment()
    {
        (HubFixture hub, FakeProvider provider, string jobId) = await RunAsync(forge: false);
        await using (hub)
        await using (provider)
        {
            JobView job = await hub.Client.GetJobAsync(jobId);
            JobEvent verified = Assert.Single(job.Events, e => e.Kind == "verified");
            Assert.Contains("one commit interval of segment(s) 0, 1, 2, 3 of 4", verified.Detail, StringComparison.Ordinal); // it published step-roots.json
            Assert.Contains("the provider revealed", verified.Detail, StringComparison.Ordinal); // an interval that starts inside a segment
            Assert.Contains("(4 of the run's 40 steps re-executed: 1.100× its training)", verified.Detail, StringComparison.Ordinal); // one step of each
            Assert.Equal(100 * K, (await hub.Client.GetAccountAsync(provider.Id)).Bonded);
        }
    }

    [Fact]
    public async Task A_revealed_state_that_is_not_the_committed_one_costs_a_check_from_the_checkpoint_and_nothing_else()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        Func<StateRevealRequest, Task<StateRevelation>> honest = provider.RevealState;
        provider.RevealState = async request =>
        {
            // It reveals the state it kept after that step with one byte of its last weight changed: the right step, but
            // not the state whose root it published.
            StateRevelation real = await honest(request);
            string file = Path.Combine(Directory.CreateTempSubdirectory("kumo-reveal-").FullName, "state.safetensors");
            await hub.Client.DownloadAsync(real.Cid!, file);
            byte[] bytes = await File.ReadAllBytesAsync(file);
            bytes[^1] ^= 0x01;
            await File.WriteAllBytesAsync(file, bytes);
            return new StateRevelation(request.RequestId, (await hub.Client.UploadFileAsync(provider.Signer, file)).Root.ToString());
        };

        await VerifyEverythingAsync(hub);

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.DoesNotContain("the provider revealed", verified.Detail, StringComparison.Ordinal);
        Assert.Matches(@"from its checkpoint \(the state after step (\d+) was not revealed: what it revealed \(\w+\) is the state after step \1 with root [0-9a-f]{64}, not the root [0-9a-f]{64} it published after step \1\)", verified.Detail);
        Assert.Equal(100 * K, (await hub.Client.GetAccountAsync(provider.Id)).Bonded); // a missing state is no fault
    }

    [Fact]
    public async Task A_provider_that_does_not_answer_a_reveal_is_checked_from_the_checkpoint_after_the_deadline()
    {
        await using HubFixture hub = await HubFixture.StartAsync(o => o with { StateRevealTimeout = TimeSpan.FromMilliseconds(300) });
        await using FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        provider.RevealState = async request =>
        {
            await Task.Delay(TimeSpan.FromSeconds(5));
            return new StateRevelation(request.RequestId, null, "too late");
        };

        await VerifyEverythingAsync(hub);

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Contains("was not revealed: no answer within 0.3 s", verified.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("the provider revealed", verified.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_providers_standing_is_kept_in_the_store_so_a_restarted_hub_keeps_a_trusted_provider_trusted()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trusted");
        IHubStore store = hub.Services.GetRequiredService<IHubStore>();
        await using (IHubTransaction tx = await store.BeginAsync(CancellationToken.None))
        {
            // What a hub restart leaves of a provider past probation: its standing in the store, nothing in memory.
            await tx.UpsertTrainingStandingAsync(new TrainingStandingRecord(provider.Id, 60, 0));
            await tx.CommitAsync();
        }

        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        await hub.Services.GetRequiredService<ResultVerifier>().RunOnceAsync(CancellationToken.None); // the default sampling

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Contains("(q 0.05)", verified.Detail, StringComparison.Ordinal); // trusted, not back on probation's 0.74
        await using IHubReader reader = await store.OpenReaderAsync(CancellationToken.None);
        Assert.Equal(64, (await reader.ListTrainingStandingAsync()).Single(t => t.ProviderId == provider.Id).Delivered); // 60 + its 4 segments
    }

    [Fact]
    public async Task A_check_run_again_after_a_restart_uses_the_draw_made_before_it_and_counts_no_segment_twice()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trusted");
        IHubStore store = hub.Services.GetRequiredService<IHubStore>();
        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        await using (IHubTransaction tx = await store.BeginAsync(CancellationToken.None))
        {
            // What a hub that stopped mid-check leaves: the provider is trusted by now (q would be 0.05), but this job's
            // check had already drawn every segment (q 1) and counted its 4 segments.
            await tx.UpsertTrainingStandingAsync(new TrainingStandingRecord(provider.Id, 64, 0));
            await tx.InsertVerificationDrawAsync(new VerificationDrawRecord(jobId, "00000000000000ab", 1.0, 0));
            await tx.CommitAsync();
        }

        await hub.Services.GetRequiredService<ResultVerifier>().RunOnceAsync(CancellationToken.None); // the default sampling

        JobEvent verified = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Contains("segment(s) 0, 1, 2, 3 of 4 (q 1.00)", verified.Detail, StringComparison.Ordinal); // the earlier draw, not a new roll
        await using IHubReader reader = await store.OpenReaderAsync(CancellationToken.None);
        Assert.Equal(64, (await reader.ListTrainingStandingAsync()).Single(t => t.ProviderId == provider.Id).Delivered); // not 68
        Assert.Equal("00000000000000ab", (await reader.GetVerificationDrawAsync(jobId))!.Seed);
    }

    [Fact]
    public async Task A_check_that_fails_on_an_unexpected_error_is_tried_again_after_a_delay()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        ResultVerifier verifier = hub.Services.GetRequiredService<ResultVerifier>();
        int faults = 0;
        verifier.BeforeCheck = id => id == jobId && faults++ == 0 ? throw new IOException("injected: the disk hiccupped") : Task.CompletedTask;

        Assert.Equal(0, await verifier.RunOnceAsync(CancellationToken.None)); // the error is logged, not thrown at the pass
        Assert.DoesNotContain((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind.StartsWith("verif", StringComparison.Ordinal));
        Assert.Equal(0, await verifier.RunOnceAsync(CancellationToken.None)); // not before its retry time

        hub.Clock.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(1, await verifier.RunOnceAsync(CancellationToken.None));
        Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verified");
        Assert.Equal(2, faults);
    }

    [Fact]
    public async Task A_first_check_stores_its_draw_before_it_samples()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, Publish.Honestly);
        await hub.Services.GetRequiredService<ResultVerifier>().RunOnceAsync(CancellationToken.None);

        await using IHubReader reader = await hub.Services.GetRequiredService<IHubStore>().OpenReaderAsync(CancellationToken.None);
        VerificationDrawRecord draw = (await reader.GetVerificationDrawAsync(jobId))!;
        Assert.Matches("^[0-9a-f]{16}$", draw.Seed);
        Assert.Equal(0.74, draw.Q, 2); // a new provider: probation's rate
    }

    [Fact]
    public async Task Step_roots_that_contradict_the_commitments_fail_verification_and_the_provider_is_slashed()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await JoinBondedAsync(hub, "trainer");
        string jobId = await TrainAsync(hub, provider, Publish.ContradictingStepRoots);
        await VerifyEverythingAsync(hub);

        JobView job = await hub.Client.GetJobAsync(jobId);
        JobEvent failed = Assert.Single(job.Events, e => e.Kind == "verification_failed");
        Assert.Contains($"step-roots.json has {new string('0', 64)} after step 20, commitments.json ", failed.Detail, StringComparison.Ordinal);
        JobEvent resume = Assert.Single(job.Events, e => e.Kind == "resume_point");
        Assert.Contains("out/checkpoint-0000010.safetensors at step 10 ", resume.Detail, StringComparison.Ordinal);
        var account = await Eventually.UntilAsync(() => hub.Client.GetAccountAsync(provider.Id), a => a.Bonded < 100 * K, "the slash");
        Assert.Equal(90 * K, account.Bonded);
    }

    [Fact]
    public async Task Forged_commitments_fail_verification_and_the_provider_is_slashed_on_its_signed_result()
    {
        (HubFixture hub, FakeProvider provider, string jobId) = await RunAsync(forge: true);
        await using (hub)
        await using (provider)
        {
            JobView job = await hub.Client.GetJobAsync(jobId);
            JobEvent failed = Assert.Single(job.Events, e => e.Kind == "verification_failed");
            // The checkpoint it published for step 30 is the real one, so it contradicts the forged commitment (checked before anything is re-executed).
            Assert.Contains("segment 3: the checkpoint published for step 30 does not hash to the committed root", failed.Detail, StringComparison.Ordinal);
            JobEvent resume = Assert.Single(job.Events, e => e.Kind == "resume_point"); // the forgery began at step 30: 20 is the last good state
            Assert.Contains("out/checkpoint-0000020.safetensors at step 20 ", resume.Detail, StringComparison.Ordinal);
            Assert.Contains($"kumo job resume {jobId}", resume.Detail, StringComparison.Ordinal);
            var account = await Eventually.UntilAsync(() => hub.Client.GetAccountAsync(provider.Id), a => a.Bonded < 100 * K, "the slash");
            Assert.Equal(90 * K, account.Bonded); // 10 % of the stake; half of it compensates the tenant (the verdict's winner)
        }
    }

    [Fact]
    public async Task An_infer_job_whose_predictions_were_changed_is_caught_by_recomputing_its_rows()
    {
        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "inferrer", FakeProvider.Inventory(cores: 2));
        string jobId = await InferDigitsAsync(hub, provider, lines =>
        {
            string[] row = lines[101].Split(','); // row 100: claim another class than the model gives
            lines[101] = $"{row[0]},{(int.Parse(row[1], System.Globalization.CultureInfo.InvariantCulture) + 1) % 10},{row[2]}";
        });
        await VerifyEverythingAsync(hub);

        JobEvent failed = Assert.Single((await hub.Client.GetJobAsync(jobId)).Events, e => e.Kind == "verification_failed");
        Assert.Contains("row 100: the provider said class", failed.Detail, StringComparison.Ordinal);
    }

    /// <summary>
    /// An infer job of examples/infer-digits' model over the digits, run by <paramref name="provider"/> with the real runner
    /// and published — its predictions.csv lines first passed through <paramref name="tamper"/>, when given. Its id.
    /// </summary>
    internal static async Task<string> InferDigitsAsync(HubFixture hub, FakeProvider provider, Action<string[]>? tamper = null)
    {
        RequestSigner tenant = await hub.TenantAsync();
        string digits = Digits();
        string model = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(digits)))!, "examples", "infer-digits", "model.safetensors");
        string modelCid = (await hub.Client.UploadFileAsync(tenant, model)).Root.ToString();
        string dataCid = (await hub.Client.UploadFileAsync(tenant, digits)).Root.ToString();
        string spec = $$"""
            {"version":"kumo/v1","name":"spot","resources":{"cpu":"1","memory":"512Mi","disk":"64Mi"},
             "workload":{"infer":{"model":"model.safetensors","data":"digits.csv.gz","tokens":200,"seed":0},
             "inputs":[{"name":"model.safetensors","cid":"{{modelCid}}"},{"name":"digits.csv.gz","cid":"{{dataCid}}"}],"outputs":["out/*"]},
             "price":{"maxPerHour":"1"},"timeout":"5m"}
            """;
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(spec));
        LeaseOffer offer = await StartAsync(provider);

        string inputs = Directory.CreateTempSubdirectory("kumo-inf-in-").FullName, output = Directory.CreateTempSubdirectory("kumo-inf-out-").FullName;
        File.Copy(digits, Path.Combine(inputs, "digits.csv.gz"));
        File.Copy(model, Path.Combine(inputs, "model.safetensors"));
        new WorkloadRunner(TextWriter.Null, new ComputeOptions { Threads = 1 }).Run(JobSpecReader.ReadWireForm(Specs.Wire(spec), "spec").Spec!.Workload, inputs, output);
        if (tamper is not null)
        {
            string[] lines = File.ReadAllLines(Path.Combine(output, "predictions.csv"));
            tamper(lines);
            File.WriteAllLines(Path.Combine(output, "predictions.csv"), lines);
        }

        await PublishAsync(hub, provider, offer, accepted.JobId, output);
        return accepted.JobId;
    }

    [Fact]
    public async Task A_generation_with_a_changed_token_is_caught_by_recomputing_tokens_from_the_providers_prefix()
    {
        // A small character model, trained here with the same runner a provider uses.
        string corpus = Path.Combine(Path.GetDirectoryName(Digits())!, "licenses.txt");
        string trainDir = Directory.CreateTempSubdirectory("kumo-gen-train-").FullName, trainOut = Directory.CreateTempSubdirectory("kumo-gen-model-").FullName;
        File.Copy(corpus, Path.Combine(trainDir, "text.txt"));
        string trainSpec = """
            {"version":"kumo/v1","name":"chars","resources":{"cpu":"1","memory":"512Mi","disk":"64Mi"},
             "workload":{"train":{"model":"transformer","data":"text.txt","steps":20,"batchSize":4,"learningRate":"0.005","optimizer":"adamw","seed":1,"checkpointEvery":0,"hidden":16,"layers":1,"heads":2,"embed":16,"context":16},
             "inputs":[{"name":"text.txt","cid":"bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}],"outputs":["out/*"]},
             "price":{"maxPerHour":"1"},"timeout":"5m"}
            """;
        new WorkloadRunner(TextWriter.Null, new ComputeOptions { Threads = 1 }).Run(JobSpecReader.ReadWireForm(Specs.Wire(trainSpec), "spec").Spec!.Workload, trainDir, trainOut);
        string model = Path.Combine(trainOut, "model.safetensors");

        await using HubFixture hub = await HubFixture.StartAsync();
        await using FakeProvider provider = await FakeProvider.JoinAsync(hub, "writer", FakeProvider.Inventory(cores: 2));
        RequestSigner tenant = await hub.TenantAsync();
        string modelCid = (await hub.Client.UploadFileAsync(tenant, model)).Root.ToString();
        string spec = $$"""
            {"version":"kumo/v1","name":"gen","resources":{"cpu":"1","memory":"512Mi","disk":"64Mi"},
             "workload":{"infer":{"model":"model.safetensors","prompt":"the ","tokens":40,"seed":0},
             "inputs":[{"name":"model.safetensors","cid":"{{modelCid}}"}],"outputs":["out/*"]},
             "price":{"maxPerHour":"1"},"timeout":"5m"}
            """;
        JobAccepted accepted = await hub.Client.SubmitJobAsync(tenant, Specs.Wire(spec));
        LeaseOffer offer = await StartAsync(provider);

        string inputs = Directory.CreateTempSubdirectory("kumo-gen-in-").FullName, output = Directory.CreateTempSubdirectory("kumo-gen-out-").FullName;
        File.Copy(model, Path.Combine(inputs, "model.safetensors"));
        new WorkloadRunner(TextWriter.Null, new ComputeOptions { Threads = 1 }).Run(JobSpecReader.ReadWireForm(Specs.Wire(spec), "spec").Spec!.Workload, inputs, output);
        string text = File.ReadAllText(Path.Combine(output, "generated.txt"));
        char changed = text[10] == 'e' ? 't' : 'e'; // a token the model did not choose at position 6 of the continuation
        File.WriteAllText(Path.Combine(output, "generated.txt"), text[..10] + changed + text[11..]);
        await PublishAsync(hub, provider, offer, accepted.JobId, output);
        await VerifyEverythingAsync(hub);

        JobEvent failed = Assert.Single((await hub.Client.GetJobAsync(accepted.JobId)).Events, e => e.Kind == "verification_failed");
        Assert.Contains("token 6: the provider generated", failed.Detail, StringComparison.Ordinal);
    }
}
