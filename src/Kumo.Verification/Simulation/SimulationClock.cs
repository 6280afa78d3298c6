namespace Kumo.Verification.Simulation;

/// <summary>Virtual time for the simulation: it moves only when told to.</summary>
public sealed class SimulationClock(DateTimeOffset start) : TimeProvider
{
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by) => _now += by;
}
