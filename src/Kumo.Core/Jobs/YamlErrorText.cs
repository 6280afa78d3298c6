namespace Kumo.Jobs;

/// <summary>Rewrites YamlDotNet's parser messages ("While parsing a block mapping, ...") in plain words.</summary>
internal static class YamlErrorText
{
    private static readonly (string Fragment, string Plain)[] Known =
    [
        ("tab", "tabs cannot indent YAML; use spaces"),
        ("found invalid mapping",
            "a 'key: value' cannot start here; check the indentation, or quote the value if it contains ': '"),
        ("block mapping, did not find expected key",
            "expected another 'key: value' line here; check the indentation"),
        ("block collection, did not find expected '-'",
            "expected another '- item' line here; check the indentation"),
        ("flow sequence, did not find expected ',' or ']'", "a list in [ ] is not closed; expected ',' or ']'"),
        ("flow mapping, did not find expected ',' or '}'", "a mapping in { } is not closed; expected ',' or '}'"),
        ("quoted scalar, found unexpected end of stream", "a quoted string is not closed"),
        ("quoted scalar, found unexpected document indicator", "a quoted string is not closed"),
        ("unknown escape character",
            "unknown escape in a double-quoted string; write '\\\\' for a backslash, or use single quotes"),
        ("invalid Unicode surrogates", "a \\u escape in a double-quoted string is not valid Unicode"),
        ("did not find expected node content", "expected a value here"),
        ("cannot start any token",
            "a value cannot start with this character; put the value in quotes"),
        ("did not find expected <document start>",
            "unexpected text after the document; check the indentation and the quotes"),
        ("did not find expected comment or line break", "unexpected text after a value; put the value in quotes"),
        ("did not find expected <document end>",
            "unexpected text here; the fields of a mapping must line up, so check the indentation"),
        ("mapping values are not allowed in this context",
            "a ': ' cannot appear here; check the indentation, or quote the value"),
        ("mapping keys are not allowed in this context", "a '?' cannot appear here; quote the value"),
        ("block sequence entries are not allowed in this context",
            "a '- item' cannot start here; check the indentation"),
        ("simple key, could not find expected ':'", "expected ':' after the field name"),
        ("multi-line double-quoted scalar, found wrong indentation",
            "a quoted string that goes on to the next line must be indented there too"),
        ("anchor or alias", "a value starting with '&' or '*' is a YAML anchor or alias; put the value in quotes"),
        ("scanning a directive", "a line starting with '%' is a YAML directive; put the value in quotes"),
        ("scanning a tag", "a value starting with '!' is a YAML tag; put the value in quotes"),
        ("expected hexadecimal number", "a \\x, \\u or \\U escape needs hexadecimal digits"),
        ("block scalar", "the header of a '|' or '>' block is malformed; write just '|' or '>'"),
    ];

    public static string Explain(string message)
    {
        message = string.Join(' ', message.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        foreach (var (fragment, plain) in Known)
        {
            if (message.Contains(fragment, StringComparison.OrdinalIgnoreCase))
            {
                return $"invalid YAML: {plain}";
            }
        }
        var trimmed = message.Trim().TrimEnd('.');
        if (trimmed.Length > 0)
        {
            trimmed = char.ToLowerInvariant(trimmed[0]) + trimmed[1..];
        }
        return $"invalid YAML: {trimmed}";
    }
}
