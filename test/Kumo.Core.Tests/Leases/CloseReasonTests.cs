using Kumo.Leases;

namespace Kumo.Core.Tests.Leases;

public class CloseReasonTests
{
    /// <summary>Every member and its number. These are stored and sent on the wire: a change here is a protocol break.</summary>
    private static readonly (CloseReason Reason, int Value)[] Numbering =
    [
        (CloseReason.None, 0),
        (CloseReason.Completed, 1),
        (CloseReason.TenantCancelled, 1000),
        (CloseReason.WorkloadFailed, 1001),
        (CloseReason.WorkloadTimedOut, 1002),
        (CloseReason.WorkloadOutOfMemory, 1003),
        (CloseReason.WorkloadDiskLimitExceeded, 1004),
        (CloseReason.WorkloadKilledBySignal, 1005),
        (CloseReason.InputUnavailable, 1006),
        (CloseReason.ProviderHeartbeatLost, 2000),
        (CloseReason.ProviderRejected, 2001),
        (CloseReason.ProviderOfferExpired, 2002),
        (CloseReason.ProviderSandboxFailed, 2003),
        (CloseReason.ProviderUploadFailed, 2004),
        (CloseReason.ProviderUnstable, 2005),
        (CloseReason.NetworkHubRestarted, 3000),
        (CloseReason.NetworkInsufficientFunds, 3001),
        (CloseReason.NetworkClusterFailover, 3002),
        (CloseReason.NetworkClusterEnded, 3003),
    ];

    [Fact]
    public void Close_reason_numbers_never_change()
    {
        foreach ((CloseReason reason, int value) in Numbering)
        {
            Assert.True(value == (int)reason, $"{reason} is {(int)reason}, was {value}");
        }
    }

    [Fact]
    public void Every_close_reason_member_is_pinned_by_the_numbering_test()
    {
        // A new member must be added to the list above, which pins its number from then on.
        Assert.Equal(
            Enum.GetValues<CloseReason>().Order(),
            Numbering.Select(n => n.Reason).Order());
    }

    [Fact]
    public void Close_reason_names_never_change()
    {
        // Names appear in logs, the API (snake_case) and stored rows; renaming one is also a break.
        Assert.Equal(
            Numbering.Select(n => n.Reason.ToString()),
            [
                "None", "Completed",
                "TenantCancelled", "WorkloadFailed", "WorkloadTimedOut", "WorkloadOutOfMemory",
                "WorkloadDiskLimitExceeded", "WorkloadKilledBySignal", "InputUnavailable",
                "ProviderHeartbeatLost", "ProviderRejected", "ProviderOfferExpired", "ProviderSandboxFailed",
                "ProviderUploadFailed", "ProviderUnstable",
                "NetworkHubRestarted", "NetworkInsufficientFunds", "NetworkClusterFailover", "NetworkClusterEnded",
            ]);
    }

    [Theory]
    [InlineData(0, FaultParty.None)]
    [InlineData(1, FaultParty.None)]
    [InlineData(2, FaultParty.None)]
    [InlineData(999, FaultParty.None)]
    [InlineData(1000, FaultParty.Tenant)]
    [InlineData(1500, FaultParty.Tenant)]
    [InlineData(1999, FaultParty.Tenant)]
    [InlineData(2000, FaultParty.Provider)]
    [InlineData(2999, FaultParty.Provider)]
    [InlineData(3000, FaultParty.Network)]
    [InlineData(3999, FaultParty.Network)]
    [InlineData(4000, FaultParty.None)]
    [InlineData(-1, FaultParty.None)]
    public void Party_is_read_from_the_range_of_the_number(int value, FaultParty expected)
    {
        // Numbers a newer peer may send that this build has no name for still land in the right range.
        Assert.Equal(expected, ((CloseReason)value).Party());
    }

    [Fact]
    public void Every_named_reason_blames_the_party_its_name_says()
    {
        foreach (CloseReason reason in Enum.GetValues<CloseReason>())
        {
            string name = reason.ToString();
            FaultParty expected =
                reason is CloseReason.None or CloseReason.Completed ? FaultParty.None
                : name.StartsWith("Provider", StringComparison.Ordinal) ? FaultParty.Provider
                : name.StartsWith("Network", StringComparison.Ordinal) ? FaultParty.Network
                : FaultParty.Tenant;
            Assert.True(expected == reason.Party(), $"{reason} blames {reason.Party()}, expected {expected}");
        }
    }

    [Fact]
    public void Only_a_rejected_or_expired_offer_is_retryable_elsewhere()
    {
        CloseReason[] retryable = [.. Enum.GetValues<CloseReason>().Where(r => r.IsRetryableElsewhere())];
        Assert.Equal([CloseReason.ProviderRejected, CloseReason.ProviderOfferExpired], retryable);
    }
}
