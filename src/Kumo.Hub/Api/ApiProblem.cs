namespace Kumo.Hub.Api;

/// <summary>
/// A refusal the client can act on, turned into RFC 7807 problem+json by <see cref="ProblemMiddleware"/>:
/// an HTTP status, a stable machine code, a sentence for people, and the request field at fault when there is one.
/// </summary>
public sealed class ApiProblem(int status, string code, string detail, string? field = null, object? extensions = null)
    : Exception(detail)
{
    public int Status { get; } = status;

    public string Code { get; } = code;

    public string? Field { get; } = field;

    public object? Extensions { get; } = extensions;

    public static ApiProblem BadRequest(string code, string detail, string? field = null, object? extensions = null) => new(400, code, detail, field, extensions);

    public static ApiProblem Unauthorized(string code, string detail) => new(401, code, detail);

    public static ApiProblem Forbidden(string code, string detail) => new(403, code, detail);

    public static ApiProblem NotFound(string code, string detail) => new(404, code, detail);

    public static ApiProblem Conflict(string code, string detail, object? extensions = null) => new(409, code, detail, extensions: extensions);

    public static ApiProblem Unprocessable(string code, string detail, string? field = null, object? extensions = null) => new(422, code, detail, field, extensions);

    public static ApiProblem TooLarge(string code, string detail) => new(413, code, detail);
}
