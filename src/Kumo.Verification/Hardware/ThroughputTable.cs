namespace Kumo.Verification.Hardware;

/// <summary>
/// The fp32 rate each claimed device must reach: the vendor's peak dense FP32 (non-tensor) figure per GPU model, a
/// per-core figure for CPUs, and a token rate for devnet's simulated devices. The deadline of a challenge is the work
/// divided by this rate (times slack), so a device claiming a model must compute like one. Figures are FLOP/s.
/// </summary>
public static class ThroughputTable
{
    /// <summary>Devnet's simulated GPUs run on the host CPU; 1 GFLOP/s keeps their small challenges trivially in time.</summary>
    public const double SimulatedFlops = 1e9;

    /// <summary>
    /// Per CPU core: far below what the tensor engine's GEMM reaches (≈ 75 GFLOP/s per AVX2 core, BENCHMARKS.md), so
    /// every honest core passes with a wide margin — also an old one, or one busy with other work (a loaded 2-core
    /// devnet ran the proof at a third of its idle speed). CPU pricing is per core: the proof need only show the cores
    /// exist and compute correctly.
    /// </summary>
    public const double CpuFlopsPerCore = 5e9;

    /// <summary>A GPU whose model is not in the table is held to a modest rate rather than refused.</summary>
    public const double UnknownGpuFlops = 5e12;

    /// <summary>Vendor datasheet peak FP32 (non-tensor, dense), TFLOP/s; first entry whose words all occur in the model name wins.</summary>
    public static IReadOnlyList<(string[] Words, double Tflops)> Gpus { get; } =
    [
        (["H200"], 67.0),
        (["H100", "PCIE"], 51.2),
        (["H100", "NVL"], 60.0),
        (["H100"], 66.9),
        (["GH200"], 67.0),
        (["A100"], 19.5),
        (["L40S"], 91.6),
        (["L40"], 90.5),
        (["L4"], 30.3),
        (["RTX 6000 ADA"], 91.1),
        (["RTX A6000"], 38.7),
        (["RTX 5090"], 104.8),
        (["RTX 4090"], 82.6),
        (["RTX 4080"], 48.7),
        (["RTX 3090"], 35.6),
        (["RTX 3080"], 29.8),
        (["A10G"], 31.2),
        (["A10"], 31.2),
        (["V100"], 14.0),
        (["T4"], 8.1),
        (["MI300X"], 163.4),
        (["MI250X"], 47.9),
    ];

    /// <summary>The rate <paramref name="claim"/> must reach, in FLOP/s.</summary>
    public static double ClaimedFlops(DeviceClaim claim)
    {
        if (claim.Simulated)
        {
            return SimulatedFlops;
        }

        if (!claim.IsGpu)
        {
            return CpuFlopsPerCore * Math.Max(1, claim.Cores);
        }

        return GpuTflops(claim.Model) is { } tflops ? tflops * 1e12 : UnknownGpuFlops;
    }

    /// <summary>The table's figure for a GPU model name, or null when the model is not listed.</summary>
    public static double? GpuTflops(string model)
    {
        string upper = model.ToUpperInvariant();
        foreach ((string[] words, double tflops) in Gpus)
        {
            if (words.All(w => ContainsWord(upper, w)))
            {
                return tflops;
            }
        }

        return null;
    }

    /// <summary>"L4" must not match "L40S": a word matches where it is not followed by a letter or digit.</summary>
    private static bool ContainsWord(string text, string word)
    {
        for (int at = text.IndexOf(word, StringComparison.Ordinal); at >= 0; at = text.IndexOf(word, at + 1, StringComparison.Ordinal))
        {
            int end = at + word.Length;
            bool startOk = at == 0 || !char.IsLetterOrDigit(text[at - 1]);
            bool endOk = end == text.Length || !char.IsLetterOrDigit(text[end]);
            if (startOk && endOk)
            {
                return true;
            }
        }

        return false;
    }
}
