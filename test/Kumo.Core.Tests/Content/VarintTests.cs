using Kumo.Content;

namespace Kumo.Core.Tests.Content;

public class VarintTests
{
    public static TheoryData<ulong, string> Vectors => new()
    {
        // From the multiformats unsigned-varint specification.
        { 0UL, "00" },
        { 1UL, "01" },
        { 127UL, "7f" },
        { 128UL, "8001" },
        { 255UL, "ff01" },
        { 300UL, "ac02" },
        { 16384UL, "808001" },
        { (1UL << 63) - 1, "ffffffffffffffff7f" },
    };

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Writes_the_specified_bytes(ulong value, string hex)
    {
        Span<byte> buffer = stackalloc byte[Varint.MaxWriteLength];
        int written = Varint.Write(buffer, value);

        Assert.Equal(hex, Convert.ToHexStringLower(buffer[..written]));
        Assert.Equal(written, Varint.GetLength(value));
    }

    [Theory]
    [MemberData(nameof(Vectors))]
    public void Reads_back_what_it_writes(ulong value, string hex)
    {
        byte[] bytes = [.. Convert.FromHexString(hex), 0xEE];

        Assert.True(Varint.TryRead(bytes, out ulong read, out int length));
        Assert.Equal(value, read);
        Assert.Equal(bytes.Length - 1, length);
    }

    [Theory]
    [InlineData("", "empty input")]
    [InlineData("80", "truncated")]
    [InlineData("ffff", "truncated")]
    [InlineData("8000", "not minimal")]
    [InlineData("ff80808000", "not minimal")]
    [InlineData("ffffffffffffffffff01", "longer than nine bytes")]
    public void Refuses_malformed_input(string hex, string why)
    {
        Assert.False(Varint.TryRead(Convert.FromHexString(hex), out _, out int length), why);
        Assert.Equal(0, length);
    }

    [Fact]
    public void Writes_a_full_64_bit_value_in_ten_bytes_as_protobuf_does()
    {
        Span<byte> buffer = stackalloc byte[Varint.MaxWriteLength];

        Assert.Equal(10, Varint.Write(buffer, ulong.MaxValue));
        Assert.Equal("ffffffffffffffffff01", Convert.ToHexStringLower(buffer));
    }
}
