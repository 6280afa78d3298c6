using System.Globalization;
using System.Text;

namespace Kumo.Verification.Inference;

/// <summary>
/// The wrong answer of an <c>infer</c> canary: a copy of an output the network already checked, with the first sampled
/// output changed — a row that claims the next class, or a generated character swapped for another of the text's own
/// characters (so it stays in the model's vocabulary). A validator that recomputes the sample finds that one and
/// rejects; one that approves without computing is slashed on its signed report.
/// </summary>
public static class InferenceCanary
{
    /// <summary>
    /// <paramref name="output"/> (out/predictions.csv for <c>rows</c>, out/generated.txt for <c>tokens</c>, whose first
    /// <paramref name="promptChars"/> characters are the prompt) with output <paramref name="indices"/>[0] changed, and
    /// the index it changed.
    /// </summary>
    /// <exception cref="InvalidDataException">The output has no such row or token, or no other character to swap in.</exception>
    public static (byte[] Output, int Changed) WrongOutput(ReadOnlySpan<byte> output, string unit, IReadOnlyList<int> indices, int promptChars = 0)
    {
        ArgumentNullException.ThrowIfNull(indices);
        if (indices.Count == 0)
        {
            throw new InvalidDataException("no sampled output to change");
        }

        int index = indices[0];
        string text = Encoding.UTF8.GetString(output);
        return unit switch
        {
            "rows" => (Encoding.UTF8.GetBytes(WrongRow(text, index)), index),
            "tokens" => (Encoding.UTF8.GetBytes(WrongToken(text, promptChars + index)), index),
            _ => throw new InvalidDataException($"unknown inference unit '{unit}' (rows or tokens)"),
        };
    }

    private static string WrongRow(string csv, int index)
    {
        // Line 0 is the header; row i is line i + 1, "row,class,…".
        string[] lines = csv.Split('\n');
        if (index < 0 || index + 1 >= lines.Length || lines[index + 1].Split(',') is not { Length: >= 2 } fields
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int predicted))
        {
            throw new InvalidDataException($"predictions.csv has no row {index} with a class to change");
        }

        fields[1] = (predicted + 1).ToString(CultureInfo.InvariantCulture);
        lines[index + 1] = string.Join(',', fields);
        return string.Join('\n', lines);
    }

    private static string WrongToken(string text, int at)
    {
        if (at < 0 || at >= text.Length)
        {
            throw new InvalidDataException($"generated.txt has no character {at}");
        }

        char original = text[at];
        char other = text.FirstOrDefault(c => c != original && !char.IsSurrogate(c));
        if (other == default)
        {
            throw new InvalidDataException("generated.txt has no second character to swap in");
        }

        return string.Concat(text.AsSpan(0, at), other.ToString(), text.AsSpan(at + 1));
    }
}
