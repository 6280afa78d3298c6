using System.Collections.Concurrent;
using Kumo.Crypto;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Content;
using Kumo.Hub.Control;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Signing;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Disputes;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// Refereed disputes on the live network (<see cref="RefereedDispute"/>): when a validator rejects a training segment,
/// the provider and the validator play the bisection game over their channels — both sign the state root at the
/// midpoint step, agreement moves the agreed bound, disagreement the disputed one, down to one step; then the same over
/// that step's operator hash chain down to one operator whose input both accept and whose output they dispute. The hub,
/// as referee, then has a party open that operator (it uploads the operator's inputs with the hashes that authenticate
/// them against what both agreed), recomputes that one operator with the engine (<see cref="Trainer.ReplayOperator"/>)
/// and compares its output with both claims. Each round has
/// <see cref="HubOptions.DisputeRoundTimeout"/>; a party that misses it loses. At most one game per segment
/// (<see cref="DisputeRegistry"/>): a second challenge of a segment under dispute gets the first game's outcome; one
/// decided against a challenger that timed out may be re-challenged by another validator.
/// </summary>
public sealed class DisputeService(
    ProviderSessions sessions,
    EnvelopeAuthenticator auth,
    ContentStore content,
    HubOptions options,
    TimeProvider time,
    ILogger<DisputeService> logger)
{
    private readonly object _lock = new();
    private readonly DisputeRegistry _registry = new();
    private readonly Dictionary<string, Task<DisputeOutcome>> _games = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Dispute, string Party), TaskCompletionSource<SignedEnvelope>> _claims = new();
    private readonly ConcurrentDictionary<(string Dispute, string Party), TaskCompletionSource<string>> _reveals = new();

    /// <summary>
    /// Plays (or joins) the dispute over <paramref name="task"/>'s segment of the run identified by
    /// <paramref name="runKey"/> (64 hex digits) between <paramref name="provider"/> and <paramref name="challenger"/>.
    /// </summary>
    public async Task<DisputeOutcome> RunAsync(string runKey, ValidationTask task, string provider, string challenger, CancellationToken cancellationToken)
    {
        SegmentCheckRequest segment = task.Segment ?? throw new ArgumentException("a dispute is over a training segment", nameof(task));
        Task<DisputeOutcome> game;
        string id;
        lock (_lock)
        {
            DisputeRegistration registration = _registry.Open(runKey, segment.Index, AccountId.Parse(challenger));
            id = registration.DisputeId;
            if (!registration.Opened)
            {
                logger.LogInformation("segment {Segment} of job {Job}: {Reason}", segment.Index, task.JobId, registration.Reason);
                game = _games[id];
            }
            else
            {
                // The game blocks while it waits for the parties (the protocol is synchronous): its own thread, so waiting
                // games never starve the thread pool that receives their answers.
                game = Task.Factory.StartNew(() => Play(id, runKey, task, provider, challenger), CancellationToken.None,
                    TaskCreationOptions.LongRunning, TaskScheduler.Default);
                _games[id] = game;
                _ = game.ContinueWith(t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        lock (_lock)
                        {
                            _registry.Close(runKey, segment.Index, t.Result);
                        }
                    }
                }, TaskScheduler.Default);
            }
        }

        return await game.WaitAsync(cancellationToken);
    }

    /// <summary>A party's signed claim (<c>kumo.dispute.claim/v1</c>) from its channel.</summary>
    public void OnClaim(string providerId, SignedEnvelope envelope)
    {
        auth.Verify(envelope, DisputeClaim.EnvelopeType);
        if (envelope.Signer.Value != providerId)
        {
            throw ApiProblem.Forbidden("wrong_signer", $"dispute claim signed by {envelope.Signer}, not by this channel's provider");
        }

        DisputeClaim claim = envelope.ReadPayload<DisputeClaim>();
        if (!_claims.TryGetValue((claim.DisputeId, providerId), out TaskCompletionSource<SignedEnvelope>? pending) || !pending.TrySetResult(envelope))
        {
            throw ApiProblem.Conflict("unknown_query", $"no open query of dispute {claim.DisputeId} for this party (answered, expired, or never asked)");
        }
    }

    /// <summary>A party's answer to a request to open an operator: the CID of the opening file it uploaded.</summary>
    public void OnRevealed(string providerId, DisputeRevelation revelation)
    {
        if (!_reveals.TryGetValue((revelation.DisputeId, providerId), out TaskCompletionSource<string>? pending) || !pending.TrySetResult(revelation.Cid))
        {
            throw ApiProblem.Conflict("unknown_reveal", $"no open request of dispute {revelation.DisputeId} for this party's opening");
        }
    }

    private DisputeOutcome Play(string id, string runKey, ValidationTask task, string provider, string challenger)
    {
        SegmentCheckRequest segment = task.Segment!;
        JobSpec spec = Jobs.JobService.ParseSpec(task.SpecJson);
        TrainWorkload train = spec.Workload.Train ?? throw new InvalidDataException("a dispute is over a train job");
        string dataPath = content.OpenAsync(spec.Workload.Inputs.First(i => i.Name == train.Data).Cid!, CancellationToken.None).GetAwaiter().GetResult().Path;
        TrainingData data = WorkloadRunner.LoadTrainingData(train, dataPath);
        ModelSpec model = WorkloadRunner.ModelSpecFor(train);
        TrainOptions trainOptions = WorkloadRunner.OptionsFor(train, new ComputeOptions { Threads = 1 });
        var replayer = new TrainingReplayer(model, data, trainOptions);
        string startRoot = segment.StartRoot ?? Trainer.InitialState(model, data, trainOptions).RootHex();

        foreach ((string party, string role) in new[] { (provider, "provider"), (challenger, "challenger") })
        {
            sessions.TrySendAsync(party, ChannelMessageTypes.DisputeOpen, new DisputeOpening(id, role, task), CancellationToken.None).GetAwaiter().GetResult();
        }

        logger.LogWarning("dispute {Dispute}: {Challenger} challenges {Segment} of job {Job} by {Provider}", id, challenger,
            Kumo.Verification.Validators.ValidationWork.SegmentSubject(segment), task.JobId, provider);
        DisputeOutcome outcome = RefereedDispute.Run(new DisputeCase(id, runKey, segment.Index, segment.FromStep, startRoot, segment.ToStep),
            new RemoteParty(this, id, AccountId.Parse(provider)), new RemoteParty(this, id, AccountId.Parse(challenger)), replayer,
            new DisputeRules(options.DisputeRoundTimeout), time);
        logger.LogWarning("dispute {Dispute}: {Verdict} after {Rounds} rounds: {Reason}", id, outcome.Verdict, outcome.Rounds, outcome.Reason);
        return outcome;
    }

    private TimeProvider Time => time;

    private HubOptions Options => options;

    private ContentStore Content => content;

    private ILogger Logger => logger;

    private ProviderSessions Sessions => sessions;

    /// <summary>A party on the other end of its channel: each question is sent and its answer awaited until the round's deadline.</summary>
    private sealed class RemoteParty(DisputeService service, string disputeId, AccountId account) : IDisputeParty
    {
        public AccountId Account => account;

        public SignedEnvelope? Answer(DisputeQuery query)
        {
            var pending = new TaskCompletionSource<SignedEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
            service._claims[(disputeId, account.Value)] = pending;
            try
            {
                var request = new DisputeQueryRequest(disputeId, query.Round, query.Step, query.Operator, query.Deadline.ToUnixTimeMilliseconds());
                return Ask(ChannelMessageTypes.DisputeQuery, request, pending.Task, query.Deadline);
            }
            finally
            {
                service._claims.TryRemove((disputeId, account.Value), out _);
            }
        }

        public OperatorOpening? Open(int step, int op)
        {
            var pending = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            service._reveals[(disputeId, account.Value)] = pending;
            try
            {
                DateTimeOffset deadline = service.Time.GetUtcNow() + service.Options.DisputeRoundTimeout;
                string? cid = Ask(ChannelMessageTypes.DisputeReveal, new DisputeRevealRequest(disputeId, step, op, deadline.ToUnixTimeMilliseconds()), pending.Task, deadline);
                if (cid is null)
                {
                    return null;
                }

                string path = service.Content.OpenAsync(cid, CancellationToken.None).GetAwaiter().GetResult().Path;
                return OpeningFile.Read(File.ReadAllBytes(path)); // every hash in it is checked by the referee
            }
            catch (Exception e) when (e is InvalidDataException or IOException or ApiProblem or WorkloadException or Kumo.Tensor.Formats.SafeTensorsFormatException)
            {
                service.Logger.LogWarning("dispute {Dispute}: the opening {Party} uploaded cannot be read: {Error}", disputeId, account, e.Message);
                return null;
            }
            finally
            {
                service._reveals.TryRemove((disputeId, account.Value), out _);
            }
        }

        private T? Ask<TRequest, T>(string type, TRequest request, Task<T> answer, DateTimeOffset deadline) where T : class
        {
            // The time left is measured on a stopwatch from here: the deadline itself is on the hub's clock.
            TimeSpan budget = deadline - service.Time.GetUtcNow();
            var elapsed = System.Diagnostics.Stopwatch.StartNew();

            // A party that is offline now may reconnect before the deadline: keep trying to deliver the question until then.
            while (!service.Sessions.TrySendAsync(account.Value, type, request, CancellationToken.None).GetAwaiter().GetResult())
            {
                if (elapsed.Elapsed >= budget)
                {
                    return null;
                }

                Thread.Sleep(250);
            }

            TimeSpan wait = budget - elapsed.Elapsed;
            return wait > TimeSpan.Zero && answer.Wait(wait) ? answer.Result : null;
        }
    }
}
