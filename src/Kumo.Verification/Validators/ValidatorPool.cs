using Kumo.Tensor.Randomness;

namespace Kumo.Verification.Validators;

/// <summary>
/// One piece of checking work handed to a validator: re-execute a segment (or, when <see cref="IsCanary"/>, a
/// known-answer task the hub made up, whose right answer is <see cref="CanaryExpectsApproval"/>), due by
/// <see cref="Deadline"/>.
/// </summary>
public sealed record ValidatorAssignment(long Id, string Validator, string SegmentKey, string Provider, bool IsCanary,
    bool CanaryExpectsApproval, DateTimeOffset Deadline);

/// <summary>What an answer did to the validator who gave it.</summary>
public enum AnswerOutcome
{
    /// <summary>An answer to a real segment, recorded (its truth is the referee's business if anyone disputes it).</summary>
    Recorded,

    /// <summary>A canary answered right.</summary>
    CanaryPassed,

    /// <summary>A canary answered wrong — a wrong claim approved or a right one rejected: the validator is slashed.</summary>
    Slashed,

    /// <summary>No open assignment with that id (unknown, already answered, or expired and replaced).</summary>
    Ignored,
}

/// <summary>
/// The bonded validators who re-execute sampled work, and the rules that keep them honest.
/// <list type="bullet">
/// <item>Selection is uniformly random among active validators, never the provider whose work it is, and never a
/// party already assigned to the same segment — so a replacement or second opinion is always somebody else.</item>
/// <item>About 1% of assignments are canaries: tasks whose answer the hub knows, a quarter of them right claims and
/// three quarters wrong ones (<see cref="WrongClaimShare"/>), indistinguishable from real work. Approving a wrong canary (approving without computing) or
/// rejecting a right one (accusing without cause) forfeits the bond. A validator's first
/// <see cref="ProbationAssignments"/> assignments carry canaries at <see cref="ProbationCanaryRate"/>, because a
/// lazy newcomer would otherwise do hundreds of assignments before its first canary.</item>
/// <item>An assignment not answered by its deadline is taken back and given to another validator; the silent one
/// loses reputation, and is dropped from the pool below <see cref="MinReputation"/> (not slashed: silence is
/// unreliability, not fraud).</item>
/// </list>
/// </summary>
public sealed class ValidatorPool
{
    private readonly Dictionary<string, ValidatorState> _validators = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Dictionary<string, HashSet<string>> _usedForSegment = new(StringComparer.Ordinal);
    private readonly Dictionary<long, ValidatorAssignment> _open = [];
    private long _nextId = 1;

    public ValidatorPool(long minBondMicros = 1_000_000, double canaryRate = 0.01, double probationCanaryRate = 0.25,
        int probationAssignments = 40, TimeSpan? deadline = null)
    {
        MinBondMicros = minBondMicros;
        CanaryRate = canaryRate;
        ProbationCanaryRate = probationCanaryRate;
        ProbationAssignments = probationAssignments;
        Deadline = deadline ?? TimeSpan.FromMinutes(30);
    }

    public long MinBondMicros { get; }

    public double CanaryRate { get; }

    public double ProbationCanaryRate { get; }

    public int ProbationAssignments { get; }

    public TimeSpan Deadline { get; }

    /// <summary>Tests: the right answer of every canary (true: the claim is right, to be approved); null: drawn, wrong with <see cref="WrongClaimShare"/>.</summary>
    public bool? CanaryAnswer { get; init; }

    /// <summary>
    /// The share of canaries whose claim is wrong (must be rejected): 0.75. Laziness that approves without computing is
    /// caught only by a wrong claim; one that rejects without computing is caught by a right claim, and also by the
    /// refereed dispute that every rejection of real work opens. So most canaries are wrong claims: during probation a
    /// validator that approves everything meets one in 0.25 × 0.75 of its assignments, and is caught within its 40
    /// with probability 1 − (1 − 0.1875)^40 ≈ 0.9998 (with half of them wrong: 1 − 0.875^40 ≈ 0.995).
    /// </summary>
    public const double WrongClaimShare = 0.75;

    /// <summary>Reputation lost per missed deadline, and the floor below which a validator leaves the pool.</summary>
    public const double MissPenalty = 0.2, MinReputation = 0.1;

