using System.IO.Compression;
using System.Text;
using Kumo.Tensor.Data;

namespace Kumo.Tensor.Tests.Data;

public class DataTests
{
    [Fact]
    public void Digits_file_has_1797_samples_split_into_every_fifth_held_out()
    {
        ClassificationData digits = Digits.Load(Datasets.Digits);

        Assert.Equal(1438, digits.TrainLabels.Length);
        Assert.Equal(359, digits.TestLabels.Length);
        Assert.Equal(64 * 1438, digits.TrainFeatures.Length);
        Assert.All(digits.TrainFeatures, v => Assert.InRange(v, 0f, 1f));
        Assert.Equal(10, digits.TrainLabels.Distinct().Count());
        Assert.Equal(0, digits.TrainLabels[0]); // the file starts 0, 1, 2, 3, (4 held out), 5 …
        Assert.Equal(4, digits.TestLabels[0]);
    }

    [Fact]
    public void Digits_reader_accepts_float_fields_and_rejects_wrong_widths()
    {
        string row = string.Join(",", Enumerable.Repeat("16.0", 64)) + ",7";
        (float[] features, int[] labels) = Digits.Read(Gzip(row + "\n"));
        Assert.Equal([7], labels);
        Assert.All(features, v => Assert.Equal(1f, v));

        Assert.Throws<InvalidDataException>(() => Digits.Read(Gzip("1,2,3\n")));
        Assert.Throws<InvalidDataException>(() => Digits.Read(Gzip(string.Join(",", Enumerable.Repeat("17", 64)) + ",1\n")));
    }

    [Fact]
    public void Character_corpus_has_a_sorted_vocabulary_and_holds_out_the_last_tenth()
    {
        CharCorpus corpus = CharCorpus.FromText("banana bread and abba's bananas");

        Assert.Equal(" 'abdenrs", corpus.Vocabulary.Characters);
        Assert.Equal(31 - 3, corpus.Train.Length);
        Assert.Equal("nas", corpus.Vocabulary.Decode(corpus.Validation));
        Assert.Equal("banana", corpus.Vocabulary.Decode(corpus.Vocabulary.Encode("banana")));
        Assert.Throws<ArgumentException>(() => corpus.Vocabulary.Encode("xyz"));
    }

    [Fact]
    public void License_corpus_is_there()
    {
        CharCorpus corpus = CharCorpus.Load(Datasets.Licenses);
        Assert.True(corpus.Train.Length > 50_000);
        Assert.InRange(corpus.Vocabulary.Count, 60, 120);
    }

    private static MemoryStream Gzip(string text)
    {
        var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        buffer.Position = 0;
        return buffer;
    }
}
