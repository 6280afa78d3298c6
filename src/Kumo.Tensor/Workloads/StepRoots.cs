using System.Text.Json;

namespace Kumo.Tensor.Workloads;

/// <summary>
/// A train job's <c>out/step-roots.json</c>: the commitment root after every step it ran, in order —
/// <c>{"first_step": 1, "roots": ["…64 hex…", …]}</c>, root i being the one after step first_step + i. It is part of
/// the provider's signed result (by CID), so every step is fixed before any is drawn for a check; the roots at
/// checkpoint steps must equal commitments.json's.
/// </summary>
public sealed record StepRoots(int FirstStep, IReadOnlyList<string> Roots)
{
    /// <summary>The step of the last root.</summary>
    public int LastStep => FirstStep + Roots.Count - 1;

    /// <summary>The root after <paramref name="step"/> (which must be covered).</summary>
    public string RootAfter(int step) => Roots[step - FirstStep];

    /// <summary>Whether the file covers <paramref name="step"/>.</summary>
    public bool Covers(int step) => step >= FirstStep && step <= LastStep;

    /// <summary>The file's text (compact: one line).</summary>
    public static string ToJson(int firstStep, IReadOnlyList<string> roots)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("first_step", firstStep);
            json.WriteStartArray("roots");
            foreach (string root in roots)
            {
                json.WriteStringValue(root);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    /// <summary>Reads the file.</summary>
    /// <exception cref="InvalidDataException">It is not a step-roots file: what is wrong, and where.</exception>
    public static StepRoots Parse(ReadOnlySpan<byte> utf8)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(utf8.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("first_step", out JsonElement first) || !first.TryGetInt32(out int firstStep) || firstStep < 1
                || !root.TryGetProperty("roots", out JsonElement array) || array.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException("step-roots.json must be {\"first_step\": N ≥ 1, \"roots\": [...]}");
            }

            var roots = new List<string>(array.GetArrayLength());
            foreach (JsonElement element in array.EnumerateArray())
            {
                if (element.GetString() is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigitLower))
                {
                    throw new InvalidDataException($"step-roots.json: the root after step {firstStep + roots.Count} is not 64 lowercase hex digits");
                }

                roots.Add(hex);
            }

            return roots.Count == 0 ? throw new InvalidDataException("step-roots.json names no roots") : new StepRoots(firstStep, roots);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"step-roots.json is not JSON: {e.Message}", e);
        }
    }
}
