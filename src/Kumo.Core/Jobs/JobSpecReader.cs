namespace Kumo.Jobs;

/// <summary>
/// Reads a job spec from YAML (as people write it) or JSON (as the CLI sends it to the hub): strict binding with
/// a position on every error, then <see cref="JobSpecValidator"/>'s semantic checks, mapped back to positions.
/// Never throws on bad input; every problem found is returned.
/// </summary>
public static class JobSpecReader
{
    /// <summary>Longer texts are refused unread: no job spec comes near 1 MiB.</summary>
    public const int MaxTextLength = 1 << 20;

    /// <summary>At most this many errors are returned; a spec with more is better fixed from the top.</summary>
    public const int MaxErrors = 100;

    /// <summary>Reads <paramref name="text"/>; <paramref name="sourceName"/> labels errors (usually the file name).</summary>
    public static JobSpecReadResult Read(string text, string sourceName) => ReadSpec(text, sourceName, wireForm: false);

    /// <summary>
    /// Reads a spec as the hub receives it (normally <see cref="JobSpecWriter"/>'s JSON): the same rules, and every
    /// input must be named by its CID, never by a local path.
    /// </summary>
    public static JobSpecReadResult ReadWireForm(string text, string sourceName) => ReadSpec(text, sourceName, wireForm: true);

    private static JobSpecReadResult ReadSpec(string text, string sourceName, bool wireForm)
    {
        if (text.Length > MaxTextLength)
        {
            return JobSpecReadResult.Failure(
            [
                new SpecError(sourceName, 1, 1, "",
                    $"the spec is {text.Length} characters long; specs are limited to {MaxTextLength} characters"),
            ]);
        }

        var parseErrors = new List<(SpecPosition Position, string Message)>();
        var root = YamlSpecParser.Parse(text, parseErrors);
        var errors = parseErrors
            .Select(e => new SpecError(sourceName, e.Position.Line, e.Position.Column, "", e.Message))
            .ToList();
        if (root is null && errors.Count > 0)
        {
            return JobSpecReadResult.Failure(errors);
        }

        var binder = new SpecBinder(sourceName);
        var spec = binder.Bind(root);
        errors.AddRange(binder.Errors);
        if (spec is not null)
        {
            foreach (var error in JobSpecValidator.Validate(spec, sourceName, wireForm))
            {
                // A finding about a placeholder, or about a value whose parts failed to bind, is noise.
                if (binder.FailedPaths.Any(failed => AreRelated(failed, error.Path)))
                {
                    continue;
                }
                var at = Locate(binder.Positions, error.Path);
                errors.Add(error with { Line = at.Line, Column = at.Column });
            }
        }

        if (errors.Count == 0 && spec is not null)
        {
            return JobSpecReadResult.Success(spec);
        }
        var ordered = errors.OrderBy(e => e.Line).ThenBy(e => e.Column).ToList();
        if (ordered.Count > MaxErrors)
        {
            var last = ordered[MaxErrors - 1];
            ordered = [.. ordered.Take(MaxErrors),
                new SpecError(sourceName, last.Line, last.Column, "",
                    $"too many errors; only the first {MaxErrors} are shown")];
        }
        return JobSpecReadResult.Failure(ordered);
    }

    /// <summary>Where the value at <paramref name="path"/> starts, or its nearest written ancestor.</summary>
    private static SpecPosition Locate(IReadOnlyDictionary<string, SpecPosition> positions, string path)
    {
        while (true)
        {
            if (positions.TryGetValue(path, out var at))
            {
                return at;
            }
            if (path.Length == 0)
            {
                return SpecPosition.Start;
            }
            var cut = path.LastIndexOfAny(['.', '[']);
            path = cut < 0 ? "" : path[..cut];
        }
    }

    /// <summary>Whether one path is the other or lies inside it.</summary>
    private static bool AreRelated(string a, string b) => IsWithin(a, b) || IsWithin(b, a);

    private static bool IsWithin(string inner, string outer) =>
        outer.Length == 0 ||
        inner == outer ||
        (inner.Length > outer.Length && inner.StartsWith(outer, StringComparison.Ordinal) &&
         inner[outer.Length] is '.' or '[');
}
