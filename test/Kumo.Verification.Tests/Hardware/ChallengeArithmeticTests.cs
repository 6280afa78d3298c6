using Kumo.Tensor.Randomness;
using Kumo.Verification.Hardware;

namespace Kumo.Verification.Tests.Hardware;

/// <summary>The fast paths of the challenge's arithmetic against their definitions (prover and hub must agree bit for bit).</summary>
public class ChallengeArithmeticTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(13)]
    [InlineData(64)]
    [InlineData(8200)]
    [InlineData(9001)]
    public void Rows_are_the_documented_nibbles_of_the_philox_words_low_first_minus_8(int length)
    {
        const ulong seed = 0xfeed_beef_0123_4567;
        foreach ((uint stream, bool b) in new[] { (0u, false), (1u, true) })
        {
            var philox = new Philox(seed, 5, stream);
            float[] expected = new float[length];
            uint word = 0;
            for (int j = 0; j < length; j++)
            {
                if (j % 8 == 0)
                {
                    word = philox.NextUInt32();
                }

                expected[j] = (int)((word >> (4 * (j % 8))) & 0xF) - 8;
            }

            float[] row = new float[length];
            if (b)
            {
                ChallengeMatrices.RowOfB(seed, 5, row);
            }
            else
            {
                ChallengeMatrices.RowOfA(seed, 5, row);
            }

            Assert.Equal(expected, row);
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    public void Vectorised_dots_equal_the_plain_sum_exactly(int n)
    {
        var random = new Random(n);
        // The largest magnitudes the proof meets: rows of C up to 64n, vectors below 2^16.
        float[] row = [.. Enumerable.Range(0, n).Select(_ => (float)random.Next(-64 * n, 64 * n))];
        double[][] vectors = [.. Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, n).Select(_ => (double)random.Next(0, 1 << 16)).ToArray())];
        double[] dots = new double[3];
        HardwareProver.Dots(row, vectors, dots);
        for (int t = 0; t < 3; t++)
        {
            double plain = 0;
            for (int j = 0; j < n; j++)
            {
                plain += row[j] * vectors[t][j];
            }

            Assert.Equal(plain, dots[t]);
            Assert.Equal(plain, HardwareProver.Dot(row, vectors[t]));
        }
    }
}
