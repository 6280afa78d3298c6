using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Crypto;
using Kumo.Signing;

namespace Kumo.Core.Tests.Signing;

public class SignedEnvelopeTests
{
    private sealed record Greeting(string Text, long Amount);

    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_signed_envelope_survives_serialization_and_verifies()
    {
        using var key = AccountKey.Create();
        var envelope = SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 42), nonce: 7, Now);

        Assert.True(SignedEnvelope.TryParse(Encoding.UTF8.GetBytes(envelope.ToJson()), out SignedEnvelope? parsed, out string? parseError), parseError);
        Assert.True(parsed.TryVerify(out string? error), error);
        Assert.Equal(new Greeting("hi", 42), parsed.PayloadAs<Greeting>());
        Assert.Equal(key.AccountId, parsed.Signer);
    }

    [Fact]
    public void Reformatting_the_json_does_not_break_the_signature()
    {
        using var key = AccountKey.Create();
        var envelope = SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 42), 7, Now);
        JsonNode node = JsonNode.Parse(envelope.ToJson())!;
        // Re-emit with indentation and members in another order.
        var reordered = new JsonObject();
        foreach (string name in new[] { "signature", "payload", "type", "timestamp", "signer", "publicKey", "nonce" })
        {
            reordered[name] = node[name]!.DeepClone();
        }

        string pretty = reordered.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
        Assert.True(SignedEnvelope.TryParse(Encoding.UTF8.GetBytes(pretty), out SignedEnvelope? parsed, out _));
        Assert.True(parsed.TryVerify(out string? error), error);
    }

    [Theory]
    [InlineData("type", "\"kumo.other/v1\"")]
    [InlineData("nonce", "8")]
    [InlineData("timestamp", "1")]
    [InlineData("payload", "{\"text\":\"hi\",\"amount\":43}")]
    public void Changing_any_signed_member_breaks_the_signature(string member, string newValue)
    {
        using var key = AccountKey.Create();
        var envelope = SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 42), 7, Now);
        JsonNode node = JsonNode.Parse(envelope.ToJson())!;
        node[member] = JsonNode.Parse(newValue);
        Assert.True(SignedEnvelope.TryParse(Encoding.UTF8.GetBytes(node.ToJsonString()), out SignedEnvelope? parsed, out _));
        Assert.False(parsed.TryVerify(out string? error));
        Assert.Contains("signature does not match", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Claiming_another_signer_is_refused()
    {
        using var key = AccountKey.Create();
        using var victim = AccountKey.Create();
        var envelope = SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 1), 7, Now) with { Signer = victim.AccountId };
        Assert.False(envelope.TryVerify(out string? error));
        Assert.Contains("not to the signer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Swapping_in_the_victims_public_key_is_refused()
    {
        using var key = AccountKey.Create();
        using var victim = AccountKey.Create();
        var envelope = SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 1), 7, Now) with
        {
            Signer = victim.AccountId,
            PublicKey = victim.PublicKey.Text,
        };
        Assert.False(envelope.TryVerify(out string? error));
        Assert.Contains("signature does not match", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{}", "missing")]
    [InlineData("{\"type\":\"t\"", "malformed")]
    [InlineData("[1,2]", "malformed")]
    public void Malformed_envelopes_are_refused_with_a_reason(string json, string fragment)
    {
        Assert.False(SignedEnvelope.TryParse(Encoding.UTF8.GetBytes(json), out _, out string? error));
        Assert.Contains(fragment, error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Unknown_members_are_refused()
    {
        using var key = AccountKey.Create();
        JsonNode node = JsonNode.Parse(SignedEnvelope.Create(key, "kumo.test/v1", new Greeting("hi", 1), 7, Now).ToJson())!;
        node["extra"] = 1;
        Assert.False(SignedEnvelope.TryParse(Encoding.UTF8.GetBytes(node.ToJsonString()), out _, out string? error));
        Assert.Contains("extra", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Nonce_clock_is_strictly_increasing_even_when_time_stands_still()
    {
        var clock = new NonceClock(new FixedTime(Now));
        long a = clock.Next(), b = clock.Next(), c = clock.Next();
        Assert.True(a < b && b < c);
        Assert.Equal(Now.ToUnixTimeMilliseconds() * 1000, a);
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
