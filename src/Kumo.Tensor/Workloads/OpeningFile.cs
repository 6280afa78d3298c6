using System.Text.Json;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Models;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Workloads;

/// <summary>
/// An <see cref="OperatorOpening"/> as a file a dispute party uploads: a safetensors file of the revealed tensors, with
/// the step, the operator, the earlier results and the leaf digests as JSON under the metadata key "kumo.opening".
/// </summary>
public static class OpeningFile
{
    private const string OpeningKey = "kumo.opening";

    public static byte[] Write(OperatorOpening opening)
    {
        ArgumentNullException.ThrowIfNull(opening);
        var header = new Header(opening.Step, opening.Operator, opening.Results, opening.StateLeaves, opening.GradientLeaves);
        return SafeTensorsWriter.ToBytes(
            opening.Tensors.Select(t => TensorEntry.FromFloat32(t.Name, t.Shape.Select(d => (long)d), t.Data)),
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [OpeningKey] = JsonSerializer.Serialize(header),
                ["kumo.engine"] = WorkloadRunner.EngineVersion,
            });
    }

    /// <exception cref="WorkloadException">Not an opening file, or one of another engine version.</exception>
    /// <exception cref="SafeTensorsFormatException">Not a safetensors file.</exception>
    public static OperatorOpening Read(byte[] file)
    {
        SafeTensorsFile parsed = SafeTensorsFile.Parse(file);
        if (parsed.Metadata.GetValueOrDefault("kumo.engine") is var engine && engine != WorkloadRunner.EngineVersion)
        {
            throw new WorkloadException($"the opening was written by engine version '{engine ?? "unknown"}', not {WorkloadRunner.EngineVersion}");
        }

        Header? header;
        try
        {
            header = parsed.Metadata.TryGetValue(OpeningKey, out string? json) ? JsonSerializer.Deserialize<Header>(json) : null;
        }
        catch (JsonException e)
        {
            throw new WorkloadException($"the opening's {OpeningKey} is not valid: {e.Message}");
        }

        if (header is not { Results: not null, StateLeaves: not null, GradientLeaves: not null })
        {
            throw new WorkloadException($"an opening file names its step, operator, results and leaves in {OpeningKey}");
        }

        NamedTensor[] tensors;
        try
        {
            tensors = [.. parsed.Tensors.Values.Select(t => new NamedTensor(t.Name, [.. t.Shape.Select(d => checked((int)d))], t.ToFloat32Array()))];
        }
        catch (Exception e) when (e is OverflowException or InvalidOperationException or NotSupportedException)
        {
            throw new WorkloadException($"an opening's tensors are fp32 with dimensions below 2³¹: {e.Message}", e);
        }
        return new OperatorOpening(header.Step, header.Operator, header.Results, header.StateLeaves, header.GradientLeaves, tensors);
    }

    private sealed record Header(int Step, int Operator, IReadOnlyList<string> Results, IReadOnlyList<LeafDigest> StateLeaves, IReadOnlyList<LeafDigest> GradientLeaves);
}
