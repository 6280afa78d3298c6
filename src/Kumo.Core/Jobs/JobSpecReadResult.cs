using System.Diagnostics.CodeAnalysis;

namespace Kumo.Jobs;

/// <summary>
/// The outcome of <see cref="JobSpecReader.Read(string, string)"/>: a valid spec, or every problem found in the text.
/// </summary>
public sealed class JobSpecReadResult
{
    private JobSpecReadResult(JobSpec? spec, IReadOnlyList<SpecError> errors)
    {
        Spec = spec;
        Errors = errors;
    }

    /// <summary>The spec, when the text was valid; null otherwise.</summary>
    public JobSpec? Spec { get; }

    /// <summary>Empty when <see cref="Spec"/> is set; otherwise at least one error, ordered by position.</summary>
    public IReadOnlyList<SpecError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Spec))]
    public bool Succeeded => Spec is not null;

    internal static JobSpecReadResult Success(JobSpec spec) => new(spec, []);

    internal static JobSpecReadResult Failure(IReadOnlyList<SpecError> errors) =>
        errors.Count > 0
            ? new(null, errors)
            : throw new ArgumentException("A failed read must carry at least one error.", nameof(errors));

    /// <summary>The errors, one per line, in the <c>file:line:col: path: message</c> form.</summary>
    public override string ToString() =>
        Succeeded ? $"valid spec '{Spec.Name}'" : string.Join(Environment.NewLine, Errors);
}
