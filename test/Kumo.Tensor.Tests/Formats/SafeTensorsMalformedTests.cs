using System.Text;
using Kumo.Tensor.Formats;
using static Kumo.Tensor.Tests.Formats.SafeTensorsBytes;

namespace Kumo.Tensor.Tests.Formats;

/// <summary>
/// Hostile and broken files, one fault each: every reader refuses them with a <see cref="SafeTensorsFormatException"/>
/// whose message names the fault, and none allocates on a length the file does not back up.
/// </summary>
public sealed class SafeTensorsMalformedTests
{
    private const string W = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";

    private static byte[] Good() => SafeTensorsWriter.ToBytes(
        [TensorEntry.FromFloat32("a", [2, 3], [1, 2, 3, 4, 5, 6]), TensorEntry.FromFloat32("b", [4], [7, 8, 9, 10])],
        new Dictionary<string, string> { ["format"] = "pt" });

    [Fact]
    public void The_well_formed_baseline_is_accepted_by_every_reader()
    {
        foreach ((string how, Func<byte[], SafeTensorsFile> read) in Readers())
        {
            Assert.True(read(Good()).Tensors.Count == 2, how);
            Assert.Single(read(File(W, new byte[8])).Tensors);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(40)]
    [InlineData(-41)]
    [InlineData(-40)]
    [InlineData(-1)]
    public void A_file_cut_short_anywhere_is_refused(int cut)
    {
        byte[] good = Good();
        int length = cut >= 0 ? cut : good.Length + cut;
        foreach ((string how, Func<byte[], SafeTensorsFile> read) in Readers())
        {
            var ex = Assert.Throws<SafeTensorsFormatException>(() => read(good[..length]));
            Assert.True(ex.Message.Contains("short", StringComparison.Ordinal) || ex.Message.Contains("truncated", StringComparison.Ordinal)
                || ex.Message.Contains("past the end", StringComparison.Ordinal), $"{how} at {length}: {ex.Message}");
        }
    }

    [Fact]
    public void Cutting_inside_the_data_names_the_tensor_that_no_longer_fits()
    {
        byte[] good = Good();
        var ex = AssertRefused(good[..^1], "truncated", sameForStreams: true);
        Assert.Contains("tensor 'b': data_offsets [24, 40] run past the end of the byte buffer (39 bytes)", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Trailing_bytes_after_the_tensor_data_are_refused()
    {
        byte[] good = Good();
        byte[] longer = [.. good, 0, 0, 0, 0];
        var ex = AssertRefused(longer, "4 trailing bytes");
        Assert.Contains($"{good.Length} bytes expected, file has {longer.Length}", ex.Message, StringComparison.Ordinal);
        AssertRefused(longer, "trailing", sameForStreams: true);
    }

    [Fact]
    public void A_header_length_larger_than_the_header_swallows_data_and_is_refused()
    {
        // The extra 8 bytes claimed are tensor data: non-space bytes after the JSON object.
        AssertRefused(File(W, new byte[8], declaredLength: (ulong)W.Length + 8), "after the JSON object");
    }

    [Fact]
    public void A_header_length_smaller_than_the_header_cuts_the_json_and_is_refused()
    {
        AssertRefused(File(W, new byte[8], declaredLength: (ulong)W.Length - 5), "not valid JSON", sameForStreams: true);
    }

    [Fact]
    public void A_header_length_beyond_the_file_is_refused_before_reading()
    {
        var ex = AssertRefused(File(W, new byte[8], declaredLength: 10_000), "header length 10000 runs past the end of the file");
        Assert.Contains($"({W.Length + 8} bytes follow the length)", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9223372036854775808UL)] // 2^63
    [InlineData(ulong.MaxValue)]
    [InlineData(100_000_001UL)]
    public void A_header_length_over_100_MB_is_refused_without_allocating(ulong declared)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        AssertRefused(File(W, new byte[8], declaredLength: declared), $"header length {declared} exceeds the 100000000-byte limit", sameForStreams: true);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    public void A_header_too_short_for_an_object_is_refused(ulong declared)
    {
        AssertRefused(File(W, new byte[8], declaredLength: declared), "cannot hold a JSON object", sameForStreams: true);
    }

    [Fact]
    public void A_non_seekable_stream_that_promises_a_large_header_and_stops_costs_only_what_arrived()
    {
        byte[] file = File("{\"a\":", declaredLength: 99_000_000);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Read(new TrickleStream(file, 4096)));
        Assert.Contains("truncated: the stream ended after 5 bytes of the 99000000-byte header", ex.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "allocated on the header length's word");
    }

    [Fact]
    public void A_non_seekable_stream_that_promises_gigabytes_of_data_and_stops_costs_only_what_arrived()
    {
        byte[] file = File("{\"a\":{\"dtype\":\"U8\",\"shape\":[1500000000],\"data_offsets\":[0,1500000000]}}", new byte[100]);
        long before = GC.GetAllocatedBytesForCurrentThread();
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Read(new TrickleStream(file, 4096)));
        Assert.Contains("ended after 100 bytes of the 1500000000 bytes of tensor data", ex.Message, StringComparison.Ordinal);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4 << 20, "allocated on the header's word");
    }

