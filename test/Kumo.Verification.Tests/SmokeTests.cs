namespace Kumo.Verification.Tests;

public class SmokeTests
{
    [Fact]
    public void The_rules_have_a_version() => Assert.StartsWith("kumo-verify/", VerificationInfo.RulesVersion, StringComparison.Ordinal);
}
