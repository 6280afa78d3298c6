namespace Kumo.Tensor.Quantization;

/// <summary>
/// How far a dequantized tensor is from its fp32 original, so a model owner can decide whether the smaller file is
/// good enough before publishing it. Computed in double, in element order: the same inputs give the same report.
/// </summary>
/// <param name="Tensor">The fp32 tensor's name.</param>
/// <param name="MaxAbsError">max |x − deq(q(x))| over the elements.</param>
/// <param name="RmsError">sqrt(mean((x − deq(q(x)))²)).</param>
/// <param name="RelativeRmsError">RmsError / sqrt(mean(x²)); 0 for an all-zero tensor (which quantizes exactly).</param>
public sealed record QuantizationReport(
    string Tensor, QuantizationScheme Scheme, long Elements, double MaxAbsError, double RmsError, double RelativeRmsError)
{
    /// <summary>Compares <paramref name="original"/> with <paramref name="dequantized"/>, element by element.</summary>
    public static QuantizationReport Compare(string tensor, QuantizationScheme scheme, ReadOnlySpan<float> original, ReadOnlySpan<float> dequantized)
    {
        if (original.Length != dequantized.Length)
        {
            throw new ArgumentException($"tensor '{tensor}': {original.Length} original values but {dequantized.Length} dequantized");
        }

        double max = 0, squaredError = 0, squaredValue = 0;
        for (int i = 0; i < original.Length; i++)
        {
            double e = (double)original[i] - dequantized[i];
            max = Math.Max(max, Math.Abs(e));
            squaredError += e * e;
            squaredValue += (double)original[i] * original[i];
        }

        int n = Math.Max(1, original.Length);
        double rms = Math.Sqrt(squaredError / n);
        double rmsValue = Math.Sqrt(squaredValue / n);
        return new QuantizationReport(tensor, scheme, original.Length, max, rms, rmsValue == 0 ? 0 : rms / rmsValue);
    }
}
