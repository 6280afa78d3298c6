using System.Text;
using Kumo.Verification.Inference;

namespace Kumo.Verification.Tests.Inference;

public class InferenceCanaryTests
{
    [Fact]
    public void A_wrong_row_claims_the_next_class_for_the_first_sampled_row_and_changes_nothing_else()
    {
        const string csv = "row,class,confidence\n0,3,0.91\n1,7,0.55\n2,9,0.80\n";

        (byte[] wrong, int changed) = InferenceCanary.WrongOutput(Encoding.UTF8.GetBytes(csv), "rows", [1, 2]);

        Assert.Equal(1, changed);
        Assert.Equal("row,class,confidence\n0,3,0.91\n1,8,0.55\n2,9,0.80\n", Encoding.UTF8.GetString(wrong));
    }

    [Fact]
    public void A_wrong_token_swaps_the_sampled_generated_character_for_another_of_the_texts_own()
    {
        const string text = "the prompt: abab";

        (byte[] wrong, int changed) = InferenceCanary.WrongOutput(Encoding.UTF8.GetBytes(text), "tokens", [2], promptChars: "the prompt: ".Length);

        Assert.Equal(2, changed);
        string after = Encoding.UTF8.GetString(wrong);
        Assert.Equal(text.Length, after.Length);
        int at = "the prompt: ".Length + 2;
        Assert.NotEqual(text[at], after[at]);
        Assert.Contains(after[at], text); // still in the model's vocabulary
        Assert.Equal(text.Remove(at, 1), after.Remove(at, 1));
    }

    [Theory]
    [InlineData("rows", "row,class\n0,1\n", 5, "no row 5")]
    [InlineData("rows", "row,class\n0,x\n", 0, "no row 0")]
    [InlineData("tokens", "aaaa", 1, "no second character")]
    [InlineData("tokens", "abc", 9, "no character 9")]
    [InlineData("pixels", "abc", 0, "unknown inference unit 'pixels'")]
    public void Output_that_cannot_be_made_wrong_is_refused_with_the_reason(string unit, string output, int index, string reason)
    {
        var e = Assert.Throws<InvalidDataException>(() => InferenceCanary.WrongOutput(Encoding.UTF8.GetBytes(output), unit, [index]));

        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void No_sampled_output_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => InferenceCanary.WrongOutput("row,class\n0,1\n"u8, "rows", []));
    }
}
