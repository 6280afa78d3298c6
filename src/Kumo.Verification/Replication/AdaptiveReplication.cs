using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Replication;

/// <summary>One provider's answer to an <c>exec</c> job: the CID of the output it returned.</summary>
public sealed record ExecOutput(string Provider, string OutputCid);

/// <summary>What the hub does with a job's outputs so far.</summary>
public enum ReplicationOutcome
{
    /// <summary>The output stands (one unreplicated result, two that agree, or a majority of three).</summary>
    Accepted,

    /// <summary>Two results disagree: send the job to a third provider of the same hardware class.</summary>
    NeedsTieBreaker,

    /// <summary>Three results, all different: nobody can be shown wrong, so nobody is slashed; run the job again.</summary>
    Inconclusive,
}

/// <summary>
/// The decision on a job's outputs: the accepted CID (when <see cref="Outcome"/> is Accepted) and the providers shown
/// wrong by a tie-breaker — the odd one out of three — who are to be slashed.
/// </summary>
public sealed record ReplicationVerdict(ReplicationOutcome Outcome, string? AcceptedCid, IReadOnlyList<string> Wrong);

/// <summary>
/// Adaptive replication for <c>exec</c> jobs, whose outputs can only be checked by running them again (after BOINC's
/// adaptive replication). Trust is per (provider, hardware class), because a result is only comparable with one from
/// the same class: a provider's job is run on a second provider of its class and the output CIDs compared until the
/// provider has <see cref="TrustThreshold"/> consecutive agreeing results; after that a job is replicated with
/// probability 1/n, n = its consecutive agreements, but never below 1/<see cref="MaxInterval"/>.
/// <para>
/// Why n = consecutive agreements, capped: each agreement is evidence, so the check rate falls as evidence grows,
/// while the cap keeps a floor (5% by default, the same as the trusted segment sampling rate) so that a provider who
/// turns after a long honest history is still checked about every 20th job, and with a bond of more than 20 jobs'
/// pay, cheating on one job loses money in expectation. Only replicated jobs move the counter: an unreplicated result
/// proves nothing.
/// </para>
/// <para>
/// A disagreement is settled by a third provider of the class: the majority of three wins, the odd one out is wrong
/// (its trust resets to 0 and it is to be slashed) and the majority each gain an agreement. If all three differ, the
/// job is inconclusive: nobody is slashed, all three lose their trust, and the job runs again. The honest member of a
/// disagreeing pair keeps its trust — a cheater must not be able to reset its honest partner's record.
/// </para>
/// </summary>
public sealed class AdaptiveReplication
{
    private readonly Dictionary<(string Provider, string HardwareClass), int> _agreements = [];

