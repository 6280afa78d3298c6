namespace Kumo.Provider;

/// <summary>The provider agent (filled in by the walking skeleton).</summary>
public sealed class ProviderAgent;
