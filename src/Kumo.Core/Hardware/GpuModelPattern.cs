namespace Kumo.Hardware;

/// <summary>
/// Matches a tenant's GPU model pattern against a device's model name, case-insensitively.
/// With '*' the pattern is a glob over the whole name, tried with and without the vendor word
/// ("H100*" matches "NVIDIA H100 80GB HBM3"). Without '*' its words must appear in order, as whole words, in
/// the name, where words are split on spaces, '-' and '_' ("A100" matches "NVIDIA A100-SXM4-40GB", "RTX 4090"
/// matches "NVIDIA GeForce RTX 4090", but "A10" does not match "A100").
/// </summary>
public static class GpuModelPattern
{
    private static readonly char[] Separators = [' ', '-', '_'];
    private static readonly string[] VendorWords = ["NVIDIA", "AMD", "INTEL"];

    public static bool Matches(string pattern, string model)
    {
        string p = pattern.Trim().ToUpperInvariant();
        string m = model.Trim().ToUpperInvariant();
        if (p.Length == 0)
        {
            return false;
        }

        if (p.Contains('*', StringComparison.Ordinal))
        {
            return Wildcard.IsMatch(p, m) || Wildcard.IsMatch(p, WithoutVendor(m));
        }

        string[] want = p.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        if (want.Length == 0)
        {
            // Only separators ("-", "_ "): no words to look for, which must not mean "any model".
            return false;
        }

        string[] have = m.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        for (int start = 0; start + want.Length <= have.Length; start++)
        {
            if (want.AsSpan().SequenceEqual(have.AsSpan(start, want.Length)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when any pattern matches, or there are no patterns.</summary>
    public static bool MatchesAny(IReadOnlyList<string> patterns, string model) =>
        patterns.Count == 0 || patterns.Any(p => Matches(p, model));

    private static string WithoutVendor(string model)
    {
        foreach (string vendor in VendorWords)
        {
            if (model.StartsWith(vendor + " ", StringComparison.Ordinal))
            {
                return model[(vendor.Length + 1)..];
            }
        }

        return model;
    }
}
