using System.Text;
using Kumo.Provider.Sandbox;

namespace Kumo.Provider.Tests.Sandbox;

public sealed class OutputLineSplitterTests
{
    private static List<string> Split(int max, params string[] chunks)
    {
        var splitter = new OutputLineSplitter(max);
        var lines = new List<string>();
        foreach (var chunk in chunks)
        {
            splitter.Push(Encoding.UTF8.GetBytes(chunk), lines);
        }

        if (splitter.Flush() is { } last)
        {
            lines.Add(last);
        }

        return lines;
    }

    [Fact]
    public void Lines_are_split_on_newlines_across_chunks_and_crlf_is_trimmed()
    {
        Assert.Equal(["hello", "world", "", "partial"], Split(64, "hel", "lo\nwor", "ld\r\n\n", "partial"));
    }

    [Fact]
    public void Empty_input_yields_nothing()
    {
        Assert.Empty(Split(64));
        Assert.Empty(Split(64, ""));
    }

    [Fact]
    public void A_long_line_is_cut_every_max_bytes()
    {
        var lines = Split(8, new string('a', 20) + "\nb");

        Assert.Equal(["aaaaaaaa", "aaaaaaaa", "aaaa", "b"], lines);
    }

    [Fact]
    public void A_line_of_exactly_max_bytes_is_one_line()
    {
        Assert.Equal(["aaaaaaaa", "b"], Split(8, "aaaaaaaa", "\nb\n"));
    }

    [Fact]
    public void Cuts_never_split_a_multibyte_character()
    {
        // "€" is 3 bytes: 2 ASCII + 2 euros = 8 bytes, the cut at 7 must move back to 5.
        var lines = Split(7, "ab€€€\n");

        Assert.Equal(["ab€", "€€"], lines);
        Assert.DoesNotContain(lines, l => l.Contains('\uFFFD', StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_utf8_becomes_replacement_characters()
    {
        var splitter = new OutputLineSplitter(64);
        var lines = new List<string>();
        splitter.Push([0x61, 0xFF, 0x62, 0x0A], lines);

        Assert.Equal(["a\uFFFDb"], lines);
    }

    [Fact]
    public void Default_maximum_is_16_KiB()
    {
        var lines = Split(OutputLineSplitter.DefaultMaxLineBytes, new string('x', 40_000));

        Assert.Equal([16_384, 16_384, 7_232], lines.Select(l => l.Length));
    }
}
