using System.Runtime.Intrinsics;

namespace Kumo.Tensor.Compute;

/// <summary>
/// Turns <see cref="SimdWidth.Auto"/> into the widest width this CPU accelerates. Only speed depends on the choice:
/// every kernel gives the same bits at every width, so resolving differently on another machine changes nothing.
/// </summary>
public static class SimdWidths
{
    /// <summary>The width <see cref="SimdWidth.Auto"/> stands for on this machine.</summary>
    public static SimdWidth Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdWidth.W512
        : Vector256.IsHardwareAccelerated ? SimdWidth.W256
        : Vector128.IsHardwareAccelerated ? SimdWidth.W128
        : SimdWidth.Scalar;

    /// <summary><paramref name="width"/>, or <see cref="Best"/> for <see cref="SimdWidth.Auto"/>; unknown values are refused.</summary>
    public static SimdWidth Resolve(SimdWidth width) => width switch
    {
        SimdWidth.Auto => Best,
        SimdWidth.Scalar or SimdWidth.W128 or SimdWidth.W256 or SimdWidth.W512 => width,
        _ => throw new ArgumentOutOfRangeException(nameof(width), width, "not a SIMD width"),
    };
}