    [Fact]
    public void Data_beyond_what_one_array_holds_is_refused_before_reading_it()
    {
        const string header = "{\"a\":{\"dtype\":\"U8\",\"shape\":[4611686018427387904],\"data_offsets\":[0,4611686018427387904]}}";
        var ex = Assert.Throws<SafeTensorsFormatException>(() => SafeTensorsFile.Read(new TrickleStream(File(header))));
        Assert.Contains("exceeds the", ex.Message, StringComparison.Ordinal);
        AssertRefused(File(header), "tensor 'a': data_offsets [0, 4611686018427387904] run past the end of the byte buffer (0 bytes)");
    }

    [Theory]
    [InlineData("{\"w\":", "not valid JSON")]
    [InlineData("{\"w\":{\"dtype\":\"F32\",}}", "not valid JSON")]
    [InlineData("{'w':1}", "not valid JSON")]
    [InlineData("{\"w\":{/* c */}}", "not valid JSON")]
    public void Invalid_json_is_refused(string header, string expected) => AssertRefused(File(header), expected, sameForStreams: true);

    [Theory]
    [InlineData("[1,2]", "starts with 0x5B")]
    [InlineData("\"w\"", "starts with 0x22")]
    [InlineData("  {}", "starts with 0x20")]
    [InlineData("12", "starts with 0x31")]
    public void A_header_that_is_not_an_object_is_refused(string header, string expected)
    {
        var ex = AssertRefused(File(header), expected, sameForStreams: true);
        Assert.Contains("not a JSON object", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Padding_other_than_spaces_after_the_object_is_refused()
    {
        Assert.Empty(SafeTensorsFile.Parse(File("{}      ")).Tensors);
        AssertRefused(File("{}\n"), "byte 0x0A at offset 2 after the JSON object", sameForStreams: true);
        AssertRefused(File("{}{}"), "byte 0x7B at offset 2", sameForStreams: true);
    }

    [Fact]
    public void Duplicate_names_are_refused_even_when_spelled_with_escapes()
    {
        const string entry = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
        AssertRefused(File($"{{\"w\":{entry},\"w\":{entry}}}", [1]), "header names tensor 'w' twice", sameForStreams: true);
        AssertRefused(File($"{{\"w\":{entry},\"\\u0077\":{entry}}}", [1]), "header names tensor 'w' twice", sameForStreams: true);
        AssertRefused(File("{\"__metadata__\":{},\"__metadata__\":{}}"), "__metadata__ twice", sameForStreams: true);
    }

    [Theory]
    [InlineData("F4")]
    [InlineData("f32")]
    [InlineData("float32")]
    [InlineData("")]
    public void An_unknown_dtype_is_refused(string dtype) =>
        AssertRefused(File($"{{\"w\":{{\"dtype\":\"{dtype}\",\"shape\":[1],\"data_offsets\":[0,1]}}}}", [1]),
            $"tensor 'w': unknown dtype '{dtype}'", sameForStreams: true);

    [Theory]
    [InlineData("-1", "shape[0] is -1")]
    [InlineData("1.5", "shape[0] is 1.5")]
    [InlineData("1e3", "shape[0] is 1e3")]
    [InlineData("2.0", "shape[0] is 2.0")]
    [InlineData("\"2\"", "shape[0] is a string")]
    [InlineData("null", "shape[0] is null")]
    [InlineData("9223372036854775808", "shape[0] is 9223372036854775808")]
    [InlineData("99999999999999999999999", "shape[0] is 99999999999999999999999")]
    public void A_shape_entry_that_is_not_a_non_negative_integer_is_refused(string dim, string expected)
    {
        var ex = AssertRefused(File($"{{\"w\":{{\"dtype\":\"U8\",\"shape\":[{dim}],\"data_offsets\":[0,0]}}}}"), expected, sameForStreams: true);
        Assert.Contains("tensor 'w'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_shape_that_is_not_an_array_is_refused() =>
        AssertRefused(File("{\"w\":{\"dtype\":\"U8\",\"shape\":4,\"data_offsets\":[0,4]}}", new byte[4]),
            "tensor 'w': shape is a number, not an array", sameForStreams: true);

    [Fact]
    public void An_absurd_shape_is_refused_by_arithmetic_not_by_allocation()
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        AssertRefused(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,16]}}", new byte[16]),
            "tensor 'w': shape [1099511627776, 1099511627776] of F32 needs more than 2^63 bytes", sameForStreams: true);
        AssertRefused(File("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],\"data_offsets\":[0,16]}}", new byte[16]),
            "needs more than 2^63 bytes", sameForStreams: true);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1 << 20);
    }

    [Fact]
    public void A_zero_dimension_makes_any_shape_empty()
    {
        SafeTensorsFile file = SafeTensorsFile.Parse(File("{\"w\":{\"dtype\":\"F32\",\"shape\":[0,9223372036854775807],\"data_offsets\":[0,0]}}"));
        Assert.Equal(0, file.GetTensor("w").ElementCount);
    }

    [Fact]
    public void Dtype_times_shape_that_disagrees_with_the_offsets_is_refused_with_the_numbers() =>
        AssertRefused(File("{\"w1\":{\"dtype\":\"F32\",\"shape\":[784,128],\"data_offsets\":[0,401404]}}", new byte[401404]),
            "tensor 'w1': shape [784, 128] of F32 needs 401408 bytes but data_offsets span 401404", sameForStreams: true);

    [Fact]
    public void Offsets_past_the_end_of_the_buffer_are_refused()
    {
        byte[] file = File("{\"w\":{\"dtype\":\"U8\",\"shape\":[16],\"data_offsets\":[0,16]}}", new byte[8]);
        AssertRefused(file, "tensor 'w': data_offsets [0, 16] run past the end of the byte buffer (8 bytes)");
        AssertRefused(file, "truncated", sameForStreams: true);
    }

    [Fact]
    public void Reversed_offsets_are_refused() =>
        AssertRefused(File("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,0]}}", new byte[8]),
            "tensor 'w': data_offsets [8, 0] are reversed", sameForStreams: true);

    [Theory]
    [InlineData("[0]", "has 1 numbers, not 2")]
    [InlineData("[0,4,8]", "has 3 numbers, not 2")]
    [InlineData("[-4,0]", "data_offsets[0] is -4")]
    [InlineData("{\"begin\":0}", "data_offsets is an object")]
    public void Malformed_offsets_are_refused(string offsets, string expected) =>
        AssertRefused(File($"{{\"w\":{{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":{offsets}}}}}", new byte[4]),
            expected, sameForStreams: true);

    [Fact]
    public void Overlapping_tensors_are_refused() =>
        AssertRefused(File("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[4,12]}}", new byte[12]),
            "tensors 'a' [0, 8] and 'b' [4, 12] overlap", sameForStreams: true);

    [Fact]
    public void Two_names_for_the_same_bytes_are_refused() =>
        AssertRefused(File("{\"a\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", new byte[8]),
            "overlap", sameForStreams: true);

    [Fact]
    public void A_hole_in_the_buffer_is_refused()
    {
        AssertRefused(File("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[8,12]}}", new byte[12]),
            "bytes [4, 8) of the byte buffer belong to no tensor (a hole between 'a' and 'b')", sameForStreams: true);
        AssertRefused(File("{\"a\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]}}", new byte[8]),
            "bytes [0, 4) of the byte buffer belong to no tensor (a hole between the start of the buffer and 'a')", sameForStreams: true);
    }

    [Fact]
    public void A_header_that_is_not_utf8_is_refused()
    {
        byte[] header = Encoding.UTF8.GetBytes("{\"wx\":{}}");
        header[3] = 0xFF;
        AssertRefused(File(header), "header is not valid UTF-8 (first invalid byte at header offset 3)", sameForStreams: true);
        AssertRefused(File([(byte)'{', (byte)'"', 0xC3, (byte)'"', (byte)':', (byte)'1', (byte)'}']), "not valid UTF-8", sameForStreams: true);
    }

    [Fact]
    public void An_escaped_lone_surrogate_in_a_name_is_refused() =>
        AssertRefused(File("{\"\\ud800\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}}"), "not valid", sameForStreams: true);

    [Theory]
    [InlineData("{\"__metadata__\":{\"k\":1}}", "__metadata__ entry 'k' is a number; metadata values must be strings")]
    [InlineData("{\"__metadata__\":{\"k\":{\"x\":\"y\"}}}", "__metadata__ entry 'k' is an object")]
    [InlineData("{\"__metadata__\":{\"k\":null}}", "__metadata__ entry 'k' is null")]
    [InlineData("{\"__metadata__\":{\"k\":[\"v\"]}}", "__metadata__ entry 'k' is an array")]
    [InlineData("{\"__metadata__\":[\"k\",\"v\"]}", "__metadata__ is an array, not an object of strings")]
    [InlineData("{\"__metadata__\":\"k=v\"}", "__metadata__ is a string")]
    [InlineData("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}}", "__metadata__ holds key 'k' twice")]
    public void Metadata_that_is_not_a_string_to_string_map_is_refused(string header, string expected) =>
        AssertRefused(File(header), expected, sameForStreams: true);

    [Theory]
    [InlineData("{\"shape\":[1],\"data_offsets\":[0,1]}", "tensor 'w': entry has no dtype")]
    [InlineData("{\"dtype\":\"U8\",\"data_offsets\":[0,1]}", "tensor 'w': entry has no shape")]
    [InlineData("{\"dtype\":\"U8\",\"shape\":[1]}", "tensor 'w': entry has no data_offsets")]
    [InlineData("{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1],\"offsets\":[0,1]}", "tensor 'w': unexpected field 'offsets'")]
    [InlineData("{\"dtype\":\"U8\",\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}", "tensor 'w': field 'dtype' appears twice")]
    [InlineData("{\"dtype\":8,\"shape\":[1],\"data_offsets\":[0,1]}", "tensor 'w': dtype is a number, not a string")]
    [InlineData("[\"U8\",[1],[0,1]]", "tensor 'w': entry is an array, not an object")]
    [InlineData("null", "tensor 'w': entry is null")]
    public void An_entry_without_exactly_the_three_fields_is_refused(string entry, string expected) =>
        AssertRefused(File($"{{\"w\":{entry}}}", [7]), expected, sameForStreams: true);
}
