namespace Kumo.Jobs;

/// <summary>Small text helpers shared by the reader's messages.</summary>
internal static class SpecText
{
    private const int MaxShown = 40;

    /// <summary>Cuts long user text so that one bad value cannot flood a message.</summary>
    public static string Shorten(string text) =>
        text.Length <= MaxShown ? text : string.Concat(text.AsSpan(0, MaxShown), "...");

    /// <summary>User text in single quotes, shortened, with control characters made visible.</summary>
    public static string Quote(string text)
    {
        var shown = Shorten(text);
        if (shown.Any(char.IsControl))
        {
            shown = string.Concat(shown.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
        }
        return $"'{shown}'";
    }

    /// <summary>
    /// Optimal-string-alignment distance, ignoring case: the number of single-character edits (insert, delete,
    /// replace, swap two neighbours) from one word to the other.
    /// </summary>
    public static int EditDistance(string a, string b)
    {
        a = a.ToLowerInvariant();
        b = b.ToLowerInvariant();
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }
        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }

    /// <summary>The candidate closest to <paramref name="word"/>, when it is close enough to be a likely typo.</summary>
    public static string? Suggest(string word, IEnumerable<string> candidates)
    {
        if (word.Length > 64)
        {
            return null;
        }
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var distance = EditDistance(word, candidate);
            if (distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        var allowed = Math.Max(1, Math.Min(3, word.Length / 3));
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>"a", "a or b", "a, b or c".</summary>
    public static string OneOf(IReadOnlyList<string> words) => words.Count switch
    {
        0 => "",
        1 => words[0],
        _ => string.Join(", ", words.Take(words.Count - 1)) + " or " + words[^1],
    };
}
