using System.Text.Json;
using Kumo.Serialization;

namespace Kumo.Cli.Bench;

/// <summary>Benchmarks print one JSON line with snake_case keys.</summary>
internal static class BenchJson
{
    private static readonly JsonSerializerOptions Options = new(KumoJson.Options) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = false };

    public static string Line<T>(T value) => JsonSerializer.Serialize(value, Options);
}
