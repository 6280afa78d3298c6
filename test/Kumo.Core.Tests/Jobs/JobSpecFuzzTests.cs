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
    public void Mutated_specs_give_a_spec_or_errors_and_never_an_exception(int seed)
    {
        var random = new Random(seed);
        var uploaded = SampleSpecs.Full.Replace("path: ./words.txt", "cid: " + SampleSpecs.OtherCid, StringComparison.Ordinal);
        var json = JobSpecWriter.ToJson(JobSpecReader.Read(uploaded, "x").Spec!, indented: seed % 2 == 0);
        string[] originals = [SampleSpecs.Full, SampleSpecs.Minimal, json];

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
