namespace Kumo.Signing;

/// <summary>The <c>type</c> of every signed statement. A signature made for one type never verifies as another.</summary>
public static class MessageTypes
{
    public const string ProviderRegister = "kumo.provider.register/v1";
    public const string ProviderHeartbeat = "kumo.provider.heartbeat/v1";
    public const string ChannelHello = "kumo.channel.hello/v1";
    public const string LeaseAccept = "kumo.lease.accept/v1";
    public const string LeaseReject = "kumo.lease.reject/v1";
    public const string LeaseResult = "kumo.lease.result/v1";
    public const string JobSubmit = "kumo.job.submit/v1";
    public const string JobCancel = "kumo.job.cancel/v1";
    public const string UploadCreate = "kumo.content.upload/v1";
    public const string MarketBid = "kumo.market.bid/v1";
    public const string MarketAccept = "kumo.market.accept/v1";
    public const string LeaseCheckpoint = "kumo.lease.checkpoint/v1";
    public const string Attestation = "kumo.provider.attestation/v1";
    public const string VerificationVerdict = "kumo.verify.verdict/v1";
}
