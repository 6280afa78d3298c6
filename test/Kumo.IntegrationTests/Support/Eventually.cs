using System.Diagnostics;

namespace Kumo.IntegrationTests.Support;

/// <summary>Polls a real network until something holds (processes take their time; tests never sleep blindly).</summary>
public static class Eventually
{
    public static Task<bool> Until(Func<Task<bool>> condition, string what, int seconds = 30) => Until(condition, ok => ok, what, seconds);

    public static async Task<T> Until<T>(Func<Task<T>> probe, Func<T, bool> done, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            T value = await probe();
            if (done(value))
            {
                return value;
            }

            if (clock.Elapsed > TimeSpan.FromSeconds(seconds))
            {
                throw new TimeoutException($"waited {seconds} s for {what}; last: {value}");
            }

            await Task.Delay(100);
        }
    }
}
