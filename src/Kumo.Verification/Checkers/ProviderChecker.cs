namespace Kumo.Verification.Checkers;

/// <summary>
/// The thresholds of <see cref="ProviderChecker"/>. Defaults: a liveness probe every minute and a capacity re-test
/// (the hardware proof again) every day; 3 consecutive missed probes pause the provider (a reboot or a network blip
/// must not cost a bond); a pause longer than 24 h, or 2 consecutive failed capacity re-tests, is slashed — the
/// first is abandoning leases, the second is claiming hardware the provider does not have.
/// </summary>
public sealed record CheckerRules
{
    public TimeSpan LivenessInterval { get; init; } = TimeSpan.FromMinutes(1);

    public TimeSpan CapacityInterval { get; init; } = TimeSpan.FromDays(1);

    public int LivenessFailuresToPause { get; init; } = 3;

    public TimeSpan MaxPause { get; init; } = TimeSpan.FromHours(24);

    public int CapacityFailuresToSlash { get; init; } = 2;

    /// <summary>
    /// The reputation a provider starts with. 0.5 in the simulation (unknown); the hub starts providers at 1, like its
    /// lease reputation, so newcomers can be tried (they are bonded and hardware-proven before they get work).
    /// </summary>
    public double InitialReputation { get; init; } = 0.5;
}

/// <summary>A provider's standing with the checkers.</summary>
public enum ProviderHealth
{
    /// <summary>Gets work.</summary>
    Active,

    /// <summary>Gets no new work until it answers probes again (and passes a capacity re-test if that failed).</summary>
    Paused,

    /// <summary>Bond forfeited; terminal.</summary>
    Slashed,
}

/// <summary>
/// What of a provider's standing with the checkers outlives the hub that holds it (the hub keeps it in its store): its
/// health, reputation, which pauses hold and since when, why it was slashed, and its streak of failed capacity re-tests
/// (<see cref="CapacityFailures"/>; the hub keeps the failed rounds' evidence beside it, so a slash after a restart
/// cites all of them). Not its missed probes: a hub that was down cannot tell a missed probe from its own absence.
/// </summary>
public sealed record CheckerStanding(ProviderHealth Health, double Reputation, bool LivenessPaused, bool CapacityPaused, DateTimeOffset PausedSince,
    string? SlashReason, int CapacityFailures = 0);

/// <summary>
/// Liveness and capacity checks turned into reputation, pauses and slashes — a pure policy: the hub runs the probes
/// and reports results here, and time comes from the <see cref="TimeProvider"/> so a test drives days in microseconds.
/// Reputation is an exponentially weighted average of check results in [0, 1] (liveness weight 0.01, capacity 0.2:
/// one daily re-test says more than one probe). A passed probe lifts a liveness pause; a passed re-test lifts a
/// capacity pause; a provider is active when neither holds. A provider that went away owing nothing
/// (<see cref="Leave"/>) is not probed and its absence is not a pause; <see cref="Arrive"/> brings it back.
/// </summary>
public sealed class ProviderChecker
{
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, ProviderRecord> _providers = new(StringComparer.Ordinal);

    public ProviderChecker(TimeProvider clock, CheckerRules? rules = null)
    {
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        Rules = rules ?? new CheckerRules();
    }

    public CheckerRules Rules { get; }

