using Kumo.Crypto;
using Kumo.Signing;

namespace Kumo.Client;

/// <summary>Signs requests for one account with strictly increasing nonces.</summary>
public sealed class RequestSigner(AccountKey key, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly NonceClock _nonces = new(time ?? TimeProvider.System);

    public AccountId AccountId => key.AccountId;

    public AccountKey Key => key;

    public SignedEnvelope Sign<T>(string type, T payload) =>
        SignedEnvelope.Create(key, type, payload, _nonces.Next(), _time.GetUtcNow());
}