    /// <summary>Validators that can be assigned work, in registration order.</summary>
    public IReadOnlyList<string> Active => [.. _order.Where(v => _validators[v].Status == ValidatorStatus.Active)];

    /// <summary>Adds a bonded validator; <paramref name="pastAssignments"/> carries over a history (past probation, canaries at the base rate).</summary>
    public void Register(string validator, long bondMicros, int pastAssignments = 0)
    {
        if (bondMicros < MinBondMicros)
        {
            throw new ArgumentException($"a validator bonds at least {MinBondMicros} micros, {validator} offered {bondMicros}", nameof(bondMicros));
        }

        if (!_validators.TryAdd(validator, new ValidatorState(bondMicros) { Assignments = Math.Max(0, pastAssignments) }))
        {
            throw new ArgumentException($"{validator} is already registered", nameof(validator));
        }

        _order.Add(validator);
    }

    /// <summary>
    /// Registers a validator with the standing an earlier pool left it (<see cref="Standing"/>): its reputation,
    /// assignments (so probation is not served twice), misses and status — a dropped one stays dropped.
    /// </summary>
    public void Restore(string validator, long bondMicros, ValidatorStanding standing)
    {
        ArgumentNullException.ThrowIfNull(standing);
        Register(validator, bondMicros, standing.Assignments);
        ValidatorState state = _validators[validator];
        state.Reputation = Math.Clamp(standing.Reputation, 0, 1);
        state.Missed = Math.Max(0, standing.Missed);
        state.Status = standing.Status;
        if (standing.Status == ValidatorStatus.Slashed)
        {
            state.Bond = 0;
        }
    }

    /// <summary>What of a validator's record should outlive the pool that holds it (a hub keeps it in its store).</summary>
    public ValidatorStanding Standing(string validator)
    {
        ValidatorState state = _validators[validator];
        return new ValidatorStanding(state.Reputation, state.Assignments, state.Missed, state.Status);
    }

    public double Reputation(string validator) => _validators[validator].Reputation;

    public ValidatorStatus Status(string validator) => _validators[validator].Status;

    /// <summary>Bond still held (0 once slashed).</summary>
    public long Bond(string validator) => _validators[validator].Bond;

    /// <summary>Assignments handed to the validator so far (canaries included).</summary>
    public int Assignments(string validator) => _validators[validator].Assignments;

    /// <summary>Open assignments, by id.</summary>
    public IReadOnlyCollection<ValidatorAssignment> Open => _open.Values;

    /// <summary>
    /// Picks a validator for the segment and hands it the work — or a canary instead, at the validator's canary rate;
    /// the caller then gives the canary a known-answer task and calls again for the real segment. Null when no
    /// eligible validator is left.
    /// </summary>
    public ValidatorAssignment? Assign(string segmentKey, string provider, DateTimeOffset now, Philox random)
    {
        ArgumentNullException.ThrowIfNull(random);
        HashSet<string> used = _usedForSegment.TryGetValue(segmentKey, out var u) ? u : _usedForSegment[segmentKey] = new(StringComparer.Ordinal);
        string[] eligible = [.. _order.Where(v => _validators[v].Status == ValidatorStatus.Active && v != provider && !used.Contains(v))];
        if (eligible.Length == 0)
        {
            return null;
        }

        string chosen = eligible[random.NextInt(eligible.Length)];
        ValidatorState state = _validators[chosen];
        double rate = state.Assignments < ProbationAssignments ? ProbationCanaryRate : CanaryRate;
        bool canary = random.NextFloat() < rate;
        bool expectsApproval = canary && (CanaryAnswer ?? random.NextFloat() >= WrongClaimShare);
        state.Assignments++;
        if (!canary)
        {
            used.Add(chosen);
        }

        var assignment = new ValidatorAssignment(_nextId++, chosen, canary ? $"canary:{_nextId}" : segmentKey, provider, canary, expectsApproval, now + Deadline);
        _open[assignment.Id] = assignment;
        return assignment;
    }

