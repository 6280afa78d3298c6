using System.Buffers.Text;
using BenchmarkDotNet.Attributes;
using Kumo.Crypto;
using Kumo.Protocol;
using Kumo.Signing;

namespace Kumo.Benchmarks;

/// <summary>
/// Signing and verifying a heartbeat, against the bare ECDSA P-256 verification of the same bytes: the ratio is
/// what the envelope (payload to JSON, canonical form, key parsing, id check) adds to the cryptography.
/// </summary>
[MemoryDiagnoser]
public class SigningBenchmarks
{
    private AccountKey _key = null!;
    private Heartbeat _heartbeat = null!;
    private SignedEnvelope _envelope = null!;
    private PublicKey _publicKey = null!;
    private byte[] _signingBytes = null!;
    private byte[] _signature = null!;

    [GlobalSetup]
    public void Setup()
    {
        _key = AccountKey.Create();
        _heartbeat = new Heartbeat(1_234, ["lease-01J9Z3Q4W5E6R7T8Y9U0I1O2P3", "lease-01J9Z3Q4W5E6R7T8Y9U0I1O2P4"]);
        _envelope = SignedEnvelope.Create(_key, MessageTypes.ProviderHeartbeat, _heartbeat, 1_700_000_000_000_000, DateTimeOffset.UnixEpoch.AddYears(55));
        if (!PublicKey.TryParse(_envelope.PublicKey, out PublicKey? key, out string error))
        {
            throw new InvalidOperationException(error);
        }

        _publicKey = key;
        _signingBytes = _envelope.SigningBytes();
        _signature = Base64Url.DecodeFromChars(_envelope.Signature);
        if (!_publicKey.Verify(_signingBytes, _signature) || !_envelope.TryVerify(out _))
        {
            throw new InvalidOperationException("the benchmark envelope does not verify");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _key.Dispose();

    /// <summary>ECDSA P-256 verification of the canonical bytes with a parsed key: the floor.</summary>
    [Benchmark(Baseline = true)]
    public bool Verify_raw_ecdsa() => _publicKey.Verify(_signingBytes, _signature);

    /// <summary>What the hub does for a message: parse the key from the envelope, check the signer, canonicalize, verify.</summary>
    [Benchmark]
    public bool Verify_envelope() => _envelope.TryVerify(out _);

    /// <summary>As <see cref="Verify_envelope"/> with the provider's key already parsed (cached per connection).</summary>
    [Benchmark]
    public bool Verify_envelope_cached_key() => _envelope.TryVerify(_publicKey, out _);

    [Benchmark]
    public SignedEnvelope Sign_envelope() =>
        SignedEnvelope.Create(_key, MessageTypes.ProviderHeartbeat, _heartbeat, 1_700_000_000_000_001, DateTimeOffset.UnixEpoch.AddYears(55));
}
