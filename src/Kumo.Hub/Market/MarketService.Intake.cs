using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Leases;
using Kumo.Jobs;
using Kumo.Hub.Storage;
using Kumo.Market;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;

namespace Kumo.Hub.Market;

public sealed partial class MarketService
{
    /// <summary>
    /// A provider's signed bid. It must answer a bid request this provider got for an order still bidding, and the
    /// book must be able to reserve it: a registered, online and bonded provider that meets the order's region,
    /// reputation and attestations, nodes that satisfy the requirement with GPUs it has and has not promised or
    /// leased, at no more than the order's maximum. A refused bid is stored with the reason, the provider is told to
    /// release it, and the channel gets the reason as an error.
    /// </summary>
    public async Task OnBidAsync(string providerId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        auth.Verify(envelope, MessageTypes.MarketBid);
        if (envelope.Signer.Value != providerId)
        {
            throw ApiProblem.Forbidden("wrong_signer", $"bid signed by {envelope.Signer} on the channel of {providerId}");
        }

        BidPayload payload = envelope.ReadPayload<BidPayload>();
        if (string.IsNullOrWhiteSpace(payload.BidId) || payload.BidId.Length > 64 || payload.Nodes is null)
        {
            throw ApiProblem.BadRequest("invalid_bid", "a bid needs an id of at most 64 characters and its nodes");
        }

        long now = Now();
        string? refusal = null;
        string jobId = "";
        int attempt = 0;
        bool ready = false;
        lock (_gate)
        {
            if (!_byOrder.TryGetValue(payload.OrderId, out OrderRound? round))
            {
                refusal = $"order {payload.OrderId} is not open for bids (it was leased, expired, cancelled, or its round ended)";
            }
            else
            {
                (jobId, attempt) = (round.JobId, round.Attempt);
                if (!round.Asked.Contains(providerId))
                {
                    refusal = $"{providerId} was not asked to bid on order {payload.OrderId}";
                }
                else
                {
                    round.Answered.Add(providerId);
                    long latest = round.ClosesAt + (long)(round.Spec.Market.ManualAccept ? options.ManualAcceptTime : options.BidValidity).TotalMilliseconds;
                    var bid = new Bid(payload.BidId, payload.OrderId, providerId, [.. payload.Nodes.Select(ProtocolMapping.ToNode)],
                        payload.PricePerHour, Math.Min(payload.ExpiresAt, latest));
                    if (_book.TryReserve(bid, now, out string? reason))
                    {
                        round.Bids[bid.Id] = bid;
                    }
                    else
                    {
                        refusal = reason ?? "the bid could not be reserved";
                        round.Declines.Add($"bid of {providerId} refused: {refusal}");
                    }

                    ready = round.AllAnswered;
                }
            }
        }

        bool stored = jobId.Length > 0 && await StoreBidAsync(envelope, payload, providerId, jobId, attempt, refusal, now, cancellationToken);
        if (!stored && refusal is null)
        {
            // The same bid id again (a replay, or a provider reusing ids): the first one stands.
            lock (_gate)
            {
                refusal = $"bid {payload.BidId} was received before";
            }
        }

        if (ready)
        {
            signals.WakeScheduler(); // everyone answered: the round can close early
        }

        if (refusal is not null)
        {
            await sessions.TrySendAsync(providerId, ChannelMessageTypes.BidLost, new BidLost(payload.BidId, payload.OrderId, refusal), cancellationToken);
            throw ApiProblem.Conflict("bid_refused", refusal);
        }
    }

    private async Task<bool> StoreBidAsync(SignedEnvelope envelope, BidPayload payload, string providerId, string jobId, int attempt, string? refusal, long now,
        CancellationToken cancellationToken)
    {
        await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
        await auth.RecordNonceAsync(tx, envelope);
        if (await tx.GetBidAsync(payload.BidId) is not null)
        {
            return false;
        }

        await tx.InsertBidAsync(new BidRecord
        {
            Id = payload.BidId,
            JobId = jobId,
            Attempt = attempt,
            ProviderId = providerId,
            State = refusal is null ? BidState.Open : BidState.Refused,
            PricePerHourMicros = payload.PricePerHour,
            NodesJson = JsonSerializer.Serialize(payload.Nodes, KumoJson.Options),
            Envelope = envelope.ToJson(),
            ReceivedAt = now,
            ExpiresAt = payload.ExpiresAt,
            Detail = refusal ?? "",
        });
        await tx.CommitAsync();
        signals.JobChanged(jobId);
        return true;
    }

