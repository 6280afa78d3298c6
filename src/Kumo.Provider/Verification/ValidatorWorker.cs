using Kumo.Protocol;
using Kumo.Provider.Control;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Validators;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Verification;

/// <summary>
/// How this agent answers validation tasks. Everything but <see cref="Honest"/> is a fault injected for tests and the
/// adversarial demo: the network must catch each of them.
/// </summary>
public enum ValidatorBehavior
{
    /// <summary>Re-executes and reports what it computed.</summary>
    Honest,

    /// <summary>Approves every claim without computing (caught by canaries).</summary>
    Lazy,

    /// <summary>Rejects every claim with a made-up root (caught by the referee's recomputation).</summary>
    Accuser,

    /// <summary>Never answers (loses reputation; the task goes to another validator).</summary>
    Silent,
}

/// <summary>
/// The validator role of a provider agent: downloads what a task names (CID-verified, cached per agent), re-executes
/// it with the tensor engine on one thread (<see cref="ValidationWork"/>), and signs the report. Tasks run one at a
/// time, off the channel's receive loop, so heartbeats and offers keep flowing.
/// </summary>
public sealed class ValidatorWorker(HubChannel channel, ContentCache cache, ValidatorBehavior behavior, ILogger logger)
{
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Tells the hub this agent validates (after each connect).</summary>
    public void Join() => channel.Send(ChannelMessageTypes.ValidatorJoin, new ValidatorJoin(1));

    /// <summary>Does the task and sends the signed report (or, when <see cref="ValidatorBehavior.Silent"/>, nothing).</summary>
    public async Task HandleAsync(ValidationTask task, CancellationToken cancellationToken)
    {
        if (behavior == ValidatorBehavior.Silent)
        {
            logger.LogWarning("validation task {Task}: not answering (fault injected: silent validator)", task.TaskId);
            return;
        }

        await _one.WaitAsync(cancellationToken);
        try
        {
            ValidationReport report = behavior switch
            {
                ValidatorBehavior.Lazy => new ValidationReport(task.TaskId, task.JobId, "not checked", Claim(task), true, task.Segment?.ClaimedRoot, "approved without computing (fault injected)"),
                ValidatorBehavior.Accuser => new ValidationReport(task.TaskId, task.JobId, "not checked", Claim(task), false, task.Segment is null ? null : new string('0', 64),
                    "rejected without computing (fault injected)"),
                _ => await ComputeAsync(task, cancellationToken),
            };
            channel.SendSigned(ChannelMessageTypes.ValidationReport, ValidationMessageTypes.Report, report);
            logger.LogInformation("validation task {Task} for job {Job}: {Verdict}: {Detail}", task.TaskId, task.JobId, report.Approves ? "approved" : "rejected", report.Detail);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An honest validator that cannot do the work says nothing rather than sign a verdict it did not reach: the
            // hub takes the task back at its deadline and asks somebody else.
            logger.LogWarning("validation task {Task} for job {Job} could not be done: {Error}", task.TaskId, task.JobId, e.Message);
        }
        finally
        {
            _one.Release();
        }
    }

    private static string Claim(ValidationTask task) => task.Segment?.ClaimedRoot ?? task.Inference?.OutputCid ?? "";

    private async Task<ValidationReport> ComputeAsync(ValidationTask task, CancellationToken cancellationToken)
    {
        // Everything the task can touch: the spec's inputs, the start checkpoint, the output under check.
        Jobs.JobSpec spec = Jobs.JobSpecReader.ReadWireForm(task.SpecJson, "spec").Spec ?? throw new InvalidDataException("the task's spec does not read");
        IReadOnlyDictionary<string, string> paths = await cache.FetchAsync(
            spec.Workload.Inputs.Select(i => i.Cid).Append(task.Segment?.StartCheckpointCid).Append(task.Inference?.OutputCid).OfType<string>(), cancellationToken);
        try
        {
            return await Task.Run(() => ValidationWork.Run(task, cid => paths.TryGetValue(cid, out string? p) ? p : throw new InvalidDataException($"{cid} was not fetched"),
                new ComputeOptions { Threads = 1 }, cancellationToken), cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or WorkloadException or SafeTensorsFormatException)
        {
            // The published content is not what the job says it is: a rejection the referee will reproduce (it reads the same bytes).
            return new ValidationReport(task.TaskId, task.JobId, "published content", Claim(task), false, null, $"cannot be checked: {e.Message}");
        }
    }
}
