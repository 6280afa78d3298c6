using FsCheck;
using FsCheck.Fluent;
using Kumo.Hardware;

namespace Kumo.Core.Tests.Hardware;

public class GpuModelPatternTests
{
    [Theory]
    [InlineData("H100", "NVIDIA H100 80GB HBM3")]
    [InlineData("H100", "NVIDIA H100 PCIe")]
    [InlineData("A100", "NVIDIA A100-SXM4-40GB")]
    [InlineData("A10", "NVIDIA A10")]
    [InlineData("RTX 4090", "NVIDIA GeForce RTX 4090")]
    [InlineData("NVIDIA H100", "NVIDIA H100 PCIe")]
    [InlineData("A100 SXM4", "NVIDIA A100-SXM4-40GB")]
    [InlineData("A100-SXM4", "NVIDIA A100-SXM4-40GB")]
    [InlineData("a100_sxm4", "NVIDIA A100-SXM4-40GB")]
    [InlineData("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3")]
    public void Words_of_the_pattern_found_in_order_in_the_model_match(string pattern, string model) =>
        Assert.True(GpuModelPattern.Matches(pattern, model), $"'{pattern}' should match '{model}'");

    [Theory]
    [InlineData("A10", "NVIDIA A100-SXM4-40GB")]
    [InlineData("A100", "NVIDIA A10")]
    [InlineData("H10", "NVIDIA H100 PCIe")]
    [InlineData("H100", "NVIDIA H200")]
    [InlineData("4090 RTX", "NVIDIA GeForce RTX 4090")]
    [InlineData("RTX 4080", "NVIDIA GeForce RTX 4090")]
    [InlineData("H100 PCIe", "NVIDIA H100 80GB HBM3")]
    [InlineData("AMD H100", "NVIDIA H100 PCIe")]
    public void Partial_words_reordered_words_and_other_models_do_not_match(string pattern, string model) =>
        Assert.False(GpuModelPattern.Matches(pattern, model), $"'{pattern}' should not match '{model}'");

    [Fact]
    public void Words_must_be_adjacent_in_the_model()
    {
        // "RTX 4090" in "RTX 4090 D" matches as a run of words; "GeForce 4090" skips "RTX" and does not.
        Assert.True(GpuModelPattern.Matches("RTX 4090", "NVIDIA GeForce RTX 4090 D"));
        Assert.False(GpuModelPattern.Matches("GeForce 4090", "NVIDIA GeForce RTX 4090"));
    }

    [Theory]
    [InlineData("H100*", "NVIDIA H100 80GB HBM3")]
    [InlineData("H100*", "NVIDIA H100 PCIe")]
    [InlineData("H100*", "H100")]
    [InlineData("*4090", "NVIDIA GeForce RTX 4090")]
    [InlineData("A100-SXM4-*", "NVIDIA A100-SXM4-40GB")]
    [InlineData("A100-SXM4-*", "NVIDIA A100-SXM4-80GB")]
    [InlineData("NVIDIA H100*", "NVIDIA H100 PCIe")]
    [InlineData("*", "anything at all")]
    [InlineData("*H100*", "NVIDIA H100 80GB HBM3")]
    [InlineData("A100*80GB", "NVIDIA A100-SXM4-80GB")]
    [InlineData("h100 *", "nvidia h100 pcie")]
    public void Wildcard_patterns_are_globs_over_the_name_with_or_without_the_vendor(string pattern, string model) =>
        Assert.True(GpuModelPattern.Matches(pattern, model), $"'{pattern}' should match '{model}'");

    [Theory]
    [InlineData("H100*", "NVIDIA H200")]
    [InlineData("H100*", "NVIDIA GH100")]
    [InlineData("*4090", "NVIDIA GeForce RTX 4090 D")]
    [InlineData("A100-SXM4-*", "NVIDIA A100-PCIE-40GB")]
    [InlineData("A100-SXM4-*", "NVIDIA A100-SXM4")]
    [InlineData("GeForce*", "NVIDIA H100 PCIe")]
    [InlineData("A100*80GB", "NVIDIA A100-SXM4-40GB")]
    public void Wildcard_patterns_must_cover_the_whole_name(string pattern, string model) =>
        Assert.False(GpuModelPattern.Matches(pattern, model), $"'{pattern}' should not match '{model}'");

