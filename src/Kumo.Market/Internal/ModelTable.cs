using Kumo.Hardware;

namespace Kumo.Market.Internal;

/// <summary>
/// One distinct kind of GPU in the fleet — (vendor, model, VRAM, interface, simulated) — and the index of the
/// provider GPU groups of that kind, in three orders (see <see cref="PostingList"/>).
/// </summary>
internal sealed class ModelInfo(int id, string vendor, string model, long vramBytes, string? @interface, bool simulated)
{
    public int Id { get; } = id;
    public string Vendor { get; } = vendor;
    public string Model { get; } = model;
    public long VramBytes { get; } = vramBytes;
    public string? Interface { get; } = @interface;
    public bool Simulated { get; } = simulated;
    public bool IsH100 { get; } = GpuModelPattern.Matches("H100", model);
    public bool IsA100 { get; } = GpuModelPattern.Matches("A100", model);

    /// <summary>
    /// Groups are indexed apart by size class — 1, 2–3, 4–7, 8 or more GPUs — so an order for n GPUs per node never
    /// walks groups too small to hold a node (cheap consumer cards would otherwise head every list).
    /// </summary>
    public const int SizeClasses = 4;

    /// <summary>By per-GPU policy price / reputation weight (auction mode), per size class.</summary>
    public PostingList[] ByPrice { get; } = NewLists();

    /// <summary>By 1 / reputation weight (market mode: everyone asks the same price), per size class.</summary>
    public PostingList[] ByReputation { get; } = NewLists();

    /// <summary>By performance tier / reputation weight (performance mode; tier 0 last), per size class.</summary>
    public PostingList[] ByPerformance { get; } = NewLists();

    /// <summary>The size class of a group of <paramref name="gpus"/>; a node of n GPUs can only come from classes ≥ SizeClass(n).</summary>
    public static int SizeClass(int gpus) => gpus >= 8 ? 3 : gpus >= 4 ? 2 : gpus >= 2 ? 1 : 0;

    private static PostingList[] NewLists() => [.. Enumerable.Range(0, SizeClasses).Select(_ => new PostingList())];

    public bool Fits(NodeRequirement r) =>
        (r.Vendor is null || string.Equals(r.Vendor, Vendor, StringComparison.OrdinalIgnoreCase))
        && VramBytes >= r.MinVramBytes
        && (r.Interface is null || string.Equals(r.Interface, Interface, StringComparison.OrdinalIgnoreCase))
        && GpuModelPattern.MatchesAny(r.Models, Model);
}

/// <summary>
/// The distinct GPU kinds the book has seen (a few dozen in a real fleet), and which of them fit a requirement,
/// cached by the requirement's GPU filters: pattern matching allocates, so each distinct filter is matched
/// against each kind once.
/// </summary>
internal sealed class ModelTable
{
    private const int MaxCachedFilters = 4096;
    private readonly Dictionary<(string Vendor, string Model, long Vram, string? Interface, bool Simulated), ModelInfo> _byKey = [];
    private readonly List<ModelInfo> _models = [];
    private readonly Dictionary<string, bool[]> _fits = new(StringComparer.Ordinal);

    public IReadOnlyList<ModelInfo> Models => _models;

    public ModelInfo GetOrAdd(MarketGpu gpu)
    {
        string vendor = gpu.Vendor.ToLowerInvariant();
        string? iface = gpu.Interface?.ToLowerInvariant();
        var key = (vendor, gpu.Model, gpu.VramBytes, iface, gpu.Simulated);
        if (!_byKey.TryGetValue(key, out ModelInfo? info))
        {
            info = new ModelInfo(_models.Count, vendor, gpu.Model, gpu.VramBytes, iface, gpu.Simulated);
            _byKey.Add(key, info);
            _models.Add(info);
        }

        return info;
    }

    /// <summary>Which kinds (by id) fit the requirement's GPU filters. Kinds added later are matched on the next call.</summary>
    public bool[] Fits(NodeRequirement requirement)
    {
        string filter = string.Join('\u0001', requirement.Vendor ?? "", requirement.MinVramBytes, requirement.Interface ?? "", string.Join('\u0002', requirement.Models));
        if (_fits.TryGetValue(filter, out bool[]? fits) && fits.Length == _models.Count)
        {
            return fits;
        }

        int known = fits?.Length ?? 0;
        bool[] grown = new bool[_models.Count];
        fits?.CopyTo(grown, 0);
        for (int i = known; i < grown.Length; i++)
        {
            grown[i] = _models[i].Fits(requirement);
        }

        if (_fits.Count >= MaxCachedFilters)
        {
            _fits.Clear();
        }

        _fits[filter] = grown;
        return grown;
    }
}
