using Kumo.Tensor.Numerics;

// The namespace is Randomness, not Random: a namespace Kumo.Tensor.Random would hide System.Random from every file
// in Kumo.Tensor.* namespaces.
namespace Kumo.Tensor.Randomness;

/// <summary>
/// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), a counter-based generator:
/// output block = bijection(counter, key). Nothing is carried from one block to the next, so any validator can
/// regenerate exactly the numbers of any (job, step, stream) without replaying anything before it, on any CPU.
/// <para>
/// Keying: key = the 64-bit job key (low word, high word); counter = (block index, stream, step low word, step high
/// word). One (job, step, stream) holds 2^32 blocks of four 32-bit words. Distinct streams — data order, dropout,
/// initialization — never share a block, so they are independent and adding one never shifts another.
/// </para>
/// <para>
/// Derived values use only IEEE-exact operations: uniform floats take the top 24 bits (k·2^-24, exactly
/// representable, in [0, 1)); normals are Box–Muller with <see cref="DetMath.Log(float)"/>, the correctly rounded
/// square root and <see cref="DetMath.SinCosTurns"/>; integers below a bound use Lemire's multiply-and-reject
/// (unbiased); permutations are Fisher–Yates driven by those integers.
/// </para>
/// </summary>
public sealed class Philox
{
    private const uint M0 = 0xD2511F53, M1 = 0xCD9E8D57;
    private const uint W0 = 0x9E3779B9, W1 = 0xBB67AE85;

    private readonly uint _key0, _key1, _stream, _step0, _step1;
    private uint _x0, _x1, _x2, _x3;
    private ulong _block; // the next block to generate
    private int _used = 4; // words of the current block already handed out

    /// <summary>The stream of (<paramref name="jobKey"/>, <paramref name="step"/>, <paramref name="stream"/>), from its first word.</summary>
    public Philox(ulong jobKey, ulong step, uint stream)
    {
        _key0 = (uint)jobKey;
        _key1 = (uint)(jobKey >> 32);
        _stream = stream;
        _step0 = (uint)step;
        _step1 = (uint)(step >> 32);
    }

    /// <summary>32-bit words handed out so far (each float, and each attempt of an integer draw, takes one).</summary>
    public long Position => (long)(_block * 4) - (4 - _used);

    /// <summary>The raw bijection: ten Philox rounds of (c0, c1, c2, c3) under key (k0, k1).</summary>
    public static (uint X0, uint X1, uint X2, uint X3) Block(uint c0, uint c1, uint c2, uint c3, uint k0, uint k1)
    {
        for (int round = 0; round < 10; round++)
        {
            if (round > 0)
            {
                k0 += W0;
                k1 += W1;
            }

            ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
            (c0, c1, c2, c3) = ((uint)(p1 >> 32) ^ c1 ^ k0, (uint)p1, (uint)(p0 >> 32) ^ c3 ^ k1, (uint)p0);
        }

        return (c0, c1, c2, c3);
    }

    /// <summary>The next 32 random bits of this stream.</summary>
    public uint NextUInt32()
    {
        if (_used == 4)
        {
            if (_block > uint.MaxValue)
            {
                throw new InvalidOperationException("this (job, step, stream) is exhausted: 2^34 words; use another stream");
            }

            (_x0, _x1, _x2, _x3) = Block((uint)_block, _stream, _step0, _step1, _key0, _key1);
            _block++;
            _used = 0;
        }

        return _used++ switch
        {
            0 => _x0,
            1 => _x1,
            2 => _x2,
            _ => _x3,
        };
    }

    /// <summary>
    /// The next <paramref name="words"/>.Length words of this stream: exactly what as many <see cref="NextUInt32"/> calls
    /// return, without a call per word (whole blocks are written straight into the span).
    /// </summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public void FillUInt32(Span<uint> words)
    {
        int i = 0;
        while (i < words.Length && _used < 4)
        {
            words[i++] = NextUInt32();
        }

        if (i == words.Length)
        {
            return;
        }

        int blocks = (words.Length - i) / 4;
        if (_block + (ulong)blocks > (ulong)uint.MaxValue + 1)
        {
            throw new InvalidOperationException("this (job, step, stream) is exhausted: 2^34 words; use another stream");
        }

        Span<uint> whole = words.Slice(i, blocks * 4);
        for (int b = 0; b < whole.Length; b += 4)
        {
            // Block(), written out with locals: the same ten rounds, several times faster than through the tuple.
            uint c0 = (uint)_block, c1 = _stream, c2 = _step0, c3 = _step1, k0 = _key0, k1 = _key1;
            for (int round = 0; round < 10; round++)
            {
                ulong p0 = (ulong)M0 * c0, p1 = (ulong)M1 * c2;
                uint n0 = (uint)(p1 >> 32) ^ c1 ^ k0, n2 = (uint)(p0 >> 32) ^ c3 ^ k1;
                c1 = (uint)p1;
                c3 = (uint)p0;
                c0 = n0;
                c2 = n2;
                k0 += W0;
                k1 += W1;
            }

            whole[b] = c0;
            whole[b + 1] = c1;
            whole[b + 2] = c2;
            whole[b + 3] = c3;
            _block++;
        }

        i += whole.Length;

        while (i < words.Length)
        {
            words[i++] = NextUInt32();
        }
    }

    /// <summary>Uniform in [0, 1): the top 24 bits of one word times 2^-24 (exact).</summary>
    public float NextFloat() => (NextUInt32() >> 8) * (1f / 16777216f);

    /// <summary>Uniform integer in [0, <paramref name="maxExclusive"/>), unbiased (Lemire: multiply, reject the short range).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        uint bound = (uint)maxExclusive;
        ulong m = (ulong)NextUInt32() * bound;
        if ((uint)m < bound)
        {
            uint threshold = (0u - bound) % bound;
            while ((uint)m < threshold)
            {
                m = (ulong)NextUInt32() * bound;
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>Fills with uniform floats in [0, 1), one word each.</summary>
    public void FillUniform(Span<float> values)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = NextFloat();
        }
    }

    /// <summary>
    /// Fills with normal floats (mean + stdDev·z), Box–Muller: two words u1 ∈ (0, 1], u2 ∈ [0, 1) give
    /// r = √(−2 ln u1) and the pair (r·cos 2πu2, r·sin 2πu2). An odd length uses the first of the last pair only.
    /// |z| ≤ √(−2 ln 2^-24) ≈ 5.77.
    /// </summary>
    public void FillNormal(Span<float> values, float mean = 0f, float stdDev = 1f)
    {
        for (int i = 0; i < values.Length; i += 2)
        {
            float u1 = ((NextUInt32() >> 8) + 1) * (1f / 16777216f);
            float u2 = (NextUInt32() >> 8) * (1f / 16777216f);
            float r = MathF.Sqrt(-2f * DetMath.Log(u1));
            (float sin, float cos) = DetMath.SinCosTurns(u2);
            values[i] = MathF.FusedMultiplyAdd(stdDev, r * cos, mean);
            if (i + 1 < values.Length)
            {
                values[i + 1] = MathF.FusedMultiplyAdd(stdDev, r * sin, mean);
            }
        }
    }

    /// <summary>Shuffles in place, Fisher–Yates from the last element down, j = NextInt(i + 1).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A permutation of 0 … n−1 (the order in which a data set is visited), Fisher–Yates on the identity.</summary>
    public int[] Permutation(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        int[] order = new int[n];
        for (int i = 0; i < n; i++)
        {
            order[i] = i;
        }

        Shuffle<int>(order);
        return order;
    }
}