    /// <summary>A validator's answer: approve (the claim reproduced) or reject.</summary>
    public AnswerOutcome Answer(long assignmentId, bool approves, DateTimeOffset now)
    {
        if (!_open.Remove(assignmentId, out ValidatorAssignment? a) || now > a.Deadline || _validators[a.Validator].Status != ValidatorStatus.Active)
        {
            return AnswerOutcome.Ignored;
        }

        ValidatorState state = _validators[a.Validator];
        if (!a.IsCanary)
        {
            state.Reputation = Math.Min(1, state.Reputation + 0.01);
            return AnswerOutcome.Recorded;
        }

        if (approves == a.CanaryExpectsApproval)
        {
            state.Reputation = Math.Min(1, state.Reputation + 0.05);
            return AnswerOutcome.CanaryPassed;
        }

        Slash(a.Validator);
        return AnswerOutcome.Slashed;
    }

    /// <summary>
    /// Takes back every assignment past its deadline: the silent validator loses reputation (and leaves the pool
    /// below the floor); each real segment is handed to another validator. Returns the replacement assignments
    /// (canaries are not replaced: they were never real work).
    /// </summary>
    public IReadOnlyList<ValidatorAssignment> Expire(DateTimeOffset now, Philox random)
    {
        var replacements = new List<ValidatorAssignment>();
        foreach (ValidatorAssignment a in _open.Values.Where(a => now > a.Deadline).OrderBy(a => a.Id).ToList())
        {
            _open.Remove(a.Id);
            Penalize(a.Validator);

            if (!a.IsCanary)
            {
                ValidatorAssignment? next = Assign(a.SegmentKey, a.Provider, now, random);
                while (next is { IsCanary: true })
                {
                    replacements.Add(next);
                    next = Assign(a.SegmentKey, a.Provider, now, random);
                }

                if (next is not null)
                {
                    replacements.Add(next);
                }
            }
        }

        return replacements;
    }

    /// <summary>Whether <paramref name="validator"/> has registered (in any status).</summary>
    public bool IsRegistered(string validator) => _validators.ContainsKey(validator);

    /// <summary>
    /// The live hub's deadline: takes back one assignment its validator did not answer in time, with the same penalty
    /// as <see cref="Expire"/>, but hands nothing out (the caller picks the next validator). False if it was not open.
    /// </summary>
    public bool Miss(long assignmentId)
    {
        if (!_open.Remove(assignmentId, out ValidatorAssignment? a))
        {
            return false;
        }

        Penalize(a.Validator);
        return true;
    }

    /// <summary>Takes back an assignment without judging anybody (a canary the hub had no known answer for).</summary>
    public void Withdraw(long assignmentId) => _open.Remove(assignmentId);

    private void Penalize(string validator)
    {
        ValidatorState state = _validators[validator];
        state.Reputation = Math.Max(0, state.Reputation - MissPenalty);
        state.Missed++;
        if (state.Status == ValidatorStatus.Active && state.Reputation < MinReputation)
        {
            state.Status = ValidatorStatus.Dropped;
        }
    }

    /// <summary>Deadlines the validator missed.</summary>
    public int Missed(string validator) => _validators[validator].Missed;

    /// <summary>Forfeits the validator's bond and removes it from the pool (a failed canary, or a lost dispute).</summary>
    public void Slash(string validator)
    {
        ValidatorState state = _validators[validator];
        state.Status = ValidatorStatus.Slashed;
        state.Bond = 0;
        state.Reputation = 0;
        foreach (long id in _open.Values.Where(a => a.Validator == validator).Select(a => a.Id).ToList())
        {
            _open.Remove(id);
        }
    }

    private sealed class ValidatorState(long bond)
    {
        public long Bond { get; set; } = bond;

        public double Reputation { get; set; } = 0.5;

        public int Assignments { get; set; }

        public int Missed { get; set; }

        public ValidatorStatus Status { get; set; } = ValidatorStatus.Active;
    }
}

/// <summary>A validator's record in the pool: reputation, assignments handed to it (canaries included), deadlines missed, status.</summary>
public sealed record ValidatorStanding(double Reputation, int Assignments, int Missed, ValidatorStatus Status);

/// <summary>Where a validator stands.</summary>
public enum ValidatorStatus
{
    Active,

    /// <summary>Left the pool for missing deadlines; the bond is returned.</summary>
    Dropped,

    /// <summary>Bond forfeited for a wrong canary or a lost dispute.</summary>
    Slashed,
}
