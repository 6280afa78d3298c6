using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Kumo.Jobs;

/// <summary>
/// Turns spec text (YAML, or JSON, which is YAML's flow style) into a <see cref="SpecNode"/> tree with positions.
/// Built on YamlDotNet's event parser rather than its representation model, so that duplicate keys, aliases and
/// a second document become errors with positions instead of exceptions.
/// </summary>
internal static partial class YamlSpecParser
{
    /// <summary>Deeper nesting than this is never a job spec; the limit keeps the recursion bounded.</summary>
    public const int MaxDepth = 32;

    private const string StrTag = "tag:yaml.org,2002:str";

    /// <summary>The root node, or null when the text is not one well-formed YAML document (see errors).</summary>
    public static SpecNode? Parse(string text, List<(SpecPosition Position, string Message)> errors)
    {
        var reader = new EventReader(text, errors);
        try
        {
            return reader.ReadStream();
        }
        catch (ParseFailure failure)
        {
            errors.Add((failure.Position, failure.Message));
            return null;
        }
    }

    /// <summary>The YAML 1.2 core schema's reading of a plain (unquoted) scalar.</summary>
    public static ScalarKind Classify(string plain)
    {
        if (plain is "" or "~" or "null" or "Null" or "NULL")
        {
            return ScalarKind.Null;
        }
        if (plain is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return ScalarKind.Boolean;
        }
        if (IntegerPattern().IsMatch(plain))
        {
            return ScalarKind.Integer;
        }
        return FloatPattern().IsMatch(plain) ? ScalarKind.Float : ScalarKind.String;
    }

    [GeneratedRegex(@"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)\z", RegexOptions.CultureInvariant)]
    private static partial Regex IntegerPattern();

    [GeneratedRegex(
        @"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\z",
        RegexOptions.CultureInvariant)]
    private static partial Regex FloatPattern();

    private static SpecPosition At(Mark mark) => new((int)Math.Max(1, mark.Line), (int)Math.Max(1, mark.Column));

    /// <summary>Stops the parse: the text is not well-formed, so nothing after this point can be trusted.</summary>
    private sealed class ParseFailure(SpecPosition position, string message) : Exception(message)
    {
        public SpecPosition Position { get; } = position;
    }

    private sealed class EventReader(string text, List<(SpecPosition Position, string Message)> errors)
    {
        private readonly Parser _parser = new(new StringReader(text.StartsWith('\uFEFF') ? text[1..] : text));
        private readonly Dictionary<string, SpecNode> _anchors = new(StringComparer.Ordinal);
        private SpecPosition _last = SpecPosition.Start;

        public SpecNode? ReadStream()
        {
            Expect<StreamStart>(Next());
            var first = Next();
            if (first is StreamEnd)
            {
                return null;
            }
            Expect<DocumentStart>(first);
            var root = ReadNode(Next(), depth: 0);
            Expect<DocumentEnd>(Next());
            var after = Next();
            if (after is DocumentStart second)
            {
                throw new ParseFailure(
                    At(second.Start),
                    "a job spec is one YAML document, but a second one starts here; remove the '---' line " +
                    "(and whatever follows it) or split the specs into separate files");
            }
            Expect<StreamEnd>(after);
            return root;
        }

        private ParsingEvent Next()
        {
            try
            {
                if (!_parser.MoveNext() || _parser.Current is null)
                {
                    throw new ParseFailure(_last, "the text ends unexpectedly");
                }
            }
            catch (YamlException e)
            {
                throw new ParseFailure(PlaceError(e), YamlErrorText.Explain(e.Message));
            }
            catch (Exception e) when (e is not ParseFailure)
            {
                // YamlDotNet 16 throws InvalidOperationException on some unclosed flow collections that run on
                // into block text; report it at the last good position, never crash.
                throw new ParseFailure(_last,
                    "invalid YAML: the text cannot be read from here on; check that every '[' and '{' is closed " +
                    "on its line or the lines after it");
            }
            _last = At(_parser.Current.Start);
            return _parser.Current;
        }

        /// <summary>
        /// Where the user should look. YamlDotNet marks the start of the token it was reading; for a stray tab or a
        /// bad escape the culprit is further on.
        /// </summary>
        private SpecPosition PlaceError(YamlException e)
        {
            if (e.Message.Contains("tab", StringComparison.OrdinalIgnoreCase) &&
                FindIndentingTab((int)e.Start.Line) is { } tab)
            {
                return tab;
            }
            return e.Message.Contains("escape", StringComparison.OrdinalIgnoreCase) ? At(e.End) : At(e.Start);
        }

