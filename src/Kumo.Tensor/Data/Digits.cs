using System.Globalization;
using System.IO.Compression;

namespace Kumo.Tensor.Data;

/// <summary>
/// scikit-learn's handwritten digits (UCI optdigits test set: 1,797 8×8 images, 16 gray levels), in the format
/// scikit-learn ships it (<c>sklearn/datasets/data/digits.csv.gz</c>): gzip'd CSV without a header, each row 64 pixel
/// values 0–16 then the label 0–9. scripts/datasets.sh fetches it from Debian's python3-sklearn package into
/// .kumo/datasets/digits.csv.gz. Pixels are scaled to [0, 1] (÷16, exact in fp32).
/// </summary>
public static class Digits
{
    public const int Features = 64;
    public const int Classes = 10;

    /// <summary>Loads the file and holds out every 5th sample (index 4, 9, …) for testing: 1,438 train, 359 test.</summary>
    public static ClassificationData Load(string path)
    {
        using FileStream stream = File.OpenRead(path);
        return Load(stream);
    }

    /// <inheritdoc cref="Load(string)"/>
    public static ClassificationData Load(Stream gzipStream)
    {
        (float[] features, int[] labels) = Read(gzipStream);
        return ClassificationData.Split(Features, Classes, features, labels);
    }

    /// <summary>All samples, in file order: features (samples × 64, scaled to [0, 1]) and labels.</summary>
    public static (float[] Features, int[] Labels) Read(Stream gzipStream)
    {
        using var gzip = new GZipStream(gzipStream, CompressionMode.Decompress, leaveOpen: true);
        using var reader = new StreamReader(gzip);
        var features = new List<float>();
        var labels = new List<int>();
        int lineNumber = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            if (fields.Length != Features + 1)
            {
                throw new InvalidDataException($"digits line {lineNumber}: {fields.Length} fields, expected {Features + 1}");
            }

            for (int i = 0; i <= Features; i++)
            {
                if (!double.TryParse(fields[i], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v != Math.Floor(v)
                    || v < 0 || v > (i < Features ? 16 : Classes - 1))
                {
                    throw new InvalidDataException($"digits line {lineNumber}, field {i + 1}: '{fields[i]}' is not an integer in range");
                }

                if (i < Features)
                {
                    features.Add((float)v / 16f);
                }
                else
                {
                    labels.Add((int)v);
                }
            }
        }

        if (labels.Count == 0)
        {
            throw new InvalidDataException("digits file holds no samples");
        }

        return ([.. features], [.. labels]);
    }
}
