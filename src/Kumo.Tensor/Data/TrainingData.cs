namespace Kumo.Tensor.Data;

/// <summary>
/// A data set a <see cref="Training.Trainer"/> can train on, already split into training and held-out parts
/// (the split is part of the data set's definition, so every party evaluates on the same samples).
/// </summary>
public abstract class TrainingData
{
    private protected TrainingData()
    {
    }
}

/// <summary>
/// Fixed-size feature vectors with a class label each (features row-major, samples × <see cref="FeatureCount"/>),
/// split into training and test parts.
/// </summary>
public sealed class ClassificationData : TrainingData
{
    public ClassificationData(int featureCount, int classCount, float[] trainFeatures, int[] trainLabels, float[] testFeatures, int[] testLabels)
    {
        if (featureCount <= 0 || classCount <= 1)
        {
            throw new ArgumentException("needs at least one feature and two classes");
        }

        if (trainFeatures.Length != trainLabels.Length * featureCount || testFeatures.Length != testLabels.Length * featureCount || trainLabels.Length == 0)
        {
            throw new ArgumentException("features and labels disagree on the number of samples, or there are no training samples");
        }

        if (trainLabels.Concat(testLabels).Any(l => (uint)l >= (uint)classCount))
        {
            throw new ArgumentException($"labels must lie in 0..{classCount - 1}");
        }

        FeatureCount = featureCount;
        ClassCount = classCount;
        TrainFeatures = trainFeatures;
        TrainLabels = trainLabels;
        TestFeatures = testFeatures;
        TestLabels = testLabels;
    }

    public int FeatureCount { get; }

    public int ClassCount { get; }

    public float[] TrainFeatures { get; }

    public int[] TrainLabels { get; }

    public float[] TestFeatures { get; }

    public int[] TestLabels { get; }

    /// <summary>Splits samples deterministically: every <paramref name="holdOutEvery"/>-th sample (index % n == n − 1) is held out for testing.</summary>
    public static ClassificationData Split(int featureCount, int classCount, float[] features, int[] labels, int holdOutEvery = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(holdOutEvery, 2);
        var trainX = new List<float>();
        var trainY = new List<int>();
        var testX = new List<float>();
        var testY = new List<int>();
        for (int i = 0; i < labels.Length; i++)
        {
            bool test = i % holdOutEvery == holdOutEvery - 1;
            (test ? testX : trainX).AddRange(features.AsSpan(i * featureCount, featureCount));
            (test ? testY : trainY).Add(labels[i]);
        }

        return new ClassificationData(featureCount, classCount, [.. trainX], [.. trainY], [.. testX], [.. testY]);
    }
}
