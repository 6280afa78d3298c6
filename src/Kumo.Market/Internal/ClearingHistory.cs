namespace Kumo.Market.Internal;

/// <summary>The last <see cref="MarketRules.ClearingWindow"/> clearing prices of one model, in a ring, with the sorted copy cached.</summary>
internal sealed class ClearingHistory
{
    private readonly long[] _prices = new long[MarketRules.ClearingWindow];
    private int _next;
    private long[]? _sorted;

    public int Count { get; private set; }
    public long LastAt { get; private set; }

    public void Add(long price, long at)
    {
        _prices[_next] = price;
        _next = (_next + 1) % _prices.Length;
        Count = Math.Min(Count + 1, _prices.Length);
        LastAt = Math.Max(LastAt, at);
        _sorted = null;
    }

    /// <summary>The window's prices, ascending.</summary>
    public long[] Sorted()
    {
        if (_sorted is null)
        {
            _sorted = _prices.AsSpan(0, Count).ToArray();
            Array.Sort(_sorted);
        }

        return _sorted;
    }

    public IEnumerable<long> Prices => _prices.Take(Count);

    /// <summary>Lower middle of sorted prices (an element of the set, so an exact integer; for an even count the lower of the two).</summary>
    public static long Median(long[] sorted) => sorted[(sorted.Length - 1) / 2];
}
