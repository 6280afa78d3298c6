using Kumo.Hub.Api;

namespace Kumo.Hub.Ledger;

internal static class LedgerProblems
{
    /// <summary>A ledger refusal as an API problem: 402 for missing money, 409 for a replay, 422 for the rest.</summary>
    public static ApiProblem From(LedgerRefusedException e)
    {
        string message = e.Message;
        if (message.Contains("insufficient funds", StringComparison.Ordinal))
        {
            return new ApiProblem(402, "insufficient_funds", message);
        }

        return message.Contains("replay", StringComparison.Ordinal)
            ? ApiProblem.Conflict("replayed_nonce", message)
            : ApiProblem.Unprocessable("ledger_refused", message);
    }
}