        /// <summary>The first tab in the leading whitespace of a line, from <paramref name="fromLine"/> on.</summary>
        private SpecPosition? FindIndentingTab(int fromLine)
        {
            var lines = text.Split('\n');
            for (var i = Math.Max(0, fromLine - 1); i < lines.Length; i++)
            {
                var line = lines[i];
                for (var column = 0; column < line.Length && line[column] is ' ' or '\t'; column++)
                {
                    if (line[column] == '\t')
                    {
                        return new SpecPosition(i + 1, column + 1);
                    }
                }
            }
            return null;
        }

        private void Expect<T>(ParsingEvent e)
            where T : ParsingEvent
        {
            if (e is not T)
            {
                throw Unexpected(e);
            }
        }

        private static ParseFailure Unexpected(ParsingEvent e) => new(At(e.Start), e switch
        {
            MappingEnd => "invalid YAML: a mapping ends here where a value was expected; check the indentation",
            SequenceEnd => "invalid YAML: a list ends here where a value was expected; check the indentation",
            _ => "invalid YAML: unexpected structure here; check the indentation",
        });

        private SpecNode ReadNode(ParsingEvent e, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new ParseFailure(At(e.Start), $"nesting is deeper than {MaxDepth} levels; no job spec needs that");
            }
            switch (e)
            {
                case Scalar scalar:
                    return Remember(scalar.Anchor, ReadScalar(scalar));
                case SequenceStart start:
                {
                    var items = new List<SpecNode>();
                    for (var next = Next(); next is not SequenceEnd; next = Next())
                    {
                        items.Add(ReadNode(next, depth + 1));
                    }
                    SpecNode node = new SequenceNode(At(start.Start), items);
                    return Remember(start.Anchor, CheckCollectionTag(start.Tag, node));
                }
                case MappingStart start:
                {
                    var entries = new List<MappingEntry>();
                    for (var next = Next(); next is not MappingEnd; next = Next())
                    {
                        var key = ReadNode(next, depth + 1);
                        var value = ReadNode(Next(), depth + 1);
                        entries.Add(new MappingEntry(key, value));
                    }
                    SpecNode node = new MappingNode(At(start.Start), entries);
                    return Remember(start.Anchor, CheckCollectionTag(start.Tag, node));
                }
                case AnchorAlias alias:
                {
                    var name = alias.Value.Value;
                    if (_anchors.TryGetValue(name, out var target))
                    {
                        return target;
                    }
                    errors.Add((At(alias.Start),
                        $"'*{SpecText.Shorten(name)}' is a YAML alias, but no anchor '&{SpecText.Shorten(name)}' " +
                        "is defined before it; put the value in quotes if it is text that starts with '*'"));
                    return new InvalidNode(At(alias.Start));
                }
                default:
                    throw Unexpected(e);
            }
        }

        private SpecNode ReadScalar(Scalar scalar)
        {
            var position = At(scalar.Start);
            var tag = scalar.Tag;
            if (!tag.IsEmpty && !(tag.IsNonSpecific && tag.Value == "?"))
            {
                // "!" (non-specific) and "!!str" both mean "this is text"; other tags have no place in a spec.
                if (tag.Value is "!" or StrTag)
                {
                    return new ScalarNode(position, scalar.Value, ScalarKind.String);
                }
                errors.Add((position, UnsupportedTag(tag.Value)));
                return new InvalidNode(position);
            }
            var kind = scalar.Style == ScalarStyle.Plain ? Classify(scalar.Value) : ScalarKind.String;
            return new ScalarNode(position, scalar.Value, kind);
        }

        private SpecNode CheckCollectionTag(TagName tag, SpecNode node)
        {
            if (tag.IsEmpty || tag.IsNonSpecific)
            {
                return node;
            }
            errors.Add((node.Start, UnsupportedTag(tag.Value)));
            return new InvalidNode(node.Start);
        }

        private static string UnsupportedTag(string tag) =>
            $"the YAML tag '{SpecText.Shorten(tag.Replace("tag:yaml.org,2002:", "!!", StringComparison.Ordinal))}' " +
            "is not supported in job specs; remove it (quote a value to make it text)";

        private SpecNode Remember(AnchorName anchor, SpecNode node)
        {
            if (!anchor.IsEmpty)
            {
                _anchors[anchor.Value] = node;
            }
            return node;
        }
    }
}