    /// <summary>A provider will not bid; the reason goes into the order's explanation and its bid list.</summary>
    public async Task OnDeclineAsync(string providerId, BidDecline decline, CancellationToken cancellationToken)
    {
        string reason = decline.Reason.Length > 500 ? decline.Reason[..500] + "…" : decline.Reason;
        string jobId;
        int attempt;
        bool ready;
        lock (_gate)
        {
            if (!_byOrder.TryGetValue(decline.OrderId, out OrderRound? round) || !round.Asked.Contains(providerId))
            {
                return; // a late or unsolicited decline changes nothing
            }

            round.Answered.Add(providerId);
            round.Declines.Add($"{providerId}: {reason}");
            (jobId, attempt, ready) = (round.JobId, round.Attempt, round.AllAnswered);
        }

        long now = Now();
        await store.WriteBatchedAsync(async tx =>
        {
            await tx.InsertBidAsync(new BidRecord
            {
                Id = "d-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                JobId = jobId,
                Attempt = attempt,
                ProviderId = providerId,
                State = BidState.Declined,
                PricePerHourMicros = 0,
                NodesJson = "[]",
                ReceivedAt = now,
                ExpiresAt = now,
                Detail = reason,
            });
            return 0;
        }, cancellationToken);
        signals.JobChanged(jobId);
        if (ready)
        {
            signals.WakeScheduler();
        }
    }

    /// <summary>
    /// The tenant accepts bids by hand (orders with <c>accept: manual</c>, or any order still bidding). The accepted bids
    /// must be open bids of the job's current round that together cover its nodes (and a cluster's latency bound).
    /// </summary>
    public async Task<int> AcceptAsync(string jobId, SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        BidAcceptance acceptance = envelope.ReadPayload<BidAcceptance>();
        if (acceptance.JobId != jobId)
        {
            throw ApiProblem.BadRequest("job_mismatch", $"the signed acceptance is for {acceptance.JobId}, not {jobId}", "payload.jobId");
        }

        if (acceptance.BidIds is null || acceptance.BidIds.Count == 0)
        {
            throw ApiProblem.BadRequest("no_bids", "name at least one bid to accept", "payload.bidIds");
        }

        JobRecord job;
        await using (IHubTransaction tx = await store.BeginAsync(cancellationToken))
        {
            job = await tx.GetJobAsync(jobId) ?? throw ApiProblem.NotFound("unknown_job", $"no job {jobId}");
            if (job.Tenant != envelope.Signer.Value)
            {
                throw ApiProblem.Forbidden("not_your_job", $"job {jobId} belongs to {job.Tenant}; only its tenant can accept bids");
            }

            if (!job.State.IsOrderOpen())
            {
                throw ApiProblem.Conflict("order_closed", $"job {jobId} is {Names.Of(job.State)}; its order takes no more acceptances");
            }

            await auth.RecordNonceAsync(tx, envelope);
            await tx.CommitAsync();
        }

        long now = Now();
        OrderRound round;
        Selection selection;
        lock (_gate)
        {
            if (!_rounds.TryGetValue(jobId, out OrderRound? current) || current.Attempt != job.Attempt)
            {
                throw ApiProblem.Conflict("no_round", $"job {jobId} has no bidding round open; try again in a moment");
            }

            round = current;
            List<string> unknown = [.. acceptance.BidIds.Where(id => !round.Bids.ContainsKey(id))];
            if (unknown.Count > 0)
            {
                throw ApiProblem.Conflict("bid_not_open", $"bid {unknown[0]} is not an open bid of this order (see kumo job bids {jobId})");
            }

            List<Bid> chosen = [.. acceptance.BidIds.Distinct(StringComparer.Ordinal).Select(id => round.Bids[id])];
            selection = _book.Select(round.OrderId, chosen, Latency(), now);
            if (!selection.Succeeded)
            {
                throw ApiProblem.Conflict("bids_insufficient", $"the accepted bids do not make a lease: {selection.Failure}");
            }
        }

        int offered = await LeaseAsync(job, round, selection, now, cancellationToken);
        return offered >= 0 ? offered : throw ApiProblem.Conflict("order_closed", $"the order of {jobId} closed while the acceptance was on its way");
    }
}
