using Kumo.Protocol;

namespace Kumo.Provider.Pricing;

/// <summary>What a bid would allocate, for the policy to price.</summary>
/// <param name="OrderId">The order asking.</param>
/// <param name="Nodes">One allocation per node offered.</param>
/// <param name="MaxPricePerHour">The order's maximum for all its nodes.</param>
/// <param name="OrderNodes">How many nodes the whole order needs.</param>
public sealed record QuoteRequest(string OrderId, IReadOnlyList<Allocation> Nodes, long MaxPricePerHour, int OrderNodes);

/// <summary>A price for the nodes (µKUMO per hour, for all of them), or why there is none.</summary>
public sealed record Quote(long? PricePerHour, string? Declined)
{
    public static Quote Price(long perHour) => new(perHour, null);

    public static Quote Decline(string why) => new(null, why);
}

/// <summary>How a provider prices what it offers. Market and performance modes are applied by the bid engine around it.</summary>
public interface IPricingPolicy
{
    /// <summary>For listings: "linear", "script /path".</summary>
    string Description { get; }

    /// <summary>The provider's floor: it never bids below this per lease-hour, whatever the mode.</summary>
    long FloorPerHour { get; }

    Task<Quote> QuoteAsync(QuoteRequest request, CancellationToken cancellationToken);
}

/// <summary>The linear scale: each node priced by <see cref="ProviderPricing.PriceFor(int, string?, int, long, long)"/>, summed.</summary>
public sealed class LinearPricing(ProviderPricing pricing) : IPricingPolicy
{
    public string Description => "linear";

    public long FloorPerHour => pricing.FloorPerHourMicros;

    public Task<Quote> QuoteAsync(QuoteRequest request, CancellationToken cancellationToken)
    {
        try
        {
            long total = checked(request.Nodes.Sum(n => pricing.PriceFor(n.GpuUuids.Count, n.GpuModel, n.CpuMillicores, n.MemoryBytes, n.DiskBytes)));
            return Task.FromResult(Quote.Price(total));
        }
        catch (OverflowException)
        {
            return Task.FromResult(Quote.Decline("the price overflows"));
        }
    }
}
