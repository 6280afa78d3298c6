using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace Kumo.Cli.Commands;

/// <summary>Options that take durations like "500ms", "15s", "2m".</summary>
internal static class Durations
{
    public static Option<TimeSpan> Option(string name, string description, TimeSpan defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        CustomParser = Parse,
    };

    private static TimeSpan Parse(ArgumentResult result)
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[0].Value.Trim() : "";
        (string number, double scale) = text switch
        {
            _ when text.EndsWith("ms", StringComparison.Ordinal) => (text[..^2], 0.001),
            _ when text.EndsWith('s') => (text[..^1], 1),
            _ when text.EndsWith('m') => (text[..^1], 60),
            _ when text.EndsWith('h') => (text[..^1], 3600),
            _ => (text, 1),
        };
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || value <= 0 || value > 1e7)
        {
            result.AddError($"'{text}' is not a duration like 500ms, 15s, 2m or 1h");
            return TimeSpan.Zero;
        }

        return TimeSpan.FromSeconds(value * scale);
    }
}
