using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Hub.Scheduling;

/// <summary>
/// Chooses where a job runs. The walking skeleton's <see cref="FirstFitMatcher"/> takes the first provider with
/// room; the market replaces it with auctions without touching the rest of the hub.
/// </summary>
public interface ILeaseMatcher
{
    Match Find(JobSpec spec, IReadOnlyList<ProviderCapacity> candidates);
}

/// <summary>
/// The outcome of matching: a placement, or none; and in both cases how many candidates each constraint
/// excluded, which is what an unplaceable job tells its tenant.
/// </summary>
public sealed record Match(Placement? Placement, IReadOnlyList<Exclusion> Exclusions, int Candidates)
{
    /// <summary>"3 providers: 2 lack a GPU matching H100*; 1 has too little memory".</summary>
    public string Explain()
    {
        if (Candidates == 0)
        {
            return "no provider is registered and online";
        }

        string counts = string.Join("; ", Exclusions.Where(e => e.Count > 0).OrderByDescending(e => e.Count).Select(e => $"{e.Count} {e.Reason}"));
        return $"{Candidates} provider{(Candidates == 1 ? "" : "s")} considered: {(counts.Length == 0 ? "none excluded" : counts)}";
    }
}

public sealed record Placement(ProviderCapacity Provider, Allocation Allocation, long PricePerHourMicros, bool SimulatedGpus);

public sealed record Exclusion(string Reason, int Count);
