namespace Kumo;

/// <summary>
/// Wildcard matching of one string: '*' matches any run of characters (including none), '?' any one
/// character, everything else itself. Linear in practice: it backtracks only to the last '*'.
/// Shared by GPU model patterns and output globs (which apply it per path segment).
/// </summary>
internal static class Wildcard
{
    public static bool IsMatch(string pattern, string text)
    {
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == text[t]))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
