namespace Kumo.Jobs;

/// <summary>
/// One problem found in a job spec, placed the way compilers place theirs so that editors can jump to it.
/// </summary>
/// <param name="SourceName">The file name (or other label) the text came from.</param>
/// <param name="Line">1-based line; 0 when the error does not come from text (a spec built in code).</param>
/// <param name="Column">1-based column; 0 when <paramref name="Line"/> is 0.</param>
/// <param name="Path">
/// The field the error is about, as written in the spec: <c>resources.gpu.count</c>, <c>workload.inputs[0].cid</c>.
/// Empty for errors about the text as a whole (malformed YAML, an empty file).
/// </param>
/// <param name="Message">What is wrong, in plain words, and where possible how to fix it.</param>
public sealed record SpecError(string SourceName, int Line, int Column, string Path, string Message)
{
    /// <summary>Formats as <c>file:line:col: path: message</c>; parts that are not known are left out.</summary>
    public override string ToString()
    {
        var location = Line > 0 ? $"{SourceName}:{Line}:{Column}: " : SourceName.Length > 0 ? $"{SourceName}: " : "";
        var path = Path.Length > 0 ? $"{Path}: " : "";
        return location + path + Message;
    }
}
