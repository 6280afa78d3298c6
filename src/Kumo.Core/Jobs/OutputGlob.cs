namespace Kumo.Jobs;

/// <summary>
/// Output patterns: paths relative to /job with '/' separators. '*' matches within one path segment, '?' one
/// character, and a segment of exactly '**' matches zero or more segments ("out/*.txt", "model/**", "**/*.log").
/// Matching is case-sensitive, like the file system.
/// </summary>
public static class OutputGlob
{
    public static bool IsMatch(string pattern, string relativePath)
    {
        string[] p = pattern.Split('/', StringSplitOptions.RemoveEmptyEntries);
        string[] s = relativePath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return MatchSegments(p, 0, s, 0, new bool[p.Length + 1, s.Length + 1]);
    }

    public static bool IsMatchAny(IEnumerable<string> patterns, string relativePath) =>
        patterns.Any(p => IsMatch(p, relativePath));

    /// <summary>
    /// Remembers the (pattern, path) positions already known not to match, so each is tried once: without that,
    /// trying every split for every '**' is exponential in the number of '**' segments, and tenants write patterns.
    /// </summary>
    private static bool MatchSegments(string[] pattern, int pi, string[] path, int si, bool[,] failed)
    {
        if (failed[pi, si])
        {
            return false;
        }

        bool matched = MatchFrom(pattern, pi, path, si, failed);
        failed[pi, si] = !matched;
        return matched;
    }

    private static bool MatchFrom(string[] pattern, int pi, string[] path, int si, bool[,] failed)
    {
        while (pi < pattern.Length)
        {
            if (pattern[pi] == "**")
            {
                // Try every split: '**' takes 0, 1, 2, ... segments.
                for (int take = si; take <= path.Length; take++)
                {
                    if (MatchSegments(pattern, pi + 1, path, take, failed))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (si >= path.Length || !Wildcard.IsMatch(pattern[pi], path[si]))
            {
                return false;
            }

            pi++;
            si++;
        }

        return si == path.Length;
    }
}
