using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;

namespace Kumo.Jobs;

/// <summary>
/// Exact parsing and formatting of the spec's quantities: CPU (millicores), bytes, durations, round-trip times
/// (microseconds), prices (µKUMO) and reputations (thousandths).
/// Arithmetic is done on <see cref="BigInteger"/>, so an absurd value is reported as too large, never wrapped.
/// </summary>
internal static partial class Quantity
{
    /// <summary>Longer digit strings are refused as too large before any arithmetic.</summary>
    private const int MaxDigits = 30;

    public const long MicrosPerKumo = 1_000_000;

    private static readonly long MaxTimeoutSeconds = TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerSecond;

    private static readonly long MaxMicroseconds = TimeSpan.MaxValue.Ticks / TimeSpan.TicksPerMicrosecond;

    private static readonly (string Unit, long Multiplier)[] ByteUnits =
    [
        ("Pi", 1L << 50), ("Ti", 1L << 40), ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10),
        ("P", 1_000_000_000_000_000), ("T", 1_000_000_000_000), ("G", 1_000_000_000), ("M", 1_000_000), ("K", 1_000),
    ];

    /// <summary>Cores ("2", "0.5", up to 3 decimals) or millicores ("500m").</summary>
    public static bool TryParseCpu(string text, out int millicores, out string error)
    {
        millicores = 0;
        if (text.StartsWith('-'))
        {
            error = $"CPU must not be negative, found {SpecText.Quote(text)}";
            return false;
        }
        var match = CpuPattern().Match(text);
        if (!match.Success)
        {
            error = $"invalid CPU amount {SpecText.Quote(text)}; write cores (2, 0.5) or millicores (500m)";
            return false;
        }
        var isMilli = match.Groups["milli"].Success;
        var fraction = match.Groups["fraction"];
        if (isMilli && fraction.Success)
        {
            error = $"invalid CPU amount {SpecText.Quote(text)}; millicores are whole numbers (1500m, not 1500.5m)";
            return false;
        }
        if (!TryScale(match.Groups["whole"].Value, fraction.Value, isMilli ? 1 : 1000, out var value, out var exact))
        {
            error = $"CPU amount {SpecText.Quote(text)} is far too large";
            return false;
        }
        if (!exact)
        {
            error = $"CPU amount {SpecText.Quote(text)} is finer than a millicore; use at most 3 decimals (0.001 = 1m)";
            return false;
        }
        if (value > int.MaxValue)
        {
            error = $"CPU amount {SpecText.Quote(text)} is far too large";
            return false;
        }
        millicores = (int)value;
        error = "";
        return true;
    }

    /// <summary>Bytes ("1048576"), or a number with a unit: Ki Mi Gi Ti Pi (1024-based) or K M G T P (1000-based).</summary>
    public static bool TryParseBytes(string text, string what, out long bytes, out string error)
    {
        bytes = 0;
        if (text.StartsWith('-'))
        {
            error = $"{what} must not be negative, found {SpecText.Quote(text)}";
            return false;
        }
        var match = BytesPattern().Match(text);
        if (!match.Success)
        {
            var hint = text.EndsWith('B') || text.EndsWith('b')
                ? "; units have no 'B': write 256Mi for 256 MiB or 256M for 256 MB"
                : "; write bytes (1048576) or a number with a unit: Ki, Mi, Gi, Ti, Pi (powers of 1024) " +
                  "or K, M, G, T, P (powers of 1000), e.g. 256Mi";
            error = $"invalid {what} amount {SpecText.Quote(text)}{hint}";
            return false;
        }
        var unit = match.Groups["unit"].Value;
        var multiplier = unit.Length == 0 ? 1 : ByteUnits.First(u => u.Unit == unit).Multiplier;
        if (!TryScale(match.Groups["whole"].Value, match.Groups["fraction"].Value, multiplier, out var value,
                out var exact) || value > long.MaxValue)
        {
            error = $"{what} amount {SpecText.Quote(text)} is far too large";
            return false;
        }
        if (!exact)
        {
            error = $"{what} amount {SpecText.Quote(text)} is not a whole number of bytes";
            return false;
        }
        bytes = (long)value;
        error = "";
        return true;
    }

    /// <summary>Whole seconds ("600"), or whole numbers with units in order: "1d", "2h", "1h30m", "90s".</summary>
    public static bool TryParseDuration(string text, string what, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        if (text.StartsWith('-'))
        {
            error = $"{what} must not be negative, found {SpecText.Quote(text)}";
            return false;
        }
        var match = DurationPattern().Match(text);
        if (!match.Success || text.Length == 0)
        {
            error = FloatLike().IsMatch(text)
                ? $"{what} {SpecText.Quote(text)} is not a whole number of seconds; write e.g. 90s or 1h30m"
                : $"invalid {what} {SpecText.Quote(text)}; write seconds (600) or whole numbers with units " +
                  "d, h, m, s in that order, e.g. 90s, 10m, 1h30m, 1d";
            return false;
        }
        BigInteger seconds = 0;
        foreach (var (group, unitSeconds) in new[] { ("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1), ("bare", 1) })
        {
            var digits = match.Groups[group];
            if (!digits.Success)
            {
                continue;
            }
            if (digits.Value.Length > MaxDigits)
            {
                seconds = BigInteger.Pow(10, MaxDigits);
                break;
            }
            seconds += BigInteger.Parse(digits.Value, CultureInfo.InvariantCulture) * unitSeconds;
        }
        if (seconds > MaxTimeoutSeconds)
        {
            error = $"{what} {SpecText.Quote(text)} is far too long";
            return false;
        }
        duration = TimeSpan.FromSeconds((long)seconds);
        error = "";
        return true;
    }

    /// <summary>
    /// A short time with its unit: milliseconds ("5ms", "0.5ms") or seconds ("0.01s"), exact to the microsecond.
    /// A bare number is refused: whether "5" meant seconds or milliseconds cannot be told.
    /// </summary>
    public static bool TryParseShortDuration(string text, string what, out TimeSpan duration, out string error)
    {
        duration = TimeSpan.Zero;
        const string Forms = "write milliseconds (5ms, 0.5ms) or seconds (0.01s)";
        if (text.StartsWith('-'))
        {
            error = $"{what} must not be negative, found {SpecText.Quote(text)}";
            return false;
        }
        var match = ShortDurationPattern().Match(text);
        if (!match.Success)
        {
            error = DecimalPattern().IsMatch(text)
                ? $"{what} {SpecText.Quote(text)} has no unit; {Forms}"
                : $"invalid {what} {SpecText.Quote(text)}; {Forms}";
            return false;
        }
        var multiplier = match.Groups["unit"].Value == "ms" ? 1_000 : 1_000_000;
        if (!TryScale(match.Groups["whole"].Value, match.Groups["fraction"].Value, multiplier, out var micros,
                out var exact) || micros > MaxMicroseconds)
        {
            error = $"{what} {SpecText.Quote(text)} is far too long";
            return false;
        }
        if (!exact)
        {
            error = $"{what} {SpecText.Quote(text)} is finer than a microsecond (0.001ms)";
            return false;
        }
        duration = TimeSpan.FromTicks((long)micros * TimeSpan.TicksPerMicrosecond);
        error = "";
        return true;
    }

    /// <summary>A number with at most 3 decimals ("0.8", "1"), read exactly as thousandths; the range 0 to 1 is checked later.</summary>
    public static bool TryParseReputation(string text, string what, out double reputation, out string error)
    {
        reputation = 0;
        if (text.StartsWith('-'))
        {
            error = $"{what} must not be negative, found {SpecText.Quote(text)}";
            return false;
        }
        var match = DecimalPattern().Match(text);
        if (!match.Success)
        {
            error = $"invalid {what} {SpecText.Quote(text)}; write a number from 0 to 1 with at most " +
                    $"{JobSpecLimits.ReputationDecimals} decimals, e.g. 0.8";
            return false;
        }
        if (!TryScale(match.Groups["whole"].Value, match.Groups["fraction"].Value, 1_000, out var thousandths,
                out var exact) || thousandths > int.MaxValue)
        {
            error = $"{what} {SpecText.Quote(text)} is far too large; it is a number from 0 to 1";
            return false;
        }
        if (!exact)
        {
            error = $"{what} {SpecText.Quote(text)} has more than {JobSpecLimits.ReputationDecimals} decimals";
            return false;
        }
        reputation = (int)thousandths / 1000.0;
        error = "";
        return true;
    }

    /// <summary>Whether a reputation is a whole number of thousandths, as the spec can write it.</summary>
    public static bool IsWholeThousandths(double value) => Math.Round(value * 1000) / 1000 == value;

    /// <summary>KUMO as a decimal number ("2.5", up to 6 decimals), or µKUMO with a 'u' suffix ("2500000u").</summary>
    public static bool TryParsePrice(string text, string what, out long micros, out string error) =>
        TryParsePrice(text, what, "per hour", out micros, out error);

    /// <summary>
    /// Like <see cref="TryParsePrice(string, string, out long, out string)"/>, for a price per <paramref name="per"/>
    /// ("per hour", "per benchmark-unit-hour") as messages name it.
    /// </summary>
    public static bool TryParsePrice(string text, string what, string per, out long micros, out string error)
    {
        micros = 0;
        if (text.StartsWith('-'))
        {
            error = $"{what} must be more than 0, found {SpecText.Quote(text)}";
            return false;
        }
        var match = PricePattern().Match(text);
        if (!match.Success)
        {
            error = $"invalid {what} {SpecText.Quote(text)}; write KUMO {per} (2.5) " +
                    $"or µKUMO {per} with a 'u' suffix (\"2500000u\")";
            return false;
        }
        var isMicro = match.Groups["micro"].Success;
        if (isMicro && match.Groups["fraction"].Success)
        {
            error = $"invalid {what} {SpecText.Quote(text)}; µKUMO are whole numbers";
            return false;
        }
        if (!TryScale(match.Groups["whole"].Value, match.Groups["fraction"].Value, isMicro ? 1 : MicrosPerKumo,
                out var value, out var exact) || value > long.MaxValue)
        {
            error = $"{what} {SpecText.Quote(text)} is far too large";
            return false;
        }
        if (!exact)
        {
            error = $"{what} {SpecText.Quote(text)} is finer than 1 µKUMO; use at most 6 decimals";
            return false;
        }
        micros = (long)value;
        error = "";
        return true;
    }

    /// <summary>"1500m": the form the writer uses for CPU.</summary>
    public static string FormatCpu(int millicores) => millicores.ToString(CultureInfo.InvariantCulture) + "m";

    /// <summary>Cores for people: "2", "0.5".</summary>
    public static string FormatCores(long millicores) =>
        (millicores / 1000m).ToString("0.###", CultureInfo.InvariantCulture);

    /// <summary>The largest 1024-based unit that divides the amount exactly ("256Mi"), or plain bytes.</summary>
    public static string FormatBytes(long bytes)
    {
        foreach (var (unit, multiplier) in ByteUnits.Take(5))
        {
            if (bytes != 0 && bytes % multiplier == 0)
            {
                return (bytes / multiplier).ToString(CultureInfo.InvariantCulture) + unit;
            }
        }
        return bytes.ToString(CultureInfo.InvariantCulture) + " bytes";
    }

    /// <summary>"1d2h30m5s", "0s".</summary>
    public static string FormatDuration(TimeSpan duration)
    {
        var seconds = duration.Ticks / TimeSpan.TicksPerSecond;
        if (seconds <= 0)
        {
            return duration.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        }
        var text = "";
        foreach (var (unit, size) in new[] { ("d", 86_400L), ("h", 3_600L), ("m", 60L), ("s", 1L) })
        {
            if (seconds >= size)
            {
                text += (seconds / size).ToString(CultureInfo.InvariantCulture) + unit;
                seconds %= size;
            }
        }
        return text;
    }

    /// <summary>"5ms", "0.5ms", "10000ms": the form the writer uses for round-trip times (whole microseconds).</summary>
    public static string FormatMilliseconds(TimeSpan duration) =>
        (duration.Ticks / TimeSpan.TicksPerMicrosecond / 1000m).ToString("0.###", CultureInfo.InvariantCulture) + "ms";

    /// <summary>Whole seconds as <see cref="FormatDuration"/> writes them, anything finer in milliseconds.</summary>
    public static string FormatShortDuration(TimeSpan duration) =>
        duration.Ticks > 0 && duration.Ticks % TimeSpan.TicksPerSecond == 0
            ? FormatDuration(duration)
            : (duration.Ticks / (decimal)TimeSpan.TicksPerMillisecond).ToString("0.####", CultureInfo.InvariantCulture) + "ms";

    /// <summary>A reputation for people: "0.8", "1".</summary>
    public static string FormatReputation(double reputation) =>
        reputation.ToString("0.######", CultureInfo.InvariantCulture);

    /// <summary>µKUMO as KUMO for people: "2.5 KUMO".</summary>
    public static string FormatKumo(long micros) =>
        (micros / (decimal)MicrosPerKumo).ToString("0.######", CultureInfo.InvariantCulture) + " KUMO";

    /// <summary>whole.fraction × multiplier, exactly; false when the digits are too many to be plausible.</summary>
    private static bool TryScale(string whole, string fraction, long multiplier, out BigInteger value, out bool exact)
    {
        value = BigInteger.Zero;
        exact = false;
        var trimmedWhole = whole.TrimStart('0');
        var trimmedFraction = fraction.TrimEnd('0');
        if (trimmedWhole.Length > MaxDigits || trimmedFraction.Length > MaxDigits)
        {
            return false;
        }
        var digits = BigInteger.Parse("0" + trimmedWhole + trimmedFraction, CultureInfo.InvariantCulture);
        var scaled = digits * multiplier;
        var divisor = BigInteger.Pow(10, trimmedFraction.Length);
        value = BigInteger.DivRem(scaled, divisor, out var remainder);
        exact = remainder.IsZero;
        return true;
    }

    [GeneratedRegex(@"^(?<whole>[0-9]+)(?:\.(?<fraction>[0-9]+))?(?<milli>m)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex CpuPattern();

    [GeneratedRegex(@"^(?<whole>[0-9]+)(?:\.(?<fraction>[0-9]+))?(?<unit>[KMGTP]i?)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex BytesPattern();

    [GeneratedRegex(
        @"^(?:(?<bare>[0-9]+)|(?:(?<d>[0-9]+)d)?(?:(?<h>[0-9]+)h)?(?:(?<m>[0-9]+)m)?(?:(?<s>[0-9]+)s)?)\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"^[0-9]*\.[0-9]+[dhms]?\z", RegexOptions.CultureInvariant)]
    private static partial Regex FloatLike();

    [GeneratedRegex(@"^(?<whole>[0-9]+)(?:\.(?<fraction>[0-9]+))?(?<micro>u)?\z", RegexOptions.CultureInvariant)]
    private static partial Regex PricePattern();

    [GeneratedRegex(@"^(?<whole>[0-9]+)(?:\.(?<fraction>[0-9]+))?(?<unit>ms|s)\z", RegexOptions.CultureInvariant)]
    private static partial Regex ShortDurationPattern();

    [GeneratedRegex(@"^(?<whole>[0-9]+)(?:\.(?<fraction>[0-9]+))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalPattern();
}
