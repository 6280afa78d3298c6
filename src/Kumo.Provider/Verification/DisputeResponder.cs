using System.Collections.Concurrent;
using Kumo.Client;
using Kumo.Content;
using Kumo.Crypto;
using Kumo.Protocol;
using Kumo.Provider.Control;
using Kumo.Signing;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Disputes;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Verification;

/// <summary>
/// This agent's side of refereed disputes (docs/PROOF-OF-LEARNING.md, "Disputes"): as the provider defending a segment it
/// committed, or as the validator that rejected one. Each party recomputes from the agreed start checkpoint and answers
/// the hub's bisection queries with signed claims — state roots after a step, then operator output hashes within the
/// one disputed step — and, when the referee asks, uploads its opening of the disputed operator (that operator's inputs
/// with the hashes that authenticate them, <see cref="OpeningFile"/>). Queries of one dispute are
/// answered in order, off the channel's receive loop; a dispute is forgotten an hour after it opened.
/// </summary>
public sealed class DisputeResponder(HubChannel channel, HubClient hub, RequestSigner signer, AccountKey key, ContentCache cache,
    ValidatorBehavior behavior, TimeProvider time, ILogger logger)
{
    private readonly ConcurrentDictionary<string, Dispute> _disputes = new(StringComparer.Ordinal);

    /// <summary>Starts preparing a dispute (fetching the data and the start checkpoint); queries wait for it.</summary>
    public void Open(DisputeOpening opening)
    {
        Forget();
        var dispute = new Dispute(time.GetUtcNow());
        if (!_disputes.TryAdd(opening.DisputeId, dispute))
        {
            return; // already open (a repeated message)
        }

        _ = Task.Run(async () =>
        {
            try
            {
                await PrepareAsync(opening, dispute);
                dispute.Prepared.TrySetResult();
            }
            catch (Exception e)
            {
                dispute.Prepared.TrySetException(e);
            }
        });
        logger.LogWarning("dispute {Dispute} opened over job {Job} ({Role}): answering the referee's bisection", opening.DisputeId, opening.Task.JobId, opening.Role);
    }

    /// <summary>Answers one bisection query with a signed claim.</summary>
    public async Task AnswerAsync(DisputeQueryRequest request)
    {
        if (await ReadyAsync(request.DisputeId) is not { } dispute)
        {
            return;
        }

        SignedEnvelope? claim = await dispute.OneAtATimeAsync(party => party.Answer(new DisputeQuery(request.DisputeId, request.Round, request.Step,
            request.Operator, DateTimeOffset.FromUnixTimeMilliseconds(request.DeadlineMs))));

        if (claim is not null)
        {
            channel.Send(ChannelMessageTypes.DisputeClaim, claim);
        }
    }

    /// <summary>Uploads the opening of the requested operator (its inputs and the hashes that authenticate them) and names its CID.</summary>
    public async Task RevealAsync(DisputeRevealRequest request)
    {
        if (await ReadyAsync(request.DisputeId) is not { } dispute)
        {
            return;
        }

        OperatorOpening? opening = await dispute.OneAtATimeAsync(party => party.Open(request.Step, request.Operator));

        if (opening is null)
        {
            return;
        }

        string file = Path.Combine(Path.GetTempPath(), $"kumo-dispute-{request.DisputeId}-{request.Step}-{request.Operator}.safetensors");
        try
        {
            await File.WriteAllBytesAsync(file, OpeningFile.Write(opening));
            ContentManifest manifest = await hub.UploadFileAsync(signer, file);
            channel.Send(ChannelMessageTypes.DisputeRevealed, new DisputeRevelation(request.DisputeId, request.Step, manifest.Root.ToString()));
        }
        finally
        {
            File.Delete(file);
        }
    }

    private async Task<Dispute?> ReadyAsync(string disputeId)
    {
        if (!_disputes.TryGetValue(disputeId, out Dispute? dispute))
        {
            logger.LogWarning("dispute {Dispute}: a query for a dispute this agent was not opened for", disputeId);
            return null;
        }

        try
        {
            await dispute.Prepared.Task;
            return dispute;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogWarning("dispute {Dispute} cannot be answered: {Error}", disputeId, e.Message);
            return null;
        }
    }

    private async Task PrepareAsync(DisputeOpening opening, Dispute dispute)
    {
        ValidationTask task = opening.Task;
        SegmentCheckRequest segment = task.Segment ?? throw new InvalidDataException("a dispute is over a training segment");
        Jobs.JobSpec spec = Jobs.JobSpecReader.ReadWireForm(task.SpecJson, "spec").Spec ?? throw new InvalidDataException("the dispute's spec does not read");
        Jobs.TrainWorkload train = spec.Workload.Train ?? throw new InvalidDataException("a dispute is over a train job");
        IReadOnlyDictionary<string, string> paths = await cache.FetchAsync(
            spec.Workload.Inputs.Select(i => i.Cid).Append(segment.StartCheckpointCid).OfType<string>(), CancellationToken.None);
        TrainingData data = WorkloadRunner.LoadTrainingData(train, paths[spec.Workload.Inputs.First(i => i.Name == train.Data).Cid!]);
        ModelSpec model = WorkloadRunner.ModelSpecFor(train);
        TrainOptions options = WorkloadRunner.OptionsFor(train, new ComputeOptions { Threads = 1 });
        TrainingState start = segment.StartCheckpointCid is { } cid
            ? WorkloadRunner.ReadCheckpoint(await File.ReadAllBytesAsync(paths[cid]))
            : Trainer.InitialState(model, data, options);
        var replayer = new TrainingReplayer(model, data, options);
        dispute.Party = behavior == ValidatorBehavior.Accuser && opening.Role == "challenger"
            ? new AccusingParty(key, replayer, start, segment.ToStep, time)
            : new ReplayingParty(key, replayer, start, time);
    }

    private void Forget()
    {
        DateTimeOffset cutoff = time.GetUtcNow().AddHours(-1);
        foreach ((string id, Dispute dispute) in _disputes)
        {
            if (dispute.OpenedAt < cutoff)
            {
                _disputes.TryRemove(id, out _);
            }
        }
    }

    private sealed class Dispute(DateTimeOffset openedAt)
    {
        public DateTimeOffset OpenedAt { get; } = openedAt;

        private readonly SemaphoreSlim _gate = new(1, 1);

        public TaskCompletionSource Prepared { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public IDisputeParty? Party { get; set; }

        /// <summary>Asks the party one thing at a time (its cache of states and traces is not thread-safe).</summary>
        public async Task<T> OneAtATimeAsync<T>(Func<IDisputeParty, T> ask)
        {
            await _gate.WaitAsync();
            try
            {
                return ask(Party!);
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    /// <summary>
    /// Fault injection (<see cref="ValidatorBehavior.Accuser"/>): stands by the made-up end root it reported — its claims
    /// for the last step's state and last operator are that root, everything else honest — and so loses at the referee.
    /// </summary>
    private sealed class AccusingParty : ReplayingParty
    {
        private readonly AccountKey _key;
        private readonly int _toStep, _lastOperator;
        private long _nonce = 1L << 40;

        public AccusingParty(AccountKey key, IStepReplayer replayer, TrainingState start, int toStep, TimeProvider time)
            : base(key, replayer, start, time) =>
            (_key, _toStep, _lastOperator) = (key, toStep, replayer.OperatorCount - 1);

        public override SignedEnvelope? Answer(DisputeQuery query)
        {
            if (query.Step != _toStep || (query.Operator != DisputeQuery.StateOperator && query.Operator != _lastOperator))
            {
                return base.Answer(query);
            }

            return SignedEnvelope.Create(_key, DisputeClaim.EnvelopeType,
                new DisputeClaim(query.DisputeId, query.Round, query.Step, query.Operator, new string('0', 64)), ++_nonce, Time.GetUtcNow());
        }
    }
}
