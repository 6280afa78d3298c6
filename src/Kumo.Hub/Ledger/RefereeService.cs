using Kumo.Client;
using Kumo.Crypto;
using Kumo.Ledger;
using Kumo.Ledger.Transactions;
using Kumo.Protocol;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Ledger;

/// <summary>
/// The hub's referee: the account a new network's genesis names (<see cref="Genesis.Referee"/>), whose key lives in
/// the data directory (<c>referee-key.json</c>, 0600). It signs verification verdicts and files them as slash reports,
/// with the offender's own signed statements, so every verification slash is traceable by <c>kumo audit</c>.
/// </summary>
public sealed class RefereeService : IDisposable
{
    private readonly LedgerService _ledger;
    private readonly ILogger<RefereeService> _logger;
    private readonly Lazy<AccountKey> _key;
    private readonly Lazy<RequestSigner> _signer;

    public RefereeService(HubOptions options, LedgerService ledger, TimeProvider time, ILogger<RefereeService> logger)
    {
        _ledger = ledger;
        _logger = logger;
        _key = new(() => LoadKey(options.DataDirectory));
        _signer = new(() => new RequestSigner(_key.Value, time)); // one signer: its nonces never repeat
    }


    /// <summary>The referee key of a data directory, created on first use.</summary>
    public static AccountKey LoadKey(string dataDirectory) => KeyFile.LoadOrCreate(Path.Combine(dataDirectory, "referee-key.json"), out _);

    /// <summary>The referee's account (creating its key on first use).</summary>
    public AccountId AccountId => _key.Value.AccountId;

    /// <summary>Whether this hub's ledger accepts its verdicts (its genesis names this referee).</summary>
    public bool CanSlash => _ledger.Genesis.Referee == AccountId.Value;

    /// <summary>Signs a verdict.</summary>
    public SignedEnvelope Sign(VerificationVerdict verdict) => _signer.Value.Sign(MessageTypes.VerificationVerdict, verdict);

    /// <summary>
    /// Slashes <paramref name="offender"/> on a verdict citing <paramref name="statements"/> (each signed by the
    /// offender). Returns the ledger receipt, or null when this network cannot (no referee in its genesis) — logged.
    /// </summary>
    /// <exception cref="LedgerRefusedException">The ledger refused (e.g. the fault was already slashed).</exception>
    public async Task<LedgerReceipt?> SlashAsync(string kind, AccountId offender, AccountId? winner, string subject, string reason,
        IReadOnlyList<SignedEnvelope> statements, CancellationToken cancellationToken)
    {
        if (!CanSlash)
        {
            _logger.LogWarning("verdict against {Offender} ({Kind}, {Subject}) not slashed: this network's genesis names no referee or another one", offender, kind, subject);
            return null;
        }

        SignedEnvelope verdict = Sign(new VerificationVerdict(kind, offender.Value, winner?.Value, subject, [.. statements.Select(s => s.Digest())], reason));
        SignedEnvelope report = _signer.Value.Sign(LedgerMessageTypes.SlashReport,
            new SlashReportPayload(offender.Value, "refereed", [verdict, .. statements]));
        LedgerReceipt receipt = await _ledger.SubmitAsync(at => LedgerTx.FromSigned(report, at), null, cancellationToken);
        _logger.LogWarning("slashed {Offender} on a {Kind} verdict ({Subject}): {Reason}", offender, kind, subject, reason);
        return receipt;
    }

    public void Dispose()
    {
        if (_key.IsValueCreated)
        {
            _key.Value.Dispose();
        }
    }
}
