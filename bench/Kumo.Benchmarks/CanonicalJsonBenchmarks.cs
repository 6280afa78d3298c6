using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Kumo.Serialization;

namespace Kumo.Benchmarks;

/// <summary>
/// RFC 8785 canonical form of a parsed document against System.Text.Json writing the same element as it stands
/// (no member sorting, no number reformatting): the ratio is the price of a canonical form.
/// </summary>
[MemoryDiagnoser]
public class CanonicalJsonBenchmarks
{
    private JsonDocument _document = null!;

    [Params(1, 64)]
    public int SizeKiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _document = JsonDocument.Parse(Document(SizeKiB * 1024));
        byte[] canonical = CanonicalJson.Serialize(_document.RootElement);
        if (canonical.Length < SizeKiB * 1024 * 9 / 10)
        {
            throw new InvalidOperationException($"document is {canonical.Length} bytes, wanted about {SizeKiB} KiB");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _document.Dispose();

    [Benchmark(Baseline = true)]
    public byte[] JsonSerializer_as_is() => JsonSerializer.SerializeToUtf8Bytes(_document.RootElement);

    [Benchmark]
    public byte[] CanonicalJson_serialize() => CanonicalJson.Serialize(_document.RootElement);

    /// <summary>
    /// A document shaped like the hub's messages: objects with members out of order, nested arrays, strings with
    /// escapes and non-ASCII, integers and fractions. Deterministic, about <paramref name="bytes"/> long.
    /// </summary>
    private static string Document(int bytes)
    {
        var json = new StringBuilder("{\"version\":\"kumo/v1\",\"items\":[");
        var random = new Random(42);
        for (int i = 0; json.Length < bytes - 200; i++)
        {
            if (i > 0)
            {
                json.Append(',');
            }

            json.Append("{\"zeta\":").Append(random.Next(1_000_000))
                .Append(",\"name\":\"item-").Append(i).Append(" \\\"quoted\\\" é ☁\"")
                .Append(",\"alpha\":").Append((random.NextDouble() * 1000).ToString("R", System.Globalization.CultureInfo.InvariantCulture))
                .Append(",\"tags\":[\"a\",\"b\",").Append(i % 7).Append("],\"ok\":").Append(i % 2 == 0 ? "true" : "false")
                .Append(",\"nested\":{\"y\":null,\"x\":").Append(i).Append("}}");
        }

        return json.Append("],\"count\":0}").ToString();
    }
}
