using Kumo.Jobs;
using Kumo.Market;
using Kumo.Signing;

namespace Kumo.Hub.Market;

/// <summary>
/// One bidding round of a job's order, in memory: the order as the book holds it, who was asked, who answered, and
/// the bids the book reserved. A round ends in a lease, a new round (providers busy), or the order's expiry. After a
/// hub restart a job still bidding simply starts a fresh round.
/// </summary>
internal sealed class OrderRound(string jobId, int attempt, int number, OrderRequest order, JobSpec spec, SignedEnvelope submission, long openedAt, long closesAt)
{
    public string JobId { get; } = jobId;

    /// <summary>The job's order attempt (failovers and declined offers start a new one).</summary>
    public int Attempt { get; } = attempt;

    /// <summary>Rounds within the attempt: 1, 2, … while busy providers keep the order waiting.</summary>
    public int Number { get; } = number;

    public OrderRequest Order { get; } = order;

    public JobSpec Spec { get; } = spec;

    public SignedEnvelope Submission { get; } = submission;

    public long OpenedAt { get; } = openedAt;

    /// <summary>When the bidding window closes.</summary>
    public long ClosesAt { get; } = closesAt;

    public HashSet<string> Asked { get; } = new(StringComparer.Ordinal);

    public HashSet<string> Answered { get; } = new(StringComparer.Ordinal);

    /// <summary>Bids the book reserved for this round, by id.</summary>
    public Dictionary<string, Bid> Bids { get; } = new(StringComparer.Ordinal);

    /// <summary>Why providers declined, for the explanation when nothing comes of the round.</summary>
    public List<string> Declines { get; } = [];

    /// <summary>
    /// How many providers this round may ask. A cluster whose bids do not make a full set within its latency bound
    /// widens it to every capable provider (the candidates are ranked by price, not by distance).
    /// </summary>
    public int AskLimit { get; set; }

    /// <summary>The tenant was told that bids wait for its acceptance.</summary>
    public bool AwaitingAcceptance { get; set; }

    public string OrderId => Order.Id;

    /// <summary>Every provider asked has answered (a bid, a decline, or a refused bid).</summary>
    public bool AllAnswered => Asked.Count > 0 && Answered.IsSupersetOf(Asked);

    public static string OrderIdFor(string jobId, int attempt, int number) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{jobId}.{attempt}.{number}");
}
