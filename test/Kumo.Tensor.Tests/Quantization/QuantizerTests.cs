using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Kumo.Content;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Quantization;

namespace Kumo.Tensor.Tests.Quantization;

/// <summary>Quantized models in safetensors: which tensors, the layout and metadata, the report, the way back, hostile layouts.</summary>
public sealed class QuantizerTests
{
    private static readonly Cid Parent = Cid.Raw("fp32 model"u8);

    private static SafeTensorsFile Model(int seed = 5)
    {
        var rng = new Random(seed);
        float[] w1 = [.. Enumerable.Range(0, 4 * 40).Select(_ => (float)(rng.NextDouble() - 0.5))];
        w1[45] = 3f; // an outlier in row 1, block 0
        float[] w2 = [.. Enumerable.Range(0, 3 * 5).Select(i => i % 5 == 0 ? 0f : (float)rng.NextDouble())];
        for (int i = 5; i < 10; i++)
        {
            w2[i] = 0f; // row 1 entirely zero
        }

        return new SafeTensorsFile(
            [
                TensorEntry.FromFloat32("layer1.weight", [4, 40], w1),
                TensorEntry.FromFloat32("layer1.bias", [4], [0.1f, -0.2f, 0.3f, 0f]),
                TensorEntry.FromFloat32("layer2.weight", [3, 5], w2),
                TensorEntry.FromFloat32("norm.gamma", [5], [1f, 1f, 1f, 1f, 1f]),
                TensorEntry.FromFloat32("scalar", [], [2f]),
                new TensorEntry("positions", SafeTensorsDType.I32, [2, 2], new byte[16]),
            ],
            new Dictionary<string, string> { ["arch"] = "mlp" });
    }

    [Theory]
    [InlineData(QuantizationScheme.Int8PerChannel, "int8-per-channel")]
    [InlineData(QuantizationScheme.Q8Blocks, "q8_0")]
    public void Only_f32_matrices_are_quantized_into_q_and_scale_tensors(QuantizationScheme scheme, string name)
    {
        QuantizedModel result = Quantizer.Quantize(Model(), scheme, Parent);
        SafeTensorsFile file = SafeTensorsFile.Parse(result.File);
        Assert.Equal(
            ["layer1.bias", "layer1.weight.q", "layer1.weight.scale", "layer2.weight.q", "layer2.weight.scale", "norm.gamma", "positions", "scalar"],
            file.Tensors.Keys);
        Assert.Equal(name, file.Metadata[Quantizer.SchemeKey]);
        Assert.Equal(Parent.ToString(), file.Metadata[Quantizer.ParentCidKey]);
        Assert.Equal("mlp", file.Metadata["arch"]);

        TensorEntry q = file.GetTensor("layer1.weight.q");
        Assert.Equal(SafeTensorsDType.I8, q.DType);
        Assert.Equal([4L, 40L], q.Shape);
        TensorEntry scale = file.GetTensor("layer1.weight.scale");
        if (scheme == QuantizationScheme.Int8PerChannel)
        {
            Assert.Equal(SafeTensorsDType.F32, scale.DType);
            Assert.Equal([4L], scale.Shape);
            Assert.Equal(3f / 127, file.GetFloat32("layer1.weight.scale")[1]);
            Assert.Equal(0f, file.GetFloat32("layer2.weight.scale")[1]);
        }
        else
        {
            Assert.Equal(SafeTensorsDType.F16, scale.DType);
            Assert.Equal([4L, 2L], scale.Shape);
            Assert.Equal(Int8Kernels.CeilingHalf(3f / 127), BinaryPrimitives.ReadHalfLittleEndian(scale.Data.Span[(2 * 2)..]));
        }

        Assert.Equal(Model().GetTensor("layer1.bias").Data.ToArray(), file.GetTensor("layer1.bias").Data.ToArray());
        Assert.Equal(["layer1.weight", "layer2.weight"], result.Reports.Select(r => r.Tensor));
    }

