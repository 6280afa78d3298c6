using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

/// <summary>
/// Random damage to valid specs: the reader must never throw, and must either return a valid spec or errors that
/// point into the text.
/// </summary>
public class JobSpecFuzzTests
{
    private const string Significant = " \t\n:-[]{},#&*!|>'\"%@`?~\\0123456789aZ.é";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void Mutated_specs_give_a_spec_or_errors_and_never_an_exception(int seed)
    {
        var random = new Random(seed);
        var uploaded = SampleSpecs.Full.Replace("path: ./words.txt", "cid: " + SampleSpecs.OtherCid, StringComparison.Ordinal);
        var json = JobSpecWriter.ToJson(JobSpecReader.Read(uploaded, "x").Spec!, indented: seed % 2 == 0);
        var clusterJson = JobSpecWriter.ToJson(JobSpecReader.Read(SampleSpecs.Cluster, "x").Spec!, indented: seed % 2 == 1);
        var performance = SampleSpecs.Cluster.Replace("mode: auction", "mode: performance\n  perBenchmarkHour: 0.02", StringComparison.Ordinal);
        string[] originals = [SampleSpecs.Full, SampleSpecs.Minimal, json, SampleSpecs.Cluster, clusterJson, performance];
        Assert.All(originals, original => Assert.True(JobSpecReader.Read(original, "x").Succeeded, original));

        for (var i = 0; i < 1000; i++)
        {
            var text = originals[random.Next(originals.Length)];
            var rounds = random.Next(1, 4);
            for (var r = 0; r < rounds; r++)
            {
                text = Mutate(text, random);
            }

            JobSpecReadResult result;
            try
            {
                result = JobSpecReader.Read(text, "fuzz.yaml");
            }
            catch (Exception e)
            {
                Assert.Fail($"seed {seed}, case {i}: the reader threw {e}\n--- text ---\n{text}");
                throw;
            }

            if (result.Succeeded)
            {
                Assert.Empty(result.Errors);
                Assert.Empty(JobSpecValidator.Validate(result.Spec));
            }
            else
            {
                Assert.NotEmpty(result.Errors);
                var lineCount = text.Split('\n').Length + 1;
                Assert.All(result.Errors, e =>
                {
                    Assert.InRange(e.Line, 1, lineCount);
                    Assert.True(e.Column >= 1, e.ToString());
                    Assert.False(string.IsNullOrWhiteSpace(e.Message));
                });
            }
        }
    }

    /// <summary>Odd values for every field of the new parts: each gives a spec or errors at the value, never an exception.</summary>
    [Fact]
    public void Odd_values_in_the_market_fields_give_errors_and_never_an_exception()
    {
        string[] fields =
        [
            "cluster:\n  nodes: {0}", "cluster:\n  nodes: 2\n  maxRtt: {0}", "market:\n  mode: {0}",
            "market:\n  window: {0}", "market:\n  accept: {0}", "market:\n  mode: performance\n  perBenchmarkHour: {0}",
            "market:\n  minReputation: {0}", "market:\n  regions: [{0}]", "market:\n  auditor: {0}\n  attested: {{a: b}}",
            "market:\n  auditor: " + SampleSpecs.Auditor + "\n  attested: {{{0}: {0}}}", "checkpoint:\n  path: {0}",
            "checkpoint:\n  path: c\n  every: {0}", "retries: {0}",
        ];
        string[] values =
        [
            "\"\"", "-", "-0", "0", "0.", ".5", "1.", "1e999", "-1e-999", ".nan", ".inf", "-.inf", "0x10", "0o17", "~",
            "[]", "{}", "[1]", "{a: 1}", "true", "99999999999999999999999999999999999999", "9223372036854775808",
            "2147483648", "-2147483649", "99999999999999999999999999999999ms", "0.00000000000000000000000000001ms",
            "1e3ms", "1.5.5ms", "5msms", "\"\\u0000\"", "\"١٢\"", "\"１\"", "kumo1", "\"a/\u00e9/b\"", "'/..'", "\"\\ud800\"",
        ];
        foreach (var field in fields)
        {
            foreach (var value in values)
            {
                var text = SampleSpecs.MinimalPlus(string.Format(System.Globalization.CultureInfo.InvariantCulture, field, value));
                JobSpecReadResult result;
                try
                {
                    result = JobSpecReader.Read(text, "odd.yaml");
                }
                catch (Exception e)
                {
                    Assert.Fail($"the reader threw {e}\n--- text ---\n{text}");
                    throw;
                }
                Assert.True(result.Succeeded || result.Errors.All(e => e.Line >= 1 && e.Column >= 1), result.ToString());
                if (result.Succeeded)
                {
                    Assert.Empty(JobSpecValidator.Validate(result.Spec));
                    Assert.Equal(result.Spec, JobSpecReader.Read(JobSpecWriter.ToJson(result.Spec), "wire.json").Spec);
                }
            }
        }
    }

    private static string Mutate(string text, Random random)
    {
        if (text.Length == 0)
        {
            return Significant[random.Next(Significant.Length)].ToString();
        }
        var at = random.Next(text.Length);
        var lines = text.Split('\n');
        switch (random.Next(6))
        {
            case 0:
                return text.Remove(at, 1);
            case 1:
                return text.Insert(at, Significant[random.Next(Significant.Length)].ToString());
            case 2:
                return string.Concat(text.AsSpan(0, at), Significant[random.Next(Significant.Length)].ToString(), text.AsSpan(at + 1));
            case 3:
            {
                var a = random.Next(lines.Length);
                var b = random.Next(lines.Length);
                (lines[a], lines[b]) = (lines[b], lines[a]);
                return string.Join('\n', lines);
            }
            case 4:
            {
                var line = random.Next(lines.Length);
                return string.Join('\n', lines.Take(line + 1).Append(lines[line]).Concat(lines.Skip(line + 1)));
            }
            default:
                return string.Join('\n', lines.Where((_, index) => index != random.Next(lines.Length)));
        }
    }
}
