using Kumo.Client;
using Kumo.Content;
using Kumo.Protocol;
using Kumo.Provider.Control;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Verification;

/// <summary>
/// Answers the hub's <see cref="StateRevealRequest"/>s: uploads the state this agent kept after the asked step of one of
/// its finished train jobs (<see cref="RetainedStates"/>) and names its CID, or says why it cannot — the hub then checks
/// the segment from its published checkpoint, which costs more verification but nothing else.
/// </summary>
public sealed class StateRevealer(HubChannel channel, HubClient hub, RequestSigner signer, RetainedStates states, ILogger logger)
{
    public async Task RevealAsync(StateRevealRequest request)
    {
        StateRevelation answer;
        if (states.Find(request.JobId, request.Step) is not { } file)
        {
            answer = new StateRevelation(request.RequestId, null, $"no state kept after step {request.Step} of job {request.JobId}");
        }
        else
        {
            try
            {
                ContentManifest manifest = await hub.UploadFileAsync(signer, file);
                answer = new StateRevelation(request.RequestId, manifest.Root.ToString());
                logger.LogInformation("revealed the state after step {Step} of job {Job} for a spot check ({Cid})", request.Step, request.JobId, manifest.Root);
            }
            catch (Exception e) when (e is HubApiException or HubUnreachableException or IOException)
            {
                answer = new StateRevelation(request.RequestId, null, $"the state after step {request.Step} could not be uploaded: {e.Message}");
            }
        }

        channel.Send(ChannelMessageTypes.StateRevealed, answer);
    }
}
