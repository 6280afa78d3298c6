using System.Collections.Concurrent;
using System.Security.Cryptography;
using Kumo.Crypto;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Control;
using Kumo.Hub.Ledger;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Signing;
using Kumo.Tensor.Randomness;
using Kumo.Verification.Validators;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Verification;

/// <summary>
/// The live validator pool: providers that offered to validate (<see cref="ValidatorJoin"/>) while connected and bonded
/// at least the network's per-device minimum. Picks validators at random — never the provider whose work it is, never
/// twice for the same piece of work (<see cref="ValidatorPool"/>) — sends them <see cref="ValidationTask"/>s over their
/// channel, and waits for their signed <see cref="ValidationReport"/>s until <see cref="HubOptions.ValidationDeadline"/>.
/// A task not answered in time is a miss (the validator loses reputation and is dropped below the pool's floor); a
/// slashed validator leaves the pool. Each validator's standing (reputation, assignments, misses, status) is kept in the
/// hub's store after every change and taken back when it joins a restarted hub: probation is not served twice, and a
/// dropped validator stays dropped. A slashed one is refused on the ledger's record.
/// </summary>
public sealed class ValidatorDispatch(
    IHubStore store,
    ProviderSessions sessions,
    EnvelopeAuthenticator auth,
    LedgerService ledger,
    HubOptions options,
    TimeProvider time,
    ILogger<ValidatorDispatch> logger)
{
    private readonly object _lock = new();
    private readonly HashSet<string> _expelled = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _saving = new(1, 1);
    private ValidatorPool _pool = new(minBondMicros: 1, canaryRate: options.CanaryRate, deadline: options.ValidationDeadline);
    private readonly Philox _random = new(BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8)), 0, 0);
    private readonly ConcurrentDictionary<string, (string Validator, ValidationTask Task, TaskCompletionSource<SignedEnvelope> Answer)> _pending = new(StringComparer.Ordinal);

    /// <summary>The validators that can be given work now: registered, active in the pool, connected and bonded.</summary>
    public IReadOnlyList<string> Available()
    {
        string[] active;
        lock (_lock)
        {
            active = [.. _pool.Active];
        }

        return [.. active.Where(v => sessions.IsConnected(v) && IsBonded(v))];
    }

    /// <summary>Validation history of a validator, for reports: assignments, misses, status.</summary>
    public (int Assignments, int Missed, ValidatorStatus Status)? Standing(string validator)
    {
        lock (_lock)
        {
            return _pool.IsRegistered(validator) ? (_pool.Assignments(validator), _pool.Missed(validator), _pool.Status(validator)) : null;
        }
    }

    /// <summary>
    /// A provider's offer to validate, on its authenticated channel. A validator that joined before (this hub or an
    /// earlier run of it) comes back with the standing the store kept.
    /// </summary>
    public async Task OnJoinAsync(string providerId, CancellationToken cancellationToken)
    {
        // Expulsion is for good: the ledger keeps the record.
        string[] misconduct = [.. ledger.Read(s => s.RefereedFaultKinds(AccountId.Parse(providerId))).Where(ValidatorFaults.All.Contains)];
        if (misconduct.Length > 0)
        {
            throw ApiProblem.Forbidden("validator_slashed", $"{providerId} was slashed as a validator ({string.Join(", ", misconduct)}) and may not validate again");
        }

        long bonded = Bonded(providerId);
        if (bonded < MinBond)
        {
            throw ApiProblem.Forbidden("not_bonded", $"a validator must bond at least {MinBond} µKUMO; {providerId} has {bonded}");
        }

        lock (_lock)
        {
            if (_pool.IsRegistered(providerId))
            {
                return;
            }
        }

        ValidatorStandingRecord? saved;
        await using (IHubReader reader = await store.OpenReaderAsync(cancellationToken))
        {
            saved = await reader.GetValidatorStandingAsync(providerId);
        }

        bool joined = false;
        lock (_lock)
        {
            if (!_pool.IsRegistered(providerId))
            {
                if (saved is not null && Enum.TryParse(saved.Status, ignoreCase: true, out ValidatorStatus status))
                {
                    _pool.Restore(providerId, bonded, new ValidatorStanding(saved.Reputation, (int)Math.Min(saved.Assignments, int.MaxValue),
                        (int)Math.Min(saved.Missed, int.MaxValue), status));
                    logger.LogInformation("validator {Validator} rejoined ({Status}, reputation {Reputation:0.00}, {Assignments} assignments before)",
                        providerId, status, saved.Reputation, saved.Assignments);
                }
                else
                {
                    _pool.Register(providerId, bonded);
                    logger.LogInformation("validator {Validator} joined ({Bonded} µKUMO bonded)", providerId, bonded);
                }

                joined = true;
            }
        }

        if (joined)
        {
            await SaveAsync(providerId, cancellationToken);
        }
    }

    /// <summary>
    /// Picks a validator for <paramref name="workKey"/> (work by <paramref name="provider"/>), skipping any that is not
    /// connected or no longer bonded. A canary assignment may come back instead of real work: the caller gives it a
    /// known-answer task (or <see cref="Withdraw"/>s it) and asks again. Null when nobody is left.
    /// </summary>
    public ValidatorAssignment? Assign(string workKey, string provider)
    {
        lock (_lock)
        {
            while (_pool.Assign(workKey, provider, time.GetUtcNow(), _random) is { } assignment)
            {
                if (sessions.IsConnected(assignment.Validator) && IsBonded(assignment.Validator))
                {
                    return assignment;
                }

                _pool.Withdraw(assignment.Id); // gone or slashed below the minimum since it joined: not its fault here, ask another
            }

            return null;
        }
    }

    /// <summary>Takes back an assignment without judging its validator.</summary>
    public void Withdraw(ValidatorAssignment assignment)
    {
        lock (_lock)
        {
            _pool.Withdraw(assignment.Id);
        }
    }

    /// <summary>
    /// Sends <paramref name="task"/> to the assignment's validator and waits for its signed report. Null when it did not
    /// answer in time (recorded as a miss) or could not be reached.
    /// </summary>
    public async Task<SignedEnvelope?> RequestAsync(ValidatorAssignment assignment, ValidationTask task, CancellationToken cancellationToken)
    {
        var answer = new TaskCompletionSource<SignedEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[task.TaskId] = (assignment.Validator, task, answer);
        try
        {
            if (!await sessions.TrySendAsync(assignment.Validator, ChannelMessageTypes.ValidationTask, task, cancellationToken))
            {
                Withdraw(assignment);
                return null;
            }

            SignedEnvelope report;
            try
            {
                report = await answer.Task.WaitAsync(options.ValidationDeadline, cancellationToken);
            }
            catch (TimeoutException)
            {
                lock (_lock)
                {
                    _pool.Miss(assignment.Id);
                }

                logger.LogWarning("validator {Validator} did not answer task {Task} within {Deadline}", assignment.Validator, task.TaskId, options.ValidationDeadline);
                await SaveAsync(assignment.Validator, CancellationToken.None);
                return null;
            }

            lock (_lock)
            {
                _pool.Answer(assignment.Id, report.ReadPayload<ValidationReport>().Approves, time.GetUtcNow());
            }

            await SaveAsync(assignment.Validator, CancellationToken.None);
            return report;
        }
        finally
        {
            _pending.TryRemove(task.TaskId, out _);
        }
    }

    /// <summary>Tests: the canary rates (before any validator joins), and the right answer of every canary (null: a fair coin).</summary>
    internal void SetCanaryRates(double rate, double probationRate, bool? canaryAnswer = null)
    {
        lock (_lock)
        {
            _pool = new ValidatorPool(minBondMicros: 1, canaryRate: rate, probationCanaryRate: probationRate, deadline: options.ValidationDeadline)
            {
                CanaryAnswer = canaryAnswer,
            };
        }
    }

    /// <summary>
    /// Removes a validator proven dishonest (a failed canary, a false accusation). True the first time: the caller
    /// then slashes it once, however many of its answers were wrong.
    /// </summary>
    public async Task<bool> ExpelAsync(string validator)
    {
        bool first, registered;
        lock (_lock)
        {
            registered = _pool.IsRegistered(validator);
            if (registered && _pool.Status(validator) != ValidatorStatus.Slashed)
            {
                _pool.Slash(validator);
            }

            first = _expelled.Add(validator);
        }

        if (registered)
        {
            await SaveAsync(validator, CancellationToken.None);
        }

        return first;
    }

    /// <summary>A signed report from a validator's channel.</summary>
    public void OnReport(string providerId, SignedEnvelope envelope)
    {
        auth.Verify(envelope, ValidationMessageTypes.Report);
        if (envelope.Signer.Value != providerId)
        {
            throw ApiProblem.Forbidden("wrong_signer", $"validation report signed by {envelope.Signer}, not by this channel's provider");
        }

        ValidationReport report = envelope.ReadPayload<ValidationReport>();
        if (!_pending.TryGetValue(report.TaskId, out var pending) || pending.Validator != providerId)
        {
            throw ApiProblem.Conflict("unknown_task", $"no open validation task {report.TaskId} for this validator (answered, expired, or never given)");
        }

        // The report is evidence against its signer: it must be about the claim it was given, or it proves nothing.
        string claim = pending.Task.Segment?.ClaimedRoot ?? pending.Task.Inference!.OutputCid;
        if (report.JobId != pending.Task.JobId || report.Claimed != claim)
        {
            throw ApiProblem.BadRequest("wrong_claim", $"validation report {report.TaskId} is about job {report.JobId}, claim {report.Claimed}; the task was job {pending.Task.JobId}, claim {claim}");
        }

        pending.Answer.TrySetResult(envelope);
    }

    /// <summary>
    /// Writes the validator's standing to the store (after every change to it). One save at a time, each reading the
    /// standing when its turn comes: the last write is never older than the last change.
    /// </summary>
    private async Task SaveAsync(string validator, CancellationToken cancellationToken)
    {
        await _saving.WaitAsync(cancellationToken);
        try
        {
            ValidatorStanding standing;
            lock (_lock)
            {
                if (!_pool.IsRegistered(validator))
                {
                    return;
                }

                standing = _pool.Standing(validator);
            }

            await using IHubTransaction tx = await store.BeginAsync(cancellationToken);
            await tx.UpsertValidatorStandingAsync(new ValidatorStandingRecord(validator, standing.Reputation, standing.Assignments, standing.Missed,
                Leases.Names.Of(standing.Status), time.GetUtcNow().ToUnixTimeMilliseconds()));
            await tx.CommitAsync();
        }
        finally
        {
            _saving.Release();
        }
    }

    private long MinBond => Math.Max(1, ledger.Genesis.MinBondPerDevice);

    private long Bonded(string account) => ledger.Read(s => s.Bonded(AccountId.Parse(account)));

    private bool IsBonded(string account) => Bonded(account) >= MinBond;
}

/// <summary>The referee's verdict kinds that are a validator's misconduct: each expels it from validating for good.</summary>
public static class ValidatorFaults
{
    /// <summary>It answered a known-answer task wrongly (approved a wrong claim, or rejected a right one).</summary>
    public const string Canary = "canary";

    /// <summary>It rejected work the referee reproduced.</summary>
    public const string FalseAccusation = "false_accusation";

    /// <summary>It lost the refereed dispute it opened by rejecting a segment.</summary>
    public const string LostDispute = "dispute";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>([Canary, FalseAccusation, LostDispute], StringComparer.Ordinal);
}
