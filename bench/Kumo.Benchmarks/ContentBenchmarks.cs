using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Kumo.Content;

namespace Kumo.Benchmarks;

/// <summary>
/// Importing a file (256 KiB raw leaves, a CID per leaf, the balanced DAG root) against bare SHA-256 over the same
/// 256 KiB pieces: the ratio is what building content ids and the manifest costs above hashing.
/// </summary>
[MemoryDiagnoser]
public class ContentBenchmarks
{
    private const int Piece = 256 * 1024;

    private byte[] _data = null!;

    [Params(1, 64)]
    public int SizeMiB { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[SizeMiB << 20];
        new Random(7).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public int Sha256_pieces()
    {
        Span<byte> hash = stackalloc byte[32];
        int acc = 0;
        for (int offset = 0; offset < _data.Length; offset += Piece)
        {
            SHA256.HashData(_data.AsSpan(offset, Math.Min(Piece, _data.Length - offset)), hash);
            acc ^= hash[0];
        }

        return acc;
    }

    [Benchmark]
    public ContentManifest UnixFs_import() => UnixFsImporter.Import(_data);
}
