namespace Kumo.Tensor.Data;

/// <summary>
/// The characters a character model knows: the distinct UTF-16 code units of its corpus in ordinal order, token
/// id = position. Stored as that string alongside a model's weights, it is all inference needs to encode and decode.
/// </summary>
public sealed class CharVocabulary
{
    private readonly Dictionary<char, int> _ids = [];

    public CharVocabulary(string characters)
    {
        ArgumentException.ThrowIfNullOrEmpty(characters);
        for (int i = 0; i < characters.Length; i++)
        {
            if (!_ids.TryAdd(characters[i], i))
            {
                throw new ArgumentException($"character U+{(int)characters[i]:X4} appears twice in the vocabulary", nameof(characters));
            }
        }

        Characters = characters;
    }

    /// <summary>The characters, token id = index.</summary>
    public string Characters { get; }

    public int Count => Characters.Length;

    /// <summary>The vocabulary of a text: its distinct characters, sorted ordinally.</summary>
    public static CharVocabulary Of(string text) => new(new string([.. text.Distinct().Order()]));

    public int[] Encode(string text)
    {
        int[] ids = new int[text.Length];
        for (int i = 0; i < text.Length; i++)
        {
            ids[i] = _ids.TryGetValue(text[i], out int id)
                ? id
                : throw new ArgumentException($"character U+{(int)text[i]:X4} at {i} is not in the vocabulary", nameof(text));
        }

        return ids;
    }

    public string Decode(ReadOnlySpan<int> ids)
    {
        char[] chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            chars[i] = Characters[ids[i]];
        }

        return new string(chars);
    }
}

/// <summary>
/// A text for next-character prediction, encoded with its own <see cref="CharVocabulary"/>; the last 10% (by
/// default) is the validation part, the rest the training part — contiguous, so validation text is unseen text.
/// scripts/datasets.sh builds .kumo/datasets/licenses.txt (five licence texts, ~77 kB) for this.
/// </summary>
public sealed class CharCorpus : TrainingData
{
    private CharCorpus(CharVocabulary vocabulary, int[] train, int[] validation)
    {
        Vocabulary = vocabulary;
        Train = train;
        Validation = validation;
    }

    public CharVocabulary Vocabulary { get; }

    public int[] Train { get; }

    public int[] Validation { get; }

    public static CharCorpus FromText(string text, double validationFraction = 0.1)
    {
        if (validationFraction is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(validationFraction), "must lie strictly between 0 and 1");
        }

        CharVocabulary vocabulary = CharVocabulary.Of(text);
        int[] ids = vocabulary.Encode(text);
        int split = ids.Length - (int)(ids.Length * validationFraction);
        if (split < 2 || ids.Length - split < 2 || vocabulary.Count < 2)
        {
            throw new ArgumentException($"a text of {ids.Length} characters and {vocabulary.Count} distinct ones is too small to train on", nameof(text));
        }

        return new CharCorpus(vocabulary, ids[..split], ids[split..]);
    }

    /// <summary>Reads a UTF-8 text file.</summary>
    public static CharCorpus Load(string path, double validationFraction = 0.1) => FromText(File.ReadAllText(path), validationFraction);
}
