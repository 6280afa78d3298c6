namespace Kumo.Tensor.Compute;

/// <summary>The vector width kernels use. Results never depend on it (docs/DETERMINISM.md); speed does.</summary>
public enum SimdWidth
{
    /// <summary>The widest the CPU accelerates.</summary>
    Auto = 0,
    Scalar = 1,
    W128 = 128,
    W256 = 256,
    W512 = 512,
}

/// <summary>How kernels run: threads and vector width. Neither changes a single bit of any result.</summary>
public sealed record ComputeOptions
{
    public static ComputeOptions Default { get; } = new();

    /// <summary>Worker threads (1 = the caller's thread only). Default: every core.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    public SimdWidth Width { get; init; } = SimdWidth.Auto;
}