    public void Register(string provider)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        _providers.Add(provider, new ProviderRecord
        {
            LastLiveness = now - Rules.LivenessInterval,
            LastCapacity = now - Rules.CapacityInterval,
            Reputation = Rules.InitialReputation,
        });
    }

    /// <summary>True when the provider is registered.</summary>
    public bool Knows(string provider) => _providers.ContainsKey(provider);

    /// <summary>The providers registered.</summary>
    public IReadOnlyCollection<string> Providers => _providers.Keys;

    /// <summary>What of the provider's standing should outlive the hub (<see cref="CheckerStanding"/>).</summary>
    public CheckerStanding Standing(string provider)
    {
        ProviderRecord r = _providers[provider];
        return new CheckerStanding(r.Health, r.Reputation, r.LivenessPaused, r.CapacityPaused, r.PausedSince, r.SlashReason, r.CapacityFailures);
    }

    /// <summary>
    /// Takes back a provider's standing as an earlier hub left it: its liveness probe is due now, its capacity re-test
    /// now if that pause holds (else a full interval from now — a restart is no reason to re-test everyone), its missed
    /// probes from zero, its failed re-tests where they were.
    /// </summary>
    public void Restore(string provider, CheckerStanding standing)
    {
        ArgumentNullException.ThrowIfNull(standing);
        DateTimeOffset now = _clock.GetUtcNow();
        _providers[provider] = new ProviderRecord
        {
            Health = standing.Health,
            Reputation = Math.Clamp(standing.Reputation, 0, 1),
            LivenessPaused = standing.Health == ProviderHealth.Paused && standing.LivenessPaused,
            CapacityPaused = standing.Health == ProviderHealth.Paused && standing.CapacityPaused,
            PausedSince = standing.PausedSince,
            SlashReason = standing.SlashReason,
            CapacityFailures = standing.Health == ProviderHealth.Slashed ? 0 : Math.Max(0, standing.CapacityFailures),
            LastLiveness = now - Rules.LivenessInterval,
            LastCapacity = standing.CapacityPaused ? now - Rules.CapacityInterval : now,
        };
    }

    /// <summary>
    /// The provider is here (connected): registers it when new, or ends its absence (<see cref="Leave"/>): its liveness
    /// probe is due now, and a capacity pause it left with runs again from now (time away is not time paused).
    /// </summary>
    public void Arrive(string provider)
    {
        if (!_providers.TryGetValue(provider, out ProviderRecord? r))
        {
            Register(provider);
            return;
        }

        if (r.Away)
        {
            r.Away = false;
            r.LastLiveness = _clock.GetUtcNow() - Rules.LivenessInterval;
            if (r.Health == ProviderHealth.Paused)
            {
                r.PausedSince = _clock.GetUtcNow();
            }
        }
    }

    /// <summary>
    /// The provider went away owing nothing (no work it accepted was abandoned): its missed probes and liveness pause are
    /// forgotten, it is not probed, and <see cref="Sweep"/> does not count the absence. Reputation and a capacity pause stay.
    /// </summary>
    public void Leave(string provider)
    {
        ProviderRecord r = _providers[provider];
        if (r.Health == ProviderHealth.Slashed)
        {
            return;
        }

        r.Away = true;
        r.LivenessFailures = 0;
        r.LivenessPaused = false;
        Update(r);
    }

    /// <summary>True while the provider is away (<see cref="Leave"/>).</summary>
    public bool IsAway(string provider) => _providers[provider].Away;

    /// <summary>Since when the provider is paused (null while it is not).</summary>
    public DateTimeOffset? PausedSince(string provider) =>
        _providers[provider] is { Health: ProviderHealth.Paused } r ? r.PausedSince : null;

    /// <summary>
    /// Takes a slashed provider back on probation: paused until it passes a capacity re-test (due now), its failure
    /// counts cleared and its reputation left at 0 to be earned again. Returns false when it was not slashed.
    /// </summary>
    public bool Readmit(string provider)
    {
        ProviderRecord r = _providers[provider];
        if (r.Health != ProviderHealth.Slashed)
        {
            return false;
        }

        r.Health = ProviderHealth.Paused;
        r.PausedSince = _clock.GetUtcNow();
        r.LivenessFailures = 0;
        r.CapacityFailures = 0;
        r.LivenessPaused = false;
        r.CapacityPaused = true;
        r.LastCapacity = _clock.GetUtcNow() - Rules.CapacityInterval;
        return true;
    }

    public ProviderHealth Health(string provider) => _providers[provider].Health;

    public double Reputation(string provider) => _providers[provider].Reputation;

    /// <summary>Why the provider was slashed (null while it is not).</summary>
    public string? SlashReason(string provider) => _providers[provider].SlashReason;

    /// <summary>Providers (not slashed, not away) whose liveness probe is due now.</summary>
    public IReadOnlyList<string> DueForLiveness() => Due(r => r.LastLiveness + Rules.LivenessInterval);

    /// <summary>Providers (not slashed, not away) whose capacity re-test is due now.</summary>
    public IReadOnlyList<string> DueForCapacity() => Due(r => r.LastCapacity + Rules.CapacityInterval);

    /// <summary>A liveness probe answered or not.</summary>
    public ProviderHealth RecordLiveness(string provider, bool answered)
    {
        ProviderRecord r = _providers[provider];
        if (r.Health == ProviderHealth.Slashed)
        {
            return r.Health;
        }

        r.LastLiveness = _clock.GetUtcNow();
        r.Reputation = Blend(r.Reputation, answered, 0.01);
        r.LivenessFailures = answered ? 0 : r.LivenessFailures + 1;
        r.LivenessPaused = r.LivenessFailures >= Rules.LivenessFailuresToPause || (r.LivenessPaused && !answered);
        return Update(r);
    }

    /// <summary>A capacity re-test (the hardware proof again) passed or failed.</summary>
    public ProviderHealth RecordCapacity(string provider, bool passed)
    {
        ProviderRecord r = _providers[provider];
        if (r.Health == ProviderHealth.Slashed)
        {
            return r.Health;
        }

        r.LastCapacity = _clock.GetUtcNow();
        r.Reputation = Blend(r.Reputation, passed, 0.2);
        r.CapacityFailures = passed ? 0 : r.CapacityFailures + 1;
        r.CapacityPaused = !passed;
        if (r.CapacityFailures >= Rules.CapacityFailuresToSlash)
        {
            return Slash(r, $"failed {r.CapacityFailures} capacity re-tests in a row");
        }

        return Update(r);
    }

    /// <summary>
    /// Slashes providers paused for longer than <see cref="CheckerRules.MaxPause"/>; returns them. With
    /// <paramref name="accountable"/>, only providers it accepts (the hub: those that abandoned accepted work) — the
    /// others stay paused.
    /// </summary>
    public IReadOnlyList<string> Sweep(Func<string, bool>? accountable = null)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        var slashed = new List<string>();
        foreach ((string provider, ProviderRecord r) in _providers)
        {
            if (r.Health == ProviderHealth.Paused && !r.Away && now - r.PausedSince > Rules.MaxPause && (accountable?.Invoke(provider) ?? true))
            {
                Slash(r, $"paused for more than {Rules.MaxPause.TotalHours:0} h");
                slashed.Add(provider);
            }
        }

        return slashed;
    }

    private ProviderHealth Update(ProviderRecord r)
    {
        bool paused = r.LivenessPaused || r.CapacityPaused;
        if (paused && r.Health == ProviderHealth.Active)
        {
            r.PausedSince = _clock.GetUtcNow();
        }

        r.Health = paused ? ProviderHealth.Paused : ProviderHealth.Active;
        return r.Health;
    }

    private static ProviderHealth Slash(ProviderRecord r, string reason)
    {
        r.Health = ProviderHealth.Slashed;
        r.SlashReason = reason;
        r.Reputation = 0;
        return r.Health;
    }

    private static double Blend(double reputation, bool good, double weight) => ((1 - weight) * reputation) + (weight * (good ? 1 : 0));

    private List<string> Due(Func<ProviderRecord, DateTimeOffset> next)
    {
        DateTimeOffset now = _clock.GetUtcNow();
        return [.. _providers.Where(p => p.Value.Health != ProviderHealth.Slashed && !p.Value.Away && next(p.Value) <= now).Select(p => p.Key)];
    }

    private sealed class ProviderRecord
    {
        public ProviderHealth Health { get; set; } = ProviderHealth.Active;

        public double Reputation { get; set; } = 0.5;

        public int LivenessFailures { get; set; }

        public int CapacityFailures { get; set; }

        public bool LivenessPaused { get; set; }

        public bool CapacityPaused { get; set; }

        public bool Away { get; set; }

        public DateTimeOffset PausedSince { get; set; }

        public DateTimeOffset LastLiveness { get; set; }

        public DateTimeOffset LastCapacity { get; set; }

        public string? SlashReason { get; set; }
    }
}
