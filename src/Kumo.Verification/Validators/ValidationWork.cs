using System.Globalization;
using System.Text;
using Kumo.Jobs;
using Kumo.Protocol;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Models;
using Kumo.Tensor.Training;
using Kumo.Tensor.Workloads;
using Kumo.Verification.Inference;

namespace Kumo.Verification.Validators;

/// <summary>
/// Does one <see cref="ValidationTask"/>: re-executes a training segment, or recomputes sampled rows or tokens of an
/// inference job, from the job's spec and the content it names. The same code runs in a validator's agent, and in the
/// hub when it referees a disagreement or when no validator answered — so a validator and the referee can only
/// disagree if one of them is lying.
/// </summary>
public static class ValidationWork
{
    /// <summary>Runs <paramref name="task"/>; <paramref name="pathOf"/> gives a local file holding a CID's bytes.</summary>
    /// <exception cref="InvalidDataException">The task or the content it names cannot be read as a check of this kind.</exception>
    public static ValidationReport Run(ValidationTask task, Func<string, string> pathOf, ComputeOptions compute, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(pathOf);
        JobSpecReadResult read = JobSpecReader.ReadWireForm(task.SpecJson, "spec");
        JobSpec spec = read.Spec ?? throw new InvalidDataException($"the task's spec does not read: {read.Errors.FirstOrDefault()?.Message}");
        if (task.Segment is { } segment && spec.Workload.Train is { } train)
        {
            return Segment(task, spec, train, segment, pathOf, compute, cancellationToken);
        }

        if (task.Inference is { } inference && spec.Workload.Infer is { } infer)
        {
            return Inference(task, spec, infer, inference, pathOf, compute);
        }

        throw new InvalidDataException($"task {task.TaskId} asks for neither a segment of a train job nor rows of an infer job");
    }

    /// <summary>The subject a segment check is about, e.g. "segment 3 (steps 31–40)".</summary>
    public static string SegmentSubject(SegmentCheckRequest segment) =>
        string.Create(CultureInfo.InvariantCulture, $"segment {segment.Index} (steps {segment.FromStep + 1}–{segment.ToStep})");

    private static string InputCid(JobSpec spec, string name) =>
        spec.Workload.Inputs.FirstOrDefault(i => i.Name == name)?.Cid ?? throw new InvalidDataException($"the spec has no input named {name}");

    private static ValidationReport Segment(ValidationTask task, JobSpec spec, TrainWorkload train, SegmentCheckRequest segment, Func<string, string> pathOf,
        ComputeOptions compute, CancellationToken cancellationToken)
    {
        string subject = SegmentSubject(segment);
        if (segment.ToStep <= segment.FromStep || segment.FromStep < 0 || segment.ToStep > train.Steps)
        {
            throw new InvalidDataException($"{subject} is not within the job's {train.Steps} steps");
        }

        TrainingData data = WorkloadRunner.LoadTrainingData(train, pathOf(InputCid(spec, train.Data)));
        ModelSpec model = WorkloadRunner.ModelSpecFor(train);
        TrainOptions options = WorkloadRunner.OptionsFor(train, compute);
        TrainingState start;
        if (segment.FromStep == 0)
        {
            start = Trainer.InitialState(model, data, options);
        }
        else
        {
            string cid = segment.StartCheckpointCid ?? throw new InvalidDataException($"{subject} starts after step {segment.FromStep} but names no checkpoint");
            start = WorkloadRunner.ReadCheckpoint(File.ReadAllBytes(pathOf(cid)));
            if (start.Step != segment.FromStep || start.RootHex() != segment.StartRoot)
            {
                return new ValidationReport(task.TaskId, task.JobId, subject, segment.ClaimedRoot, false, null,
                    $"the checkpoint for step {segment.FromStep} is at step {start.Step} with root {start.RootHex()}, not the committed {segment.StartRoot}");
            }
        }

        int steps = segment.ToStep - segment.FromStep;
        string end = Trainer.TrainSegment(model, data, options, start, steps, commitEvery: Math.Max(1, steps), cancellationToken: cancellationToken).EndRoot;
        bool agrees = end == segment.ClaimedRoot;
        return new ValidationReport(task.TaskId, task.JobId, subject, segment.ClaimedRoot, agrees, end,
            agrees ? $"re-executed {subject}: ends at the claimed root" : $"re-executed {subject}: ends at {end}, the claim is {segment.ClaimedRoot}");
    }

    private static ValidationReport Inference(ValidationTask task, JobSpec spec, InferWorkload infer, InferenceCheckRequest check, Func<string, string> pathOf,
        ComputeOptions compute)
    {
        (ModelSpec model, IReadOnlyList<NamedTensor> weights, string? vocabulary) = WorkloadRunner.ReadModel(pathOf(InputCid(spec, infer.Model)));
        string? dataCid = infer.Data is { } name ? InputCid(spec, name) : null;
        InferenceSpotCheck.Outcome outcome;
        if (check.Unit == "tokens")
        {
            // Generation: each sampled token must be the model's greedy choice after the prompt and the provider's own earlier tokens.
            string prompt = dataCid is not null ? File.ReadAllText(pathOf(dataCid), Encoding.UTF8) : infer.Prompt ?? "";
            string text = File.ReadAllText(pathOf(check.OutputCid), Encoding.UTF8);
            if (!text.StartsWith(prompt, StringComparison.Ordinal))
            {
                return new ValidationReport(task.TaskId, task.JobId, "generated tokens", check.OutputCid, false, null, "generated.txt does not begin with the job's prompt");
            }

            var chars = new CharVocabulary(vocabulary ?? throw new InvalidDataException("the model has no vocabulary"));
            int[] promptIds = chars.Encode(prompt), generated = chars.Encode(text[prompt.Length..]);
            int[] indices = [.. check.Indices.Where(i => i >= 0 && i < generated.Length)];
            outcome = InferenceSpotCheck.CheckGeneration(model, weights, promptIds, generated, indices, compute);
        }
        else if (check.Unit == "rows")
        {
            float[] features;
            using (FileStream stream = File.OpenRead(pathOf(dataCid ?? throw new InvalidDataException("a classification job names no data"))))
            {
                (features, _) = Digits.Read(stream);
            }

            int[] claimed = [.. File.ReadAllText(pathOf(check.OutputCid), Encoding.UTF8)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1)
                .Select(line => int.Parse(line.Split(',')[1], CultureInfo.InvariantCulture))];
            int[] indices = [.. check.Indices.Where(i => i >= 0 && i < claimed.Length)];
            outcome = InferenceSpotCheck.CheckClassification(model, weights, features, claimed, indices, compute);
        }
        else
        {
            throw new InvalidDataException($"unknown inference unit '{check.Unit}' (rows or tokens)");
        }

        string subject = outcome.FirstMismatch is { } at ? $"{check.Unit} {at}" : $"{outcome.Checked} sampled {check.Unit}";
        return new ValidationReport(task.TaskId, task.JobId, subject, check.OutputCid, outcome.Agrees, null,
            outcome.Agrees ? $"recomputed {outcome.Checked} of {outcome.Total} {check.Unit} bit for bit; all agree" : outcome.Detail ?? "mismatch");
    }
}
