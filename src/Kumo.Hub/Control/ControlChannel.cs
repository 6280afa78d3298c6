using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Leases;
using Kumo.Hub.Providers;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Control;

/// <summary>
/// The provider control channel. The hub speaks first with a random challenge; the provider answers with a
/// signed hello over it, which binds the socket to the provider's account. After that the channel carries
/// heartbeats and lease messages in both directions; messages from one provider are handled in order.
/// </summary>
public sealed class ControlChannel(
    IHubStore store,
    EnvelopeAuthenticator auth,
    ProviderSessions sessions,
    ProviderService providers,
    LeaseCoordinator leases,
    Market.MarketService market,
    Market.NetworkMeasurements network,
    HubSignals signals,
    Verification.HardwareProofService hardware,
    Verification.ValidatorDispatch validation,
    Verification.DisputeService disputes,
    Verification.StateRevealService stateReveals,
    HubOptions options,
    TimeProvider time,
    ILogger<ControlChannel> logger)
{
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    public async Task HandleAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            throw ApiProblem.BadRequest("websocket_required", "this endpoint is the provider control channel; connect with a WebSocket");
        }

        using WebSocket socket = await context.WebSockets.AcceptWebSocketAsync();
        CancellationToken aborted = context.RequestAborted;
        string challenge = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var pending = new ProviderSession("(unauthenticated)", socket);
        await pending.SendAsync(ChannelMessageTypes.Challenge, new ChannelChallenge(challenge, HubInfo.Version), aborted);

        ProviderSession session;
        try
        {
            using var helloTimeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            helloTimeout.CancelAfter(HelloTimeout);
            ChannelMessage? hello = await ChannelFraming.ReceiveAsync(socket, helloTimeout.Token);
            string providerId = await AuthenticateHelloAsync(hello, challenge, aborted);
            session = new ProviderSession(providerId, socket);
        }
        catch (ApiProblem problem)
        {
            await pending.SendAsync(ChannelMessageTypes.Error, new ChannelError(problem.Code, problem.Message), CancellationToken.None);
            await pending.CloseAsync(problem.Code);
            return;
        }
        catch (JsonException e)
        {
            await pending.SendAsync(ChannelMessageTypes.Error, new ChannelError("malformed_message", $"hello: {e.Message}"), CancellationToken.None);
            await pending.CloseAsync("malformed_message");
            return;
        }
        catch (OperationCanceledException)
        {
            await pending.CloseAsync("no hello within " + HelloTimeout.TotalSeconds + " s");
            return;
        }

        sessions.Add(session);
        logger.LogInformation("provider {Provider} connected", session.ProviderId);
        try
        {
            IReadOnlyList<string> open;
            await using (IHubTransaction tx = await store.BeginAsync(aborted))
            {
                ProviderRecord provider = (await tx.GetProviderAsync(session.ProviderId))!;
                await tx.UpdateProviderLivenessAsync(provider.Id, ProviderStatus.Online, time.GetUtcNow().ToUnixTimeMilliseconds(), provider.LastHeartbeatSeq);
                open = [.. (await tx.ListOpenLeasesAsync(provider.Id)).Select(l => l.Id)];
                await tx.CommitAsync();
            }

            await session.SendAsync(ChannelMessageTypes.Welcome,
                new ChannelWelcome(session.ProviderId, (int)options.HeartbeatInterval.TotalMilliseconds, open), aborted);
            signals.WakeScheduler();
            await RunAsync(session, socket, aborted);
        }
        catch (Exception e) when (e is WebSocketException or OperationCanceledException or IOException)
        {
            logger.LogInformation("provider {Provider} channel ended: {Error}", session.ProviderId, e.Message);
        }
        finally
        {
            sessions.Remove(session);
            logger.LogInformation("provider {Provider} disconnected", session.ProviderId);
        }
    }

    private async Task<string> AuthenticateHelloAsync(ChannelMessage? hello, string challenge, CancellationToken cancellationToken)
    {
        if (hello is null || hello.Type != ChannelMessageTypes.Hello)
        {
            throw ApiProblem.BadRequest("hello_expected", "the first message on the channel must be a signed hello");
        }

        SignedEnvelope envelope = ReadEnvelope(hello);
        auth.Verify(envelope, MessageTypes.ChannelHello);
        if (envelope.ReadPayload<ChannelHello>().Challenge != challenge)
        {
            throw ApiProblem.Unauthorized("wrong_challenge", "the hello signs another challenge than the one this connection was given");
        }

        await using IHubReader reader = await store.OpenReaderAsync(cancellationToken);
        if (await reader.GetProviderAsync(envelope.Signer.Value) is null)
        {
            throw ApiProblem.NotFound("unknown_provider", $"{envelope.Signer} has not registered; POST /v1/providers first");
        }

        return envelope.Signer.Value;
    }

    private async Task RunAsync(ProviderSession session, WebSocket socket, CancellationToken cancellationToken)
    {
        while (true)
        {
            string type = "(unreadable)";
            try
            {
                ChannelMessage? message = await ChannelFraming.ReceiveAsync(socket, cancellationToken);
                if (message is null)
                {
                    await session.CloseAsync("bye");
                    return;
                }

                type = message.Type;
                await DispatchAsync(session.ProviderId, message, cancellationToken);
            }
            catch (ApiProblem problem)
            {
                logger.LogWarning("refused {Type} from {Provider}: {Code}: {Message}", type, session.ProviderId, problem.Code, problem.Message);
                await session.SendAsync(ChannelMessageTypes.Error, new ChannelError(problem.Code, $"{type}: {problem.Message}"), cancellationToken);
            }
            catch (JsonException e)
            {
                await session.SendAsync(ChannelMessageTypes.Error, new ChannelError("malformed_message", $"{type}: {e.Message}"), cancellationToken);
            }
        }
    }

    private async Task DispatchAsync(string providerId, ChannelMessage message, CancellationToken cancellationToken)
    {
        switch (message.Type)
        {
            case ChannelMessageTypes.Heartbeat:
                SignedEnvelope heartbeat = ReadEnvelope(message);
                auth.Verify(heartbeat, MessageTypes.ProviderHeartbeat);
                if (heartbeat.Signer.Value != providerId)
                {
                    throw ApiProblem.Forbidden("wrong_signer", "heartbeat signed by another account than the channel's");
                }

                await providers.HeartbeatAsync(heartbeat, leases, cancellationToken);
                break;
            case ChannelMessageTypes.LeaseAccept:
                await leases.AcceptAsync(providerId, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.LeaseReject:
                await leases.RejectAsync(providerId, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.LeaseStarted:
                await leases.StartedAsync(providerId, Read<LeaseStarted>(message), cancellationToken);
                break;
            case ChannelMessageTypes.LeaseLogs:
                await leases.AppendLogsAsync(providerId, Read<LeaseLogBatch>(message), cancellationToken);
                break;
            case ChannelMessageTypes.LeaseResult:
                await leases.ResultAsync(providerId, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.LeaseCheckpoint:
                await leases.CheckpointAsync(providerId, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.Bid:
                await market.OnBidAsync(providerId, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.BidDecline:
                await market.OnDeclineAsync(providerId, Read<BidDecline>(message), cancellationToken);
                break;
            case ChannelMessageTypes.HardwareCommit or ChannelMessageTypes.HardwareOpen:
                await hardware.OnMessageAsync(providerId, message.Type, ReadEnvelope(message), cancellationToken);
                break;
            case ChannelMessageTypes.ValidatorJoin:
                await validation.OnJoinAsync(providerId, cancellationToken);
                break;
            case ChannelMessageTypes.ValidationReport:
                validation.OnReport(providerId, ReadEnvelope(message));
                break;
            case ChannelMessageTypes.DisputeClaim:
                disputes.OnClaim(providerId, ReadEnvelope(message));
                break;
            case ChannelMessageTypes.DisputeRevealed:
                disputes.OnRevealed(providerId, Read<DisputeRevelation>(message));
                break;
            case ChannelMessageTypes.StateRevealed:
                stateReveals.OnRevealed(providerId, Read<StateRevelation>(message));
                break;
            case ChannelMessageTypes.NetReport:
                network.Record(providerId, Read<NetProbeReport>(message), time.GetUtcNow().ToUnixTimeMilliseconds());
                break;
            default:
                throw ApiProblem.BadRequest("unknown_message", $"unknown channel message type '{message.Type}'");
        }
    }

    private static SignedEnvelope ReadEnvelope(ChannelMessage message) => Read<SignedEnvelope>(message);

    private static T Read<T>(ChannelMessage message) =>
        message.Body.Deserialize<T>(KumoJson.Options) ?? throw ApiProblem.BadRequest("malformed_message", $"{message.Type} has no body");
}