    [Theory]
    [InlineData("h100", "NVIDIA H100 PCIe")]
    [InlineData("H100", "nvidia h100 pcie")]
    [InlineData("rtx 4090", "NVIDIA GeForce RTX 4090")]
    [InlineData("h100*", "NVIDIA H100 80GB HBM3")]
    [InlineData("a100-sxm4-*", "NVIDIA A100-SXM4-40GB")]
    [InlineData("H100*", "nvidia h100 80gb hbm3")]
    public void Matching_ignores_case(string pattern, string model) =>
        Assert.True(GpuModelPattern.Matches(pattern, model), $"'{pattern}' should match '{model}'");

    [Fact]
    public void Surrounding_spaces_on_pattern_and_model_are_ignored()
    {
        Assert.True(GpuModelPattern.Matches("  H100  ", " NVIDIA H100 PCIe "));
        Assert.True(GpuModelPattern.Matches(" H100* ", "NVIDIA H100 PCIe  "));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData("\t")]
    public void An_empty_pattern_never_matches(string pattern)
    {
        Assert.False(GpuModelPattern.Matches(pattern, "NVIDIA H100 PCIe"));
        Assert.False(GpuModelPattern.Matches(pattern, ""));
    }

    [Fact]
    public void A_pattern_of_only_separators_never_matches()
    {
        Assert.False(GpuModelPattern.Matches("-", "NVIDIA H100 PCIe"));
        Assert.False(GpuModelPattern.Matches("_ -", "NVIDIA A100-SXM4-40GB"));
    }

    [Fact]
    public void An_empty_pattern_list_matches_any_model()
    {
        Assert.True(GpuModelPattern.MatchesAny([], "NVIDIA H100 PCIe"));
        Assert.True(GpuModelPattern.MatchesAny([], "AMD Instinct MI300X"));
        Assert.True(GpuModelPattern.MatchesAny([], ""));
    }

    [Fact]
    public void A_pattern_list_matches_when_any_of_its_patterns_does()
    {
        string[] patterns = ["A100-SXM4-*", "H100*"];
        Assert.True(GpuModelPattern.MatchesAny(patterns, "NVIDIA H100 PCIe"));
        Assert.True(GpuModelPattern.MatchesAny(patterns, "NVIDIA A100-SXM4-80GB"));
        Assert.False(GpuModelPattern.MatchesAny(patterns, "NVIDIA GeForce RTX 4090"));
        Assert.False(GpuModelPattern.MatchesAny([""], "NVIDIA H100 PCIe"));
    }

    [Fact]
    public void Matches_never_throws_on_random_strings()
    {
        // Strings drawn mostly from the characters that matter to the matcher, plus anything at all.
        Gen<char> interesting = Gen.Elements('*', '?', ' ', '-', '_', 'a', 'A', 'h', 'H', '1', '0', 'İ', 'ß', '\0');
        Gen<string> text = Gen.OneOf(
            Gen.ArrayOf(interesting).Select(cs => new string(cs)),
            ArbMap.Default.GeneratorFor<string>().Select(s => s ?? ""));

        Prop.ForAll(text.ToArbitrary(), text.ToArbitrary(), (pattern, model) =>
        {
            _ = GpuModelPattern.Matches(pattern, model);
            _ = GpuModelPattern.MatchesAny([pattern], model);
            return true;
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_model_name_always_matches_itself_and_with_a_trailing_star()
    {
        Gen<string> words = Gen.Elements("NVIDIA", "GeForce", "RTX", "4090", "H100", "A100-SXM4-40GB", "PCIe", "80GB", "HBM3", "L4")
            .ArrayOf()
            .Where(a => a.Length > 0)
            .Select(a => string.Join(' ', a));

        Prop.ForAll(words.ToArbitrary(), model =>
            GpuModelPattern.Matches(model, model) && GpuModelPattern.Matches(model + "*", model))
            .QuickCheckThrowOnFailure();
    }
}
