using System.Buffers.Binary;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Kumo.Tensor.Formats;
using static Kumo.Tensor.Tests.Formats.SafeTensorsBytes;

namespace Kumo.Tensor.Tests.Formats;

/// <summary>Write → read gives the same tensors; re-writing gives the same bytes; the canonical form is what we document.</summary>
public sealed class SafeTensorsRoundTripTests
{
    [Fact]
    public void The_canonical_form_is_compact_sorted_json_padded_to_eight()
    {
        byte[] file = SafeTensorsWriter.ToBytes(
            [TensorEntry.FromFloat32("b", [2], [1f, -2f]), new TensorEntry("a", SafeTensorsDType.U8, [3], new byte[] { 1, 2, 3 })],
            new Dictionary<string, string> { ["z"] = "last", ["format"] = "pt" });
        const string json = "{\"__metadata__\":{\"format\":\"pt\",\"z\":\"last\"},"
            + "\"a\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
            + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[3,11]}}";
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(file);
        Assert.Equal(0UL, (8 + n) % 8);
        Assert.Equal(json.PadRight((int)n), Encoding.UTF8.GetString(file, 8, (int)n));
        Assert.Equal(new byte[] { 1, 2, 3, 0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0 }, file[(8 + (int)n)..]);
    }

    [Fact]
    public void Reading_gives_back_names_dtypes_shapes_values_and_metadata()
    {
        float[] w = [0.5f, -1.25f, float.MaxValue, float.Epsilon, -0f, 3f];
        byte[] file = SafeTensorsWriter.ToBytes(
            [TensorEntry.FromFloat32("layer.0.w", [2, 3], w), TensorEntry.FromFloat32("scalar", [], [42f]),
             TensorEntry.FromFloat32("empty", [0, 5], []), new TensorEntry("h", SafeTensorsDType.F16, [1], new byte[] { 0, 0x3C })],
            new Dictionary<string, string> { ["kumo.parent"] = "bafy" });
        foreach ((string how, Func<byte[], SafeTensorsFile> read) in Readers())
        {
            SafeTensorsFile back = read(file);
            Assert.Equal(["empty", "h", "layer.0.w", "scalar"], back.Tensors.Keys);
            Assert.Equal(w, back.GetFloat32("layer.0.w"));
            Assert.Equal([2L, 3L], back.GetTensor("layer.0.w").Shape);
            Assert.Empty(back.GetTensor("scalar").Shape);
            Assert.Equal([42f], back.GetFloat32("scalar"));
            Assert.Equal(0, back.GetTensor("empty").ElementCount);
            Assert.Equal(SafeTensorsDType.F16, back.GetTensor("h").DType);
            Assert.Equal("bafy", back.Metadata["kumo.parent"]);
            Assert.True(file.AsSpan().SequenceEqual(back.ToBytes()), how);
        }
    }

    [Fact]
    public void A_file_in_another_writers_layout_is_read_and_rewritten_canonically()
    {
        // Entries out of name order, whitespace inside the JSON, padding, metadata last: all within the specification.
        const string header = "{ \"b\": {\"data_offsets\": [0, 4], \"shape\": [1], \"dtype\": \"F32\"},\n"
            + "  \"a\": {\"dtype\": \"I8\", \"shape\": [2, 2], \"data_offsets\": [4, 8]}, \"__metadata__\": {\"format\": \"pt\"} }   ";
        byte[] foreign = File(header, [0, 0, 0x80, 0x3F, 1, 2, 0xFF, 0xFE]);
        SafeTensorsFile file = SafeTensorsFile.Parse(foreign);
        Assert.Equal([1f], file.GetFloat32("b"));
        Assert.Equal(new byte[] { 1, 2, 0xFF, 0xFE }, file.GetTensor("a").Data.ToArray());
        byte[] canonical = file.ToBytes();
        Assert.NotEqual(foreign, canonical);
        Assert.Equal(canonical, SafeTensorsFile.Parse(canonical).ToBytes());
    }

    [Fact]
    public void Names_and_metadata_with_quotes_escapes_and_non_ascii_survive()
    {
        string[] names = ["q\"uote", "back\\slash", "tab\there", "ctl\u0001", "ünï/çødé", "😀", "/"];
        var tensors = names.Select((n, i) => new TensorEntry(n, SafeTensorsDType.U8, [1], new[] { (byte)i })).ToList();
        var meta = new Dictionary<string, string> { ["é\"\n"] = "\u001f\\ 😀" };
        SafeTensorsFile back = SafeTensorsFile.Parse(SafeTensorsWriter.ToBytes(tensors, meta));
        Assert.Equal(names.Order(StringComparer.Ordinal), back.Tensors.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("\u001f\\ 😀", back.Metadata["é\"\n"]);
        Assert.Equal(new byte[] { 4 }, back.GetTensor("ünï/çødé").Data.ToArray());
    }

    [Fact]
    public void Names_are_ordered_by_utf8_bytes_not_utf16_units()
    {
        // In UTF-16 U+1F600 (surrogates 0xD83D 0xDE00) sorts before U+FF01; in UTF-8 (F0… vs EF…) after it.
        byte[] file = SafeTensorsWriter.ToBytes(
            [new TensorEntry("\uFF01", SafeTensorsDType.U8, [1], new byte[] { 1 }), new TensorEntry("😀", SafeTensorsDType.U8, [1], new byte[] { 2 })]);
        Assert.Equal(["\uFF01", "😀"], SafeTensorsFile.Parse(file).Tensors.Keys);
    }

    [Fact]
    public void The_writer_refuses_what_the_reader_would_refuse()
    {
        TensorEntry a = TensorEntry.FromFloat32("a", [1], [1f]);
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.ToBytes([a, a]));
        Assert.Throws<ArgumentException>(() => SafeTensorsWriter.ToBytes([TensorEntry.FromFloat32("__metadata__", [1], [1f])]));
        Assert.ThrowsAny<ArgumentException>(() => SafeTensorsWriter.ToBytes([TensorEntry.FromFloat32("\ud800", [1], [1f])]));
        Assert.Throws<ArgumentException>(() => new TensorEntry("x", SafeTensorsDType.F32, [3], new byte[8]));
        Assert.Throws<ArgumentException>(() => new TensorEntry("x", SafeTensorsDType.F32, [-1], new byte[0]));
        Assert.Throws<ArgumentException>(() => new TensorEntry("x", SafeTensorsDType.F32, [1L << 40, 1L << 40], new byte[0]));
    }

    [Fact]
    public void Typed_access_checks_the_dtype_and_the_name()
    {
        var file = new SafeTensorsFile([new TensorEntry("i", SafeTensorsDType.I32, [1], new byte[4])]);
        Assert.Contains("'i' is I32, not F32", Assert.Throws<InvalidOperationException>(() => file.GetFloat32("i")).Message, StringComparison.Ordinal);
        Assert.Contains("'nope'", Assert.Throws<KeyNotFoundException>(() => file.GetFloat32("nope")).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_tensor_sets_round_trip_through_every_reader_and_rewrite_to_the_same_bytes()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            List<TensorEntry> tensors = RandomTensors(rng);
            Dictionary<string, string> meta = Enumerable.Range(0, rng.Next(0, 4)).ToDictionary(i => $"k{i}{RandomName(rng)}", _ => RandomName(rng));
            byte[] file = SafeTensorsWriter.ToBytes(tensors, meta);
            Assert.Equal(0UL, BinaryPrimitives.ReadUInt64LittleEndian(file) % 8);

            // Input order does not matter: same tensors, same bytes.
            Assert.Equal(file, SafeTensorsWriter.ToBytes(tensors.OrderBy(_ => rng.Next()).ToList(), meta));
            foreach ((string how, Func<byte[], SafeTensorsFile> read) in Readers())
            {
                SafeTensorsFile back = read(file);
                Assert.Equal(tensors.Count, back.Tensors.Count);
                foreach (TensorEntry t in tensors)
                {
                    TensorEntry r = back.GetTensor(t.Name);
                    Assert.Equal(t.DType, r.DType);
                    Assert.Equal(t.Shape, r.Shape);
                    Assert.True(t.Data.Span.SequenceEqual(r.Data.Span), $"{how}: data of '{t.Name}'");
                }

                Assert.Equal(meta.OrderBy(kv => kv.Key, StringComparer.Ordinal), back.Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal));
                Assert.Equal(file, back.ToBytes());
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void Random_corruptions_of_a_valid_file_are_accepted_or_refused_cleanly_never_anything_else()
    {
        byte[] good = SafeTensorsWriter.ToBytes(RandomTensors(new Random(7)), new Dictionary<string, string> { ["a"] = "b" });
        Prop.ForAll(Arb.From(Gen.Choose(0, int.MaxValue)), seed =>
        {
            var rng = new Random(seed);
            byte[] bad = (byte[])good.Clone();
            int flips = rng.Next(1, 4);
            for (int i = 0; i < flips; i++)
            {
                // Mostly in the length and header, where a flip changes meaning rather than just a value.
                int at = rng.Next(2) == 0 ? rng.Next(Math.Min(bad.Length, 8 + 200)) : rng.Next(bad.Length);
                bad[at] = (byte)rng.Next(256);
            }

            foreach ((_, Func<byte[], SafeTensorsFile> read) in Readers())
            {
                try
                {
                    read(bad);
                }
                catch (SafeTensorsFormatException)
                {
                }
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static List<TensorEntry> RandomTensors(Random rng)
    {
        SafeTensorsDType[] dtypes = Enum.GetValues<SafeTensorsDType>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var tensors = new List<TensorEntry>();
        for (int i = rng.Next(0, 8); i > 0; i--)
        {
            string name = RandomName(rng);
            if (!names.Add(name) || name == "__metadata__")
            {
                continue;
            }

            SafeTensorsDType dtype = dtypes[rng.Next(dtypes.Length)];
            long[] shape = [.. Enumerable.Range(0, rng.Next(0, 4)).Select(_ => (long)(rng.Next(5) == 0 ? 0 : rng.Next(1, 6)))];
            long count = shape.Aggregate(1L, (a, d) => a * d);
            byte[] data = new byte[count * SafeTensorsDTypes.SizeOf(dtype)];
            rng.NextBytes(data);
            tensors.Add(new TensorEntry(name, dtype, shape, data));
        }

        return tensors;
    }

    private static string RandomName(Random rng)
    {
        string[] alphabet = ["a", "b", "c", "x", "y", "z", ".", "_", "-", "/", "0", "1", "\"", "\\", " ", "é", "😀", "\n", "\uFF01"];
        var text = new StringBuilder();
        for (int i = rng.Next(1, 8); i > 0; i--)
        {
            text.Append(alphabet[rng.Next(alphabet.Length)]);
        }

        return text.ToString();
    }
}
