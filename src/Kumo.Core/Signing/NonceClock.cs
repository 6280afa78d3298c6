namespace Kumo.Signing;

/// <summary>
/// Issues unique, increasing nonces for one signer: the current time in microseconds, or the previous nonce
/// plus one if the clock has not moved on. Because the value follows the clock, a signer that restarts
/// without remembering its last nonce does not reuse one (the hub refuses a nonce it has seen in the
/// timestamp window).
/// </summary>
public sealed class NonceClock(TimeProvider time)
{
    private long _last;

    public long Next()
    {
        long now = time.GetUtcNow().ToUnixTimeMilliseconds() * 1000;
        while (true)
        {
            long last = Volatile.Read(ref _last);
            long next = Math.Max(last + 1, now);
            if (Interlocked.CompareExchange(ref _last, next, last) == last)
            {
                return next;
            }
        }
    }
}