    [Theory]
    [InlineData(QuantizationScheme.Int8PerChannel)]
    [InlineData(QuantizationScheme.Q8Blocks)]
    public void Dequantizing_gives_an_fp32_model_within_the_error_bound_that_the_report_states(QuantizationScheme scheme)
    {
        SafeTensorsFile original = Model();
        QuantizedModel result = Quantizer.Quantize(original, scheme, Parent);
        SafeTensorsFile quantized = SafeTensorsFile.Parse(result.File);
        SafeTensorsFile back = Quantizer.Dequantize(quantized);

        Assert.Equal(original.Tensors.Keys, back.Tensors.Keys);
        Assert.False(back.Metadata.ContainsKey(Quantizer.SchemeKey));
        Assert.Equal(Parent.ToString(), back.Metadata[Quantizer.ParentCidKey]);
        foreach (string kept in new[] { "layer1.bias", "norm.gamma", "scalar", "positions" })
        {
            Assert.Equal(original.GetTensor(kept).Data.ToArray(), back.GetTensor(kept).Data.ToArray());
        }

        foreach (QuantizationReport report in result.Reports)
        {
            float[] x = original.GetFloat32(report.Tensor);
            float[] y = back.GetFloat32(report.Tensor);
            Assert.Equal(QuantizationReport.Compare(report.Tensor, scheme, x, y), report);
            Assert.Equal(x.Length, report.Elements);
            Assert.True(report.MaxAbsError <= 3.0 / 127 / 2 * 1.001, $"{report}");
            Assert.True(report.RmsError <= report.MaxAbsError);
            Assert.InRange(report.RelativeRmsError, 1e-6, 0.02);
        }

        // The zero row stays exactly zero.
        Assert.All(back.GetFloat32("layer2.weight")[5..10], v => Assert.Equal(0f, v));
    }

    [Theory]
    [InlineData(QuantizationScheme.Int8PerChannel)]
    [InlineData(QuantizationScheme.Q8Blocks)]
    public void Quantizing_is_deterministic_down_to_the_file_bytes(QuantizationScheme scheme)
    {
        byte[] first = Quantizer.Quantize(Model(), scheme, Parent).File;
        byte[] second = Quantizer.Quantize(SafeTensorsFile.Parse(Model().ToBytes()), scheme, Parent).File;
        Assert.Equal(first, second);
        Assert.Equal(Cid.Raw(first), Cid.Raw(second));
        Assert.NotEqual(first, Quantizer.Quantize(Model(), scheme).File);
    }

    [Fact]
    public void The_report_is_max_rms_and_relative_rms()
    {
        var r = QuantizationReport.Compare("t", QuantizationScheme.Q8Blocks, [1f, 2f], [1f, 1f]);
        Assert.Equal(1.0, r.MaxAbsError);
        Assert.Equal(Math.Sqrt(0.5), r.RmsError);
        Assert.Equal(Math.Sqrt(0.5) / Math.Sqrt(2.5), r.RelativeRmsError);
        Assert.Equal(0.0, QuantizationReport.Compare("z", QuantizationScheme.Q8Blocks, [0f, 0f], [0f, 0f]).RelativeRmsError);
    }

    [Fact]
    public void What_cannot_be_quantized_is_refused_with_the_reason()
    {
        SafeTensorsFile quantized = SafeTensorsFile.Parse(Quantizer.Quantize(Model(), QuantizationScheme.Q8Blocks).File);
        Assert.Contains("already quantized", Assert.Throws<ArgumentException>(() => Quantizer.Quantize(quantized, QuantizationScheme.Q8Blocks)).Message, StringComparison.Ordinal);

        var nan = new SafeTensorsFile([TensorEntry.FromFloat32("w", [2, 2], [1f, float.NaN, 0f, 0f])]);
        Assert.Contains("tensor 'w': element [0, 1] is NaN", Assert.Throws<ArgumentException>(() => Quantizer.Quantize(nan, QuantizationScheme.Int8PerChannel)).Message, StringComparison.Ordinal);

        var reserved = new SafeTensorsFile([TensorEntry.FromFloat32("x.q", [2], [1f, 2f])]);
        Assert.Contains("reserved", Assert.Throws<ArgumentException>(() => Quantizer.Quantize(reserved, QuantizationScheme.Int8PerChannel)).Message, StringComparison.Ordinal);

    }

