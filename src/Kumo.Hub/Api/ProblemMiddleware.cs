using System.Text.Json;
using Kumo.Serialization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Api;

/// <summary>Turns <see cref="ApiProblem"/> (and malformed JSON, and anything unexpected) into problem+json responses.</summary>
internal sealed class ProblemMiddleware(RequestDelegate next, ILogger<ProblemMiddleware> logger)
{
    public async Task InvokeAsync(HttpContext context)
    {
        try
        {
            await next(context);
        }
        catch (ApiProblem problem)
        {
            await WriteAsync(context, problem.Status, problem.Code, problem.Message, problem.Field, problem.Extensions);
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(context, e.StatusCode, "bad_request", e.Message, null, null);
        }
        catch (JsonException e)
        {
            await WriteAsync(context, 400, "malformed_json", $"request body is not valid JSON for this endpoint: {e.Message}", e.Path, null);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception e)
        {
            logger.LogError(e, "unhandled error on {Method} {Path}", context.Request.Method, context.Request.Path);
            await WriteAsync(context, 500, "internal_error", "the hub hit an unexpected error; it is logged on the hub", null, null);
        }
    }

    internal static async Task WriteAsync(HttpContext context, int status, string code, string detail, string? field, object? extensions)
    {
        if (context.Response.HasStarted)
        {
            return;
        }

        context.Response.Clear();
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/problem+json";
        var body = new Dictionary<string, object?>
        {
            ["type"] = $"https://kumo.dev/problems/{code.Replace('_', '-')}",
            ["title"] = ReasonPhrase(status),
            ["status"] = status,
            ["detail"] = detail,
            ["code"] = code,
            ["instance"] = context.Request.Path.Value,
        };
        if (field is not null)
        {
            body["field"] = field;
        }

        if (extensions is not null)
        {
            body["extensions"] = extensions;
        }

        await JsonSerializer.SerializeAsync(context.Response.Body, body, KumoJson.Options);
    }

    private static string ReasonPhrase(int status) => status switch
    {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Content",
        _ => "Error",
    };
}
