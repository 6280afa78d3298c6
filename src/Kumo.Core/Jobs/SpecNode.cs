namespace Kumo.Jobs;

/// <summary>1-based line and column of a node in the spec text.</summary>
internal readonly record struct SpecPosition(int Line, int Column)
{
    public static readonly SpecPosition Start = new(1, 1);
}

/// <summary>What a YAML scalar is, by the YAML 1.2 core schema (plain scalars) or its quoting (everything else).</summary>
internal enum ScalarKind
{
    String,
    Null,
    Boolean,
    Integer,
    Float,
}

/// <summary>
/// A node of the parsed spec text: a tiny YAML tree that keeps every position and every mapping entry
/// (duplicates included), so that the binder can report problems where they are.
/// </summary>
internal abstract class SpecNode(SpecPosition start)
{
    public SpecPosition Start { get; } = start;

    /// <summary>How the node is named in "expected X, found Y" messages.</summary>
    public abstract string Describe();
}

internal sealed class ScalarNode(SpecPosition start, string value, ScalarKind kind) : SpecNode(start)
{
    public string Value { get; } = value;

    public ScalarKind Kind { get; } = kind;

    public override string Describe() => Kind switch
    {
        ScalarKind.Null => "nothing (null)",
        ScalarKind.Boolean => $"the boolean {Value}",
        ScalarKind.Integer or ScalarKind.Float => $"the number {SpecText.Shorten(Value)}",
        _ => $"the string {SpecText.Quote(Value)}",
    };
}

internal sealed class SequenceNode(SpecPosition start, IReadOnlyList<SpecNode> items) : SpecNode(start)
{
    public IReadOnlyList<SpecNode> Items { get; } = items;

    public override string Describe() => "a list";
}

internal readonly record struct MappingEntry(SpecNode Key, SpecNode Value);

internal sealed class MappingNode(SpecPosition start, IReadOnlyList<MappingEntry> entries) : SpecNode(start)
{
    public IReadOnlyList<MappingEntry> Entries { get; } = entries;

    public override string Describe() => "a mapping";
}

/// <summary>A node that could not be built (an unsupported tag, an unknown alias); its error is already reported.</summary>
internal sealed class InvalidNode(SpecPosition start) : SpecNode(start)
{
    public override string Describe() => "an invalid value";
}
