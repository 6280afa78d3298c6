namespace Kumo.Market;

/// <summary>One accelerator as the market sees it.</summary>
/// <param name="Uuid">Driver-reported UUID; unique across the whole book (a UUID claimed by two providers is refused).</param>
/// <param name="Vendor">"nvidia", "amd", ... compared case-insensitively.</param>
/// <param name="Model">Marketing name as the driver reports it, e.g. "NVIDIA H100 80GB HBM3". Leases and prices name this, never a pattern.</param>
/// <param name="VramBytes">Device memory.</param>
/// <param name="Interface">"sxm", "pcie", or null when unknown (then it matches no order that asks for an interface).</param>
/// <param name="Simulated">Devnet-declared device that does not exist; counted apart in statistics.</param>
public sealed record MarketGpu(string Uuid, string Vendor, string Model, long VramBytes, string? Interface, bool Simulated);