    public AdaptiveReplication(int trustThreshold = 10, int maxInterval = 20)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(trustThreshold, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxInterval, trustThreshold);
        TrustThreshold = trustThreshold;
        MaxInterval = maxInterval;
    }

    /// <summary>Consecutive agreeing results before a provider's jobs are replicated only sometimes.</summary>
    public int TrustThreshold { get; }

    /// <summary>The cap on n: a trusted provider's jobs are replicated with probability at least 1/MaxInterval.</summary>
    public int MaxInterval { get; }

    /// <summary>Consecutive agreeing (replicated) results of the provider on the hardware class.</summary>
    public int ConsecutiveAgreements(string provider, string hardwareClass) =>
        _agreements.GetValueOrDefault((provider, hardwareClass));

    /// <summary>Sets a counter as a durable store holds it (a live hub restoring its state after a restart).</summary>
    public void Restore(string provider, string hardwareClass, int agreements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(agreements);
        _agreements[(provider, hardwareClass)] = agreements;
    }

    /// <summary>
    /// Two results disagree and no tie-breaker of the class can be had: nobody is shown wrong, so nobody is penalised,
    /// but neither result is evidence any more — both providers' counters return to 0 (they are replicated every time
    /// until they agree with someone again).
    /// </summary>
    public void RecordUnresolved(string hardwareClass, IReadOnlyList<ExecOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        foreach (ExecOutput o in outputs)
        {
            _agreements[(o.Provider, hardwareClass)] = 0;
        }
    }

    /// <summary>1 until the provider is trusted on the class, then 1/min(n, MaxInterval).</summary>
    public double ReplicationProbability(string provider, string hardwareClass) => ProbabilityFor(ConsecutiveAgreements(provider, hardwareClass));

    /// <summary>The replication probability of a provider with <paramref name="agreements"/> consecutive agreeing results.</summary>
    public double ProbabilityFor(int agreements) => agreements < TrustThreshold ? 1.0 : 1.0 / Math.Min(agreements, MaxInterval);

    /// <summary>
    /// The replication fee, in basis points of a provider's pay, that funds its own checks in expectation: its replication
    /// probability, rounded up (10,000 on probation; ⌈10,000 / min(n, MaxInterval)⌉ once trusted, 500 at the floor).
    /// A replica re-runs the whole job, so a provider replicated with probability p costs p of its work in replicas.
    /// </summary>
    public int ReplicationFeeBps(int agreements)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(agreements);
        if (agreements < TrustThreshold)
        {
            return 10_000;
        }

        int interval = Math.Min(agreements, MaxInterval);
        return (10_000 + interval - 1) / interval;
    }

    /// <summary>Whether this job of the provider is to run on a second provider of the same class too.</summary>
    public bool ShouldReplicate(string provider, string hardwareClass, Philox random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double p = ReplicationProbability(provider, hardwareClass);
        return p >= 1.0 || random.NextFloat() < p;
    }

    /// <summary>
    /// Records the outputs of one job on one hardware class (one, two or three of them, from distinct providers) and
    /// says what follows. Counters move only on evidence: agreements add one, being the odd one out (or part of an
    /// all-different triple) resets to 0; a pending disagreement changes nothing until the tie-breaker answers.
    /// </summary>
    public ReplicationVerdict RecordOutcome(string hardwareClass, IReadOnlyList<ExecOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count is < 1 or > 3 || outputs.Select(o => o.Provider).Distinct(StringComparer.Ordinal).Count() != outputs.Count)
        {
            throw new ArgumentException("a job has one to three outputs, each from a different provider", nameof(outputs));
        }

        switch (outputs.Count)
        {
            case 1:
                return new ReplicationVerdict(ReplicationOutcome.Accepted, outputs[0].OutputCid, []);
            case 2 when outputs[0].OutputCid == outputs[1].OutputCid:
                Agree(hardwareClass, outputs);
                return new ReplicationVerdict(ReplicationOutcome.Accepted, outputs[0].OutputCid, []);
            case 2:
                return new ReplicationVerdict(ReplicationOutcome.NeedsTieBreaker, null, []);
        }

        var groups = outputs.GroupBy(o => o.OutputCid, StringComparer.Ordinal).OrderByDescending(g => g.Count()).ToList();
        if (groups[0].Count() == 1)
        {
            foreach (ExecOutput o in outputs)
            {
                _agreements[(o.Provider, hardwareClass)] = 0;
            }

            return new ReplicationVerdict(ReplicationOutcome.Inconclusive, null, []);
        }

        Agree(hardwareClass, [.. groups[0]]);
        string[] wrong = [.. groups.Skip(1).SelectMany(g => g).Select(o => o.Provider)];
        foreach (string provider in wrong)
        {
            _agreements[(provider, hardwareClass)] = 0;
        }

        return new ReplicationVerdict(ReplicationOutcome.Accepted, groups[0].Key, wrong);
    }

    private void Agree(string hardwareClass, IReadOnlyList<ExecOutput> agreeing)
    {
        foreach (ExecOutput o in agreeing)
        {
            _agreements[(o.Provider, hardwareClass)] = ConsecutiveAgreements(o.Provider, hardwareClass) + 1;
        }
    }
}
