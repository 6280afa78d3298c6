using System.Text.Json;

namespace Kumo.Tensor.Workloads;

/// <summary>
/// A train job's <c>out/step-roots.json</c>: the commitment root after every <paramref name="Every"/>-th step it ran, in
/// order — <c>{"first_step": 20, "every": 20, "roots": ["…64 hex…", …]}</c>, root i being the one after step
/// first_step + i·every (<c>every</c> may be left out for 1). It is part of the provider's signed result (by CID), so
/// those steps are fixed before any is drawn for a check; the roots at checkpoint steps must equal commitments.json's.
/// </summary>
public sealed record StepRoots(int FirstStep, int Every, IReadOnlyList<string> Roots)
{
    /// <summary>The step of the last root.</summary>
    public int LastStep => FirstStep + ((Roots.Count - 1) * Every);

    /// <summary>The root after <paramref name="step"/> (which must be covered).</summary>
    public string RootAfter(int step) => Covers(step) ? Roots[(step - FirstStep) / Every]
        : throw new ArgumentOutOfRangeException(nameof(step), $"step-roots.json has no root after step {step}");

    /// <summary>Whether the file has the root after <paramref name="step"/>.</summary>
    public bool Covers(int step) => step >= FirstStep && step <= LastStep && (step - FirstStep) % Every == 0;

    /// <summary>
    /// The interval a run publishes step roots at: about ten roots a segment, so the largest divisor of the segment's
    /// steps k (the greatest common divisor of the run's steps and its checkpoint interval, so that every checkpoint and
    /// the last step have a root) that is at most k/10. A root hashes the whole state, about what a step of a small model
    /// costs, so a root after every step would cost more training time than the checks it shortens save; at ten a
    /// segment it costs about a tenth of that, and a check still re-executes (k + k/10)/2 steps on average, not k.
    /// </summary>
    public static int IntervalFor(int steps, int checkpointEvery)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        int k = checkpointEvery > 0 ? (int)System.Numerics.BigInteger.GreatestCommonDivisor(steps, checkpointEvery) : steps;
        for (int c = Math.Max(1, k / 10); c > 1; c--)
        {
            if (k % c == 0)
            {
                return c;
            }
        }

        return 1;
    }

    /// <summary>The file's text (compact: one line).</summary>
    public static string ToJson(int firstStep, int every, IReadOnlyList<string> roots)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("first_step", firstStep);
            json.WriteNumber("every", every);
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
                || !root.TryGetProperty("first_step", out JsonElement first) || first.ValueKind != JsonValueKind.Number || !first.TryGetInt32(out int firstStep) || firstStep < 1
                || !root.TryGetProperty("roots", out JsonElement array) || array.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException("step-roots.json must be {\"first_step\": N ≥ 1, \"every\": N ≥ 1, \"roots\": [...]}");
            }

            int every = 1;
            if (root.TryGetProperty("every", out JsonElement interval) && (interval.ValueKind != JsonValueKind.Number || !interval.TryGetInt32(out every) || every < 1))
            {
                throw new InvalidDataException("step-roots.json: every must be a whole number of steps ≥ 1");
            }

            var roots = new List<string>(array.GetArrayLength());
            foreach (JsonElement element in array.EnumerateArray())
            {
                if (element.GetString() is not { Length: 64 } hex || !hex.All(char.IsAsciiHexDigitLower))
                {
                    throw new InvalidDataException($"step-roots.json: the root after step {firstStep + (roots.Count * every)} is not 64 lowercase hex digits");
                }

                roots.Add(hex);
            }

            return roots.Count == 0 ? throw new InvalidDataException("step-roots.json names no roots") : new StepRoots(firstStep, every, roots);
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"step-roots.json is not JSON: {e.Message}", e);
        }
    }
}
