namespace Kumo.Hub.Tests.Support;

/// <summary>Waits for a condition with a bound, polling; the failure names what was awaited.</summary>
public static class Eventually
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> probe, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        TimeSpan limit = timeout ?? TimeSpan.FromSeconds(10);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        T last = await probe();
        while (!done(last))
        {
            if (clock.Elapsed > limit)
            {
                throw new TimeoutException($"waited {limit.TotalSeconds} s for {what}; last seen: {last}");
            }

            await Task.Delay(20);
            last = await probe();
        }

        return last;
    }
}
