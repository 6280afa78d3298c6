using FsCheck;
using FsCheck.Fluent;
using Kumo.Jobs;

namespace Kumo.Core.Tests.Jobs;

public class OutputGlobTests
{
    [Theory]
    [InlineData("out/*.txt", "out/a.txt")]
    [InlineData("out/*.txt", "out/.txt")]
    [InlineData("out/*.txt", "out/a.b.txt")]
    [InlineData("*", "a")]
    [InlineData("*.log", "run.log")]
    [InlineData("out/*", "out/anything")]
    [InlineData("out/a*b*c", "out/abc")]
    [InlineData("out/a*b*c", "out/aXbYbZc")]
    [InlineData("result.json", "result.json")]
    public void Star_matches_any_run_of_characters_within_one_segment(string pattern, string path) =>
        Assert.True(OutputGlob.IsMatch(pattern, path), $"'{pattern}' should match '{path}'");

    [Theory]
    [InlineData("out/*.txt", "out/sub/a.txt")]
    [InlineData("out/*.txt", "out/a.txt/b")]
    [InlineData("*", "out/a.txt")]
    [InlineData("*.log", "logs/run.log")]
    [InlineData("out/*", "out")]
    [InlineData("out/*.txt", "out/a.txtx")]
    [InlineData("out/*.txt", "other/a.txt")]
    [InlineData("out/a*b*c", "out/abcd")]
    public void Star_never_crosses_a_slash_and_must_cover_the_whole_segment(string pattern, string path) =>
        Assert.False(OutputGlob.IsMatch(pattern, path), $"'{pattern}' should not match '{path}'");

    [Theory]
    [InlineData("out/?.txt", "out/a.txt", true)]
    [InlineData("out/?.txt", "out/ab.txt", false)]
    [InlineData("out/?.txt", "out/.txt", false)]
    [InlineData("out/??", "out/ab", true)]
    [InlineData("out?a", "out/a", false)]
    [InlineData("?", "/", false)]
    public void Question_mark_matches_exactly_one_character_but_not_a_slash(string pattern, string path, bool expected) =>
        Assert.Equal(expected, OutputGlob.IsMatch(pattern, path));

    [Theory]
    [InlineData("**/*.log", "run.log")]
    [InlineData("**/*.log", "a/run.log")]
    [InlineData("**/*.log", "a/b/c/run.log")]
    [InlineData("model/**", "model/weights.bin")]
    [InlineData("model/**", "model/a/b/c.bin")]
    [InlineData("model/**", "model")]
    [InlineData("out/**/x.txt", "out/x.txt")]
    [InlineData("out/**/x.txt", "out/a/x.txt")]
    [InlineData("out/**/x.txt", "out/a/b/c/x.txt")]
    [InlineData("**", "a")]
    [InlineData("**", "a/b/c")]
    [InlineData("**/**/a", "a")]
    [InlineData("a/**/**/b", "a/x/y/b")]
    public void Double_star_segment_matches_zero_or_more_segments_at_start_middle_and_end(string pattern, string path) =>
        Assert.True(OutputGlob.IsMatch(pattern, path), $"'{pattern}' should match '{path}'");

    [Theory]
    [InlineData("**/*.log", "a/run.txt")]
    [InlineData("**/*.log", "run.log/x")]
    [InlineData("model/**", "models/a.bin")]
    [InlineData("model/**", "other/model/a.bin")]
    [InlineData("out/**/x.txt", "out/a/y.txt")]
    [InlineData("out/**/x.txt", "in/a/x.txt")]
    [InlineData("out/**/x.txt", "out/a/x.txt/z")]
    public void Double_star_still_needs_the_rest_of_the_pattern_to_match(string pattern, string path) =>
        Assert.False(OutputGlob.IsMatch(pattern, path), $"'{pattern}' should not match '{path}'");

    [Theory]
    [InlineData("out/**.txt", "out/a.txt", true)]
    [InlineData("out/**.txt", "out/sub/a.txt", false)]
    [InlineData("out/a**", "out/abc", true)]
    [InlineData("out/a**", "out/a/b", false)]
    public void Double_star_inside_a_segment_is_two_single_stars_and_stays_in_the_segment(string pattern, string path, bool expected) =>
        Assert.Equal(expected, OutputGlob.IsMatch(pattern, path));

    [Theory]
    [InlineData("out/*.txt", "out/A.TXT", false)]
    [InlineData("OUT/*.txt", "out/a.txt", false)]
    [InlineData("out/*.TXT", "out/a.TXT", true)]
    [InlineData("Model/**", "model/a", false)]
    [InlineData("readme.md", "README.md", false)]
    public void Matching_is_case_sensitive_like_the_file_system(string pattern, string path, bool expected) =>
        Assert.Equal(expected, OutputGlob.IsMatch(pattern, path));

    [Fact]
    public void Any_of_several_patterns_may_match()
    {
        string[] patterns = ["out/*.txt", "model/**"];
        Assert.True(OutputGlob.IsMatchAny(patterns, "out/a.txt"));
        Assert.True(OutputGlob.IsMatchAny(patterns, "model/x/y.bin"));
        Assert.False(OutputGlob.IsMatchAny(patterns, "out/sub/a.txt"));
        Assert.False(OutputGlob.IsMatchAny([], "out/a.txt"));
    }

    [Fact]
    public void A_literal_pattern_matches_exactly_its_own_path()
    {
        Gen<string> segment = Gen.Elements("out", "a.txt", "b", "model", "x.log", "sub-dir", "c_d");
        Gen<string> path = segment.ArrayOf().Where(a => a.Length > 0).Select(a => string.Join('/', a));

        Prop.ForAll(path.ToArbitrary(), path.ToArbitrary(), (p, q) =>
            OutputGlob.IsMatch(p, p) && OutputGlob.IsMatch(p, q) == (p == q))
            .QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Double_star_matches_every_path_and_a_prefix_with_double_star_matches_everything_under_it()
    {
        Gen<string> segment = Gen.Elements("out", "a.txt", "b", "model", "x.log");
        Gen<string[]> segments = segment.ArrayOf();

        Prop.ForAll(segments.ToArbitrary(), segments.ToArbitrary(), (prefix, rest) =>
        {
            string underPrefix = string.Join('/', prefix.Concat(rest));
            string pattern = prefix.Length == 0 ? "**" : string.Join('/', prefix) + "/**";
            return OutputGlob.IsMatch("**", underPrefix) && OutputGlob.IsMatch(pattern, underPrefix);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task Many_double_star_segments_match_in_bounded_time()
    {
        // A tenant writes the patterns and the provider runs them over every file the job leaves: trying every
        // split for every '**' would take years here ((**/a) 30 times against 40 segments that never end in b).
        string pattern = string.Join('/', Enumerable.Repeat("**/a", 30)) + "/b";
        string miss = string.Join('/', Enumerable.Repeat("a", 40));
        string hit = miss + "/b";

        var run = Task.Run(() => (Miss: OutputGlob.IsMatch(pattern, miss), Hit: OutputGlob.IsMatch(pattern, hit)));
        Task first = await Task.WhenAny(run, Task.Delay(TimeSpan.FromSeconds(10)));

        Assert.True(first == run, "matching 30 '**' segments against 40 path segments took over 10 s");
        (bool missed, bool hitResult) = await run;
        Assert.False(missed);
        Assert.True(hitResult);
    }
}
