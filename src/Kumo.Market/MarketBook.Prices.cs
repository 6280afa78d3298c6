using Kumo.Hardware;
using Kumo.Market.Internal;

namespace Kumo.Market;

public sealed partial class MarketBook
{
    private readonly Dictionary<string, ClearingHistory> _clearing = new(StringComparer.Ordinal);

    /// <summary>
    /// Records a clearing price: µKUMO per GPU-hour of an exact GPU model name, or per core-hour for "cpu". The
    /// book records one per leased node itself (the node's price ÷ its GPUs, or × 1000 ÷ its millicores for a CPU
    /// node, rounded down); the hub may add prices cleared elsewhere.
    /// </summary>
    public void RecordClearing(string model, long pricePerUnitHour, long at)
    {
        ArgumentException.ThrowIfNullOrEmpty(model);
        ArgumentOutOfRangeException.ThrowIfNegative(pricePerUnitHour);
        if (!_clearing.TryGetValue(model, out ClearingHistory? history))
        {
            history = new ClearingHistory();
            _clearing.Add(model, history);
        }

        history.Add(pricePerUnitHour, at);
        _version++;
    }

    private void RecordNodeClearing(NodeAllocation node, long price, long at)
    {
        if (node.GpuUuids.Count > 0 && node.GpuModel is not null)
        {
            RecordClearing(node.GpuModel, price / node.GpuUuids.Count, at);
        }
        else if (node.CpuMillicores > 0)
        {
            RecordClearing(OrderQuery.CpuModel, (long)((Int128)price * 1000 / node.CpuMillicores), at);
        }
    }

    /// <summary>
    /// The market price of an exact model name (or "cpu"): the median of its last <see cref="MarketRules.ClearingWindow"/>
    /// clearing prices per GPU-hour — for an even count the lower of the two middle prices, so it is always a price
    /// that actually cleared. Null when none has.
    /// </summary>
    public long? MarketPrice(string gpuModel) =>
        _clearing.TryGetValue(gpuModel, out ClearingHistory? history) && history.Count > 0
            ? ClearingHistory.Median(history.Sorted())
            : null;

    /// <summary>
    /// Min, median and max of recent clearing prices: of the exact model name if it has any, else of every model
    /// the argument matches as a pattern ("H100" covers all H100 variants; the windows are pooled). Null when none.
    /// </summary>
    public PriceRange? RecentPrices(string model)
    {
        if (_clearing.TryGetValue(model, out ClearingHistory? exact) && exact.Count > 0)
        {
            long[] sorted = exact.Sorted();
            return new PriceRange(sorted[0], ClearingHistory.Median(sorted), sorted[^1], sorted.Length, exact.LastAt);
        }

        if (string.Equals(model, OrderQuery.CpuModel, StringComparison.Ordinal))
        {
            return null;
        }

        var pooled = new List<long>();
        long last = 0;
        foreach ((string name, ClearingHistory history) in _clearing)
        {
            if (!string.Equals(name, OrderQuery.CpuModel, StringComparison.Ordinal) && GpuModelPattern.Matches(model, name))
            {
                pooled.AddRange(history.Prices);
                last = Math.Max(last, history.LastAt);
            }
        }

        if (pooled.Count == 0)
        {
            return null;
        }

        long[] all = [.. pooled];
        Array.Sort(all);
        return new PriceRange(all[0], ClearingHistory.Median(all), all[^1], all.Length, last);
    }

    /// <summary>Network figures; one pass over the providers. GPU and CPU counts and utilization cover online providers.</summary>
    /// <param name="now">Unix ms: reservations expired by then are not counted as open bids.</param>
    public MarketStats Stats(long now)
    {
        int online = 0, gpus = 0, simulated = 0, h100 = 0, a100 = 0, leasedGpus = 0;
        long millicores = 0, leasedMillicores = 0;
        foreach (ProviderState s in _providers.Values)
        {
            if (!s.Provider.Online)
            {
                continue;
            }

            online++;
            foreach (GpuGroup group in s.Groups)
            {
                int n = group.Gpus.Length;
                gpus += n;
                simulated += group.Model.Simulated ? n : 0;
                h100 += group.Model.IsH100 ? n : 0;
                a100 += group.Model.IsA100 ? n : 0;
            }

            leasedGpus += s.LeasedGpus;
            millicores += s.Provider.CpuMillicores;
            leasedMillicores += Math.Min(s.LeasedCpu, s.Provider.CpuMillicores);
        }

        int openBids = _reservations.Values.Count(h => h.ExpiresAt > now);
        return new MarketStats(
            _providers.Count,
            online,
            gpus,
            gpus - simulated,
            simulated,
            (int)(millicores / 1000),
            h100,
            a100,
            RecentPrices("H100")?.Median,
            RecentPrices("A100")?.Median,
            leasedGpus,
            gpus == 0 ? 0 : leasedGpus / (double)gpus,
            millicores == 0 ? 0 : leasedMillicores / (double)millicores,
            _orders.Count,
            openBids,
            _leases.Count);
    }
}
