using Kumo.Protocol;

namespace Kumo.Provider.Market;

/// <summary>
/// What this machine has promised in outstanding bids. Together with the running leases it is subtracted from the
/// inventory before anything new is offered, so no GPU (or core) is ever promised twice. Thread-safe.
/// </summary>
public sealed class Reservations
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (IReadOnlyList<Allocation> Nodes, long ExpiresAt)> _bids = new(StringComparer.Ordinal);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _bids.Count;
            }
        }
    }

    /// <summary>Records a bid's promise, after checking <paramref name="fits"/> against what is already held, atomically.</summary>
    public bool TryReserve(string bidId, IReadOnlyList<Allocation> nodes, long expiresAt, Func<IReadOnlyList<Allocation>, bool> fits)
    {
        lock (_lock)
        {
            if (!fits([.. _bids.Values.SelectMany(b => b.Nodes)]))
            {
                return false;
            }

            _bids[bidId] = (nodes, expiresAt);
            return true;
        }
    }

    public void Release(string bidId)
    {
        lock (_lock)
        {
            _bids.Remove(bidId);
        }
    }

    /// <summary>Drops bids past their expiry (the hub releases them too).</summary>
    public void Expire(long now)
    {
        lock (_lock)
        {
            foreach (string id in _bids.Where(b => b.Value.ExpiresAt <= now).Select(b => b.Key).ToList())
            {
                _bids.Remove(id);
            }
        }
    }

    /// <summary>Everything promised in bids, except <paramref name="exceptBid"/> (the one an offer is converting into a lease).</summary>
    public IReadOnlyList<Allocation> Held(string? exceptBid = null)
    {
        lock (_lock)
        {
            return [.. _bids.Where(b => b.Key != exceptBid).SelectMany(b => b.Value.Nodes)];
        }
    }
}