    [Fact]
    public void Matrices_whose_names_look_quantized_still_round_trip()
    {
        var model = new SafeTensorsFile(
            [TensorEntry.FromFloat32("w", [1, 1], [1f]), TensorEntry.FromFloat32("w.q", [1, 1], [-2f]), TensorEntry.FromFloat32("w.scale", [1, 1], [4f])]);
        SafeTensorsFile quantized = SafeTensorsFile.Parse(Quantizer.Quantize(model, QuantizationScheme.Int8PerChannel).File);
        Assert.Equal(["w.q", "w.q.q", "w.q.scale", "w.scale", "w.scale.q", "w.scale.scale"], quantized.Tensors.Keys);
        SafeTensorsFile back = Quantizer.Dequantize(quantized);
        Assert.Equal([1f], back.GetFloat32("w"));
        Assert.Equal([-2f], back.GetFloat32("w.q"));
        Assert.Equal([4f], back.GetFloat32("w.scale"));
    }

    [Fact]
    public void Hostile_quantized_layouts_are_refused_as_format_errors()
    {
        TensorEntry q = new("w.q", SafeTensorsDType.I8, [2, 2], new byte[] { 1, 2, 3, 4 });
        TensorEntry scale = TensorEntry.FromFloat32("w.scale", [2], [0.5f, 0.25f]);
        var scheme = new Dictionary<string, string> { [Quantizer.SchemeKey] = "int8-per-channel" };
        Assert.Equal([0.5f, 1f, 0.75f, 1f], Quantizer.Dequantize(new SafeTensorsFile([q, scale], scheme)).GetFloat32("w"));

        AssertBad([q, scale], [], "not a quantized model");
        AssertBad([q, scale], new() { [Quantizer.SchemeKey] = "q4_k" }, "unknown quantization scheme 'q4_k'");
        AssertBad([q], scheme, "tensor 'w.q' has no 'w.scale'");
        AssertBad([q, scale, TensorEntry.FromFloat32("v.scale", [1], [1f])], scheme, "tensor 'v.scale' scales no 'v.q'");
        AssertBad([q, TensorEntry.FromFloat32("w.scale", [3], [1f, 1f, 1f])], scheme, "tensor 'w.scale' is F32 [3]; expected F32 [2]");
        AssertBad([q, scale], new() { [Quantizer.SchemeKey] = "q8_0" }, "expected F16 [2, 1]");
        AssertBad([q, TensorEntry.FromFloat32("w.scale", [2], [1f, float.NaN])], scheme, "tensor 'w.scale' element 1 is NaN");
        AssertBad([q, TensorEntry.FromFloat32("w.scale", [2], [-1f, 1f])], scheme, "element 0 is -1; scales must be finite, non-negative");
        AssertBad([q, TensorEntry.FromFloat32("w.scale", [2], [1f, 3e38f])], scheme, "element 1 is 3E+38");
        AssertBad([new TensorEntry("w.q", SafeTensorsDType.I8, [2, 2], new byte[] { 1, 0x80, 3, 4 }), scale], scheme, "tensor 'w.q' element [0, 1] is -128");
        AssertBad([new TensorEntry("w.q", SafeTensorsDType.U8, [2, 2], new byte[4]), scale], scheme, "tensor 'w.q' is U8 [2, 2]; quantized values must be I8 of rank 2");
        AssertBad([q, scale, TensorEntry.FromFloat32("w", [1], [1f])], scheme, "dequantized names collide: two tensors are named 'w'");
    }

    [Fact]
    public void A_quantized_file_is_a_quarter_of_the_fp32_size_plus_scales()
    {
        var big = new SafeTensorsFile([TensorEntry.FromFloat32("w", [64, 256], new float[64 * 256])]);
        int fp32 = big.ToBytes().Length;
        int int8 = Quantizer.Quantize(big, QuantizationScheme.Q8Blocks).File.Length;
        Assert.InRange(int8, (64 * 256) + (64 * 8 * 2), (fp32 / 4) + (64 * 8 * 2) + 512);
        Assert.Equal(64 * 256, MemoryMarshal.Cast<byte, sbyte>(SafeTensorsFile.Parse(Quantizer.Quantize(big, QuantizationScheme.Q8Blocks).File).GetTensor("w.q").Data.Span).Length);
    }

    private static void AssertBad(TensorEntry[] tensors, Dictionary<string, string> metadata, string expected)
    {
        var ex = Assert.Throws<SafeTensorsFormatException>(() => Quantizer.Dequantize(new SafeTensorsFile(tensors, metadata)));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }
}
