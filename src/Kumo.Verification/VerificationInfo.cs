namespace Kumo.Verification;

/// <summary>Names shared by the verification protocols.</summary>
public static class VerificationInfo
{
    /// <summary>Version of the verification rules; evidence records it so an audit applies the rules of its time.</summary>
    public const string RulesVersion = "kumo-verify/1";
}
