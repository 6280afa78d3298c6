using Microsoft.Extensions.Logging;

namespace Kumo.Hub;

/// <summary>
/// The loop of the hub's background services that look at the world now and then (verification, proofs, probes,
/// checkers): one pass per tick until the hub stops; a pass that fails is logged and the next tick tries again.
/// </summary>
public static class PeriodicPass
{
    /// <summary>
    /// Runs <paramref name="pass"/> every <paramref name="interval"/> (first at once when <paramref name="runAtStart"/>)
    /// until <paramref name="stoppingToken"/> is cancelled. A zero or negative interval runs nothing.
    /// </summary>
    public static async Task RunAsync(TimeSpan interval, TimeProvider time, Func<CancellationToken, Task> pass, ILogger logger, string what,
        bool runAtStart, CancellationToken stoppingToken)
    {
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        try
        {
            if (!runAtStart && !await timer.WaitForNextTickAsync(stoppingToken))
            {
                return;
            }

            do
            {
                try
                {
                    await pass(stoppingToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    logger.LogWarning(e, "{What} failed", what);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
