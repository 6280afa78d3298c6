namespace Kumo.Tensor.Training;

/// <summary>
/// A source of random 64-bit words. Training draws every random number through this so the generator can be
/// swapped (for the Philox generator the engine will standardize on) in one place: <see cref="Rng.For"/>.
/// </summary>
public interface IRandomSource
{
    ulong NextUInt64();
}

/// <summary>
/// The generator training uses: Philox4x32-10 (<see cref="Randomness.Philox"/>), keyed by the job's seed, the step
/// and a stream number (0 initialization, 1 data order, 2 sampling). Any step's numbers can be produced without
/// producing the steps before it, and they depend on nothing but the three keys — which is what lets a validator
/// re-run one training segment. Two 32-bit outputs make one 64-bit word, low half first. Not cryptographic.
/// </summary>
public sealed class Rng : IRandomSource
{
    private readonly Randomness.Philox _philox;

    public Rng(ulong seed, ulong step, ulong stream)
    {
        _philox = new Randomness.Philox(seed, step, checked((uint)stream));
    }

    /// <summary>The generator training uses for (seed, step, stream); the one place to swap generators.</summary>
    public static IRandomSource For(ulong seed, ulong step, ulong stream) => new Rng(seed, step, stream);

    public ulong NextUInt64()
    {
        ulong low = _philox.NextUInt32();
        return low | ((ulong)_philox.NextUInt32() << 32);
    }
}

/// <summary>Derived draws, defined exactly (integer arithmetic and exact float conversions) so every platform agrees.</summary>
public static class RandomSourceExtensions
{
    /// <summary>Uniform in [0, 1): the top 24 bits over 2^24 (exact in fp32).</summary>
    public static float NextFloat(this IRandomSource source) => (source.NextUInt64() >> 40) * (1f / 16777216f);

    /// <summary>Uniform in [−limit, limit).</summary>
    public static float NextUniform(this IRandomSource source, float limit) => ((2f * source.NextFloat()) - 1f) * limit;

    /// <summary>Uniform integer in [0, n), unbiased (Lemire's multiply-and-reject).</summary>
    public static int NextInt(this IRandomSource source, int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(n);
        ulong bound = (ulong)n;
        ulong threshold = (0UL - bound) % bound;
        while (true)
        {
            UInt128 product = (UInt128)source.NextUInt64() * bound;
            if ((ulong)product >= threshold)
            {
                return (int)(product >> 64);
            }
        }
    }
}
