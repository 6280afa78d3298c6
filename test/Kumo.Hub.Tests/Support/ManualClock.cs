namespace Kumo.Hub.Tests.Support;

/// <summary>A clock the test moves. Timers still run on real time; what they compute uses this "now".</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);

    /// <summary>Follows real time from now on, keeping the offset (for tests that only jump ahead now and then).</summary>
    public static ManualClock StartingNow() => new(DateTimeOffset.UtcNow);
}
