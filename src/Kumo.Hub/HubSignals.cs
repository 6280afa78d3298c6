using System.Collections.Concurrent;
using System.Threading.Channels;

namespace Kumo.Hub;

/// <summary>
/// In-process wake-ups between the hub's parts: the scheduler sleeps until there may be work, and log
/// followers sleep until their job has news. Signals carry no state; the store is the truth.
/// </summary>
public sealed class HubSignals
{
    private readonly Channel<bool> _schedule = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _jobWaiters = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _ledger = new(0, 1);

    /// <summary>Something changed that may let a queued job be placed.</summary>
    public void WakeScheduler() => _schedule.Writer.TryWrite(true);

    public ValueTask<bool> WaitForSchedulerWakeAsync(CancellationToken cancellationToken) =>
        _schedule.Reader.WaitToReadAsync(cancellationToken) is var task && task.IsCompleted
            ? Drain(task.Result)
            : DrainAsync(task);

    /// <summary>A lease or job changed in a way the ledger must follow (accepted, closed, ended).</summary>
    public void WakeLedger()
    {
        try
        {
            _ledger.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already awake.
        }
    }

    /// <summary>Waits for <see cref="WakeLedger"/> or <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitForLedgerWakeAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task delay = Task.Delay(timeout, time, cts.Token);
        Task wake = _ledger.WaitAsync(cts.Token);
        await Task.WhenAny(delay, wake);
        await cts.CancelAsync();
        try
        {
            await Task.WhenAll(delay, wake);
        }
        catch (OperationCanceledException)
        {
            // The one that did not finish first.
        }
    }

    /// <summary>The job has new log lines or a new state.</summary>
    public void JobChanged(string jobId)
    {
        if (_jobWaiters.TryRemove(jobId, out TaskCompletionSource? waiter))
        {
            waiter.TrySetResult();
        }
    }

    /// <summary>A task that completes at the job's next change. Take it before reading state, then wait on it.</summary>
    public Task NextJobChange(string jobId) =>
        _jobWaiters.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    private ValueTask<bool> Drain(bool result)
    {
        _schedule.Reader.TryRead(out _);
        return ValueTask.FromResult(result);
    }

    private async ValueTask<bool> DrainAsync(ValueTask<bool> wait)
    {
        bool result = await wait;
        _schedule.Reader.TryRead(out _);
        return result;
    }
}
