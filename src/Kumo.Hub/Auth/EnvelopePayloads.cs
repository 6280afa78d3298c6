using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Signing;

namespace Kumo.Hub.Auth;

internal static class EnvelopePayloads
{
    /// <summary>The payload as <typeparamref name="T"/>, or a 400 problem naming the member at fault.</summary>
    public static T ReadPayload<T>(this SignedEnvelope envelope)
    {
        try
        {
            return envelope.PayloadAs<T>();
        }
        catch (JsonException e)
        {
            throw ApiProblem.BadRequest("malformed_payload", $"payload of {envelope.Type} is not valid: {e.Message}", e.Path is null ? "payload" : "payload" + e.Path.TrimStart('$'));
        }
    }
}
