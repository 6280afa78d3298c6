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
/// A counter-based generator: the stream for (seed, step, stream) is SplitMix64's output function applied to a key
/// derived from those three and a counter. Any step's numbers can be produced without producing the steps before
/// it, and they depend on nothing but the three keys — which is what lets a validator re-run one training segment.
/// Not cryptographic.
/// </summary>
public sealed class Rng : IRandomSource
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;
    private readonly ulong _key;
    private ulong _counter;

    public Rng(ulong seed, ulong step, ulong stream)
    {
        _key = unchecked(Mix(Mix(Mix(seed + Golden) ^ (step + (2 * Golden))) ^ (stream + (3 * Golden))));
    }

    /// <summary>The generator training uses for (seed, step, stream); the one place to swap generators.</summary>
    public static IRandomSource For(ulong seed, ulong step, ulong stream) => new Rng(seed, step, stream);

    public ulong NextUInt64()
    {
        _counter++;
        return Mix(unchecked(_key + (_counter * Golden)));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
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
