using System.Net;

namespace Kumo.Client;

/// <summary>The hub refused a request: its status, stable code, sentence and the field at fault.</summary>
public sealed class HubApiException : Exception
{
    public HubApiException(HttpStatusCode status, string code, string detail, string? field, string? body)
        : base(detail)
    {
        Status = status;
        Code = code;
        Field = field;
        Body = body;
    }

    public HubApiException() { }

    public HubApiException(string message) : base(message) { }

    public HubApiException(string message, Exception inner) : base(message, inner) { }

    public HttpStatusCode Status { get; }

    public string Code { get; } = "";

    public string? Field { get; }

    /// <summary>The whole problem document, for callers that want its extensions.</summary>
    public string? Body { get; }
}

/// <summary>The hub could not be reached at all.</summary>
public sealed class HubUnreachableException : Exception
{
    public HubUnreachableException(string message, Exception inner) : base(message, inner) { }

    public HubUnreachableException() { }

    public HubUnreachableException(string message) : base(message) { }
}
