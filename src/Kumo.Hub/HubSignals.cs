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

    /// <summary>Something changed that may let a queued job be placed.</summary>
    public void WakeScheduler() => _schedule.Writer.TryWrite(true);

    public ValueTask<bool> WaitForSchedulerWakeAsync(CancellationToken cancellationToken) =>
        _schedule.Reader.WaitToReadAsync(cancellationToken) is var task && task.IsCompleted
            ? Drain(task.Result)
            : DrainAsync(task);

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
