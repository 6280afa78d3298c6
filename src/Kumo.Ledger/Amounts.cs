using System.Globalization;

namespace Kumo.Ledger;

/// <summary>Money is integers: 1 KUMO = 1,000,000 µKUMO, held in <see cref="long"/>.</summary>
public static class Amounts
{
    public const long MicrosPerKumo = 1_000_000;

    /// <summary>
    /// The largest amount a transaction may name: 2^53 − 1 µKUMO (about 9 billion KUMO), the largest integer every
    /// JSON reader — and so every signature over canonical JSON — carries exactly.
    /// </summary>
    public const long MaxAmount = 9_007_199_254_740_991;

    public static long FromKumo(decimal kumo) =>
        checked((long)decimal.Round(kumo * MicrosPerKumo, 0, MidpointRounding.ToZero));

    /// <summary>"12.5 KUMO" style, exact (no floating point).</summary>
    public static string Format(long micros)
    {
        decimal kumo = micros / (decimal)MicrosPerKumo;
        return kumo.ToString("0.######", CultureInfo.InvariantCulture) + " KUMO";
    }

    /// <summary>Parses "12.5" (KUMO) or "12500000u" (µKUMO); refuses more than 6 decimals, zero, negatives and overflow.</summary>
    public static bool TryParse(string text, out long micros, out string error)
    {
        micros = 0;
        string t = text.Trim();
        if (t.EndsWith('u'))
        {
            if (!long.TryParse(t[..^1], NumberStyles.None, CultureInfo.InvariantCulture, out micros))
            {
                error = $"'{text}' is not a whole number of µKUMO";
                return false;
            }
        }
        else
        {
            if (!decimal.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal kumo))
            {
                error = $"'{text}' is not an amount: write KUMO like 12.5, or µKUMO like 12500000u";
                return false;
            }

            if (decimal.Round(kumo, 6) != kumo)
            {
                error = $"'{text}' has more than 6 decimals (1 µKUMO = 0.000001 KUMO)";
                return false;
            }

            if (kumo > MaxAmount / (decimal)MicrosPerKumo)
            {
                error = $"'{text}' is above the largest amount, {Format(MaxAmount)}";
                return false;
            }

            micros = (long)(kumo * MicrosPerKumo);
        }

        if (micros <= 0)
        {
            error = "an amount must be positive";
            return false;
        }

        if (micros > MaxAmount)
        {
            error = $"'{text}' is above the largest amount, {Format(MaxAmount)}";
            return false;
        }

        error = "";
        return true;
    }
}
