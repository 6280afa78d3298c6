using System.Collections.Concurrent;
using System.Security.Cryptography;
using Kumo.Hub.Api;
using Kumo.Hub.Control;
using Kumo.Protocol;

namespace Kumo.Hub.Verification;

/// <summary>
/// Asks the provider of a finished train job for the state it kept after a rooted step (<see cref="StateRevealRequest"/>
/// on its channel), for a spot check of the one commit interval that starts there, and waits up to
/// <see cref="HubOptions.StateRevealTimeout"/> for the CID of the uploaded state. No answer, an error, or a provider
/// that is not connected all come back as the reason there is no CID: the check then starts from the segment's
/// published checkpoint. The caller checks that what was revealed hashes to the root the provider published.
/// </summary>
public sealed class StateRevealService(ProviderSessions sessions, HubOptions options, TimeProvider time)
{
    private readonly ConcurrentDictionary<(string Provider, string Request), TaskCompletionSource<StateRevelation>> _pending = new();

    /// <summary>The CID of the revealed state, or null and why not.</summary>
    public async Task<(string? Cid, string? Why)> RequestAsync(string providerId, string jobId, int step, CancellationToken cancellationToken)
    {
        string requestId = "sr-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var pending = new TaskCompletionSource<StateRevelation>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[(providerId, requestId)] = pending;
        try
        {
            long deadline = time.GetUtcNow().Add(options.StateRevealTimeout).ToUnixTimeMilliseconds();
            if (!await sessions.TrySendAsync(providerId, ChannelMessageTypes.StateReveal, new StateRevealRequest(requestId, jobId, step, deadline), cancellationToken))
            {
                return (null, "the provider is not connected");
            }

            StateRevelation answer = await pending.Task.WaitAsync(options.StateRevealTimeout, time, cancellationToken);
            // The provider's own words, shortened: they end up in the job's events.
            string why = answer.Error is { Length: > 0 } error ? $"the provider says: {(error.Length > 200 ? error[..200] + "…" : error)}" : "the provider revealed nothing";
            return answer.Cid is { Length: > 0 } cid ? (cid, null) : (null, why);
        }
        catch (TimeoutException)
        {
            return (null, string.Create(System.Globalization.CultureInfo.InvariantCulture, $"no answer within {options.StateRevealTimeout.TotalSeconds:0.#} s"));
        }
        finally
        {
            _pending.TryRemove((providerId, requestId), out _);
        }
    }

    /// <summary>A provider's answer (<see cref="ChannelMessageTypes.StateRevealed"/>), from its authenticated channel.</summary>
    public void OnRevealed(string providerId, StateRevelation revelation)
    {
        if (!_pending.TryGetValue((providerId, revelation.RequestId), out TaskCompletionSource<StateRevelation>? pending) || !pending.TrySetResult(revelation))
        {
            throw ApiProblem.Conflict("unknown_reveal", $"no open request {revelation.RequestId} for a state of this provider");
        }
    }
}
