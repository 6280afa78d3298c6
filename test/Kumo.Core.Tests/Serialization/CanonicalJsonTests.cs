using System.Text;
using Kumo.Serialization;

namespace Kumo.Core.Tests.Serialization;

public class CanonicalJsonTests
{
    private static string Canon(string json) => Encoding.UTF8.GetString(CanonicalJson.Serialize(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void Rfc8785_sample_canonicalizes_as_in_the_rfc()
    {
        // RFC 8785 section 3.2.2's example input and output.
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string expected = "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],\"string\":\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}";
        Assert.Equal(expected, Canon(input));
    }

    [Fact]
    public void Members_are_sorted_by_utf16_code_units()
    {
        // RFC 8785 section 3.2.3's sorting example: keys ordered by UTF-16 code units, not by code points.
        const string input = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        string canonical = Canon(input);
        string[] order = ["\\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"];
        int last = -1;
        foreach (string key in order)
        {
            int at = canonical.IndexOf("\"" + key + "\"", StringComparison.Ordinal);
            Assert.True(at > last, $"key {key} out of order in {canonical}");
            last = at;
        }
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(1.0, "1")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(1e21, "1e+21")]
    [InlineData(1e20, "100000000000000000000")]
    [InlineData(123456789012345680000.0, "123456789012345680000")]
    [InlineData(1e-6, "0.000001")]
    [InlineData(1e-7, "1e-7")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(9007199254740992.0, "9007199254740992")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0 / 3.0, "0.3333333333333333")]
    public void Doubles_are_written_as_ecmascript_writes_them(double value, string expected)
    {
        Assert.Equal(expected, CanonicalJson.FormatDouble(value));
    }

    [Fact]
    public void Negative_zero_is_written_as_zero()
    {
        Assert.Equal("0", CanonicalJson.FormatDouble(-0.0));
    }

    [Fact]
    public void Whitespace_and_member_order_do_not_change_the_bytes()
    {
        Assert.Equal(Canon("{\"b\":[1,2,{\"y\":true,\"x\":null}],\"a\":\"s\"}"), Canon(" { \"a\" : \"s\" ,\n \"b\" : [ 1 , 2 , { \"x\" : null , \"y\" : true } ] } "));
    }

    [Fact]
    public void Integers_beyond_two_to_the_53_are_refused_not_rounded()
    {
        var e = Assert.Throws<CanonicalJsonException>(() => Canon("{\"amount\":9223372036854775807}"));
        Assert.Contains("2^53", e.Message, StringComparison.Ordinal);
        Assert.Equal("{\"amount\":9007199254740991}", Canon("{\"amount\":9007199254740991}"));
    }

    [Fact]
    public void Duplicate_member_names_are_refused()
    {
        Assert.ThrowsAny<Exception>(() => Canon("{\"a\":1,\"a\":2}"));
    }

    [Fact]
    public void Lone_surrogates_are_refused()
    {
        Assert.Throws<CanonicalJsonException>(() => Canon("{\"a\":\"\\ud800\"}"));
    }
}
