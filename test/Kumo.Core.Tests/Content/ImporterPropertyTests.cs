using FsCheck;
using FsCheck.Fluent;
using Kumo.Content;

namespace Kumo.Core.Tests.Content;

public class ImporterPropertyTests
{
    private const int Chunk = ContentManifest.ChunkSize;

    /// <summary>One generated file: its length, the seed of its bytes and the most a stream read returns.</summary>
    public sealed record Case(int Length, ulong Seed, int ReadSize);

    private static Arbitrary<Case> Cases()
    {
        // Half the lengths sit on or next to a chunk boundary, where off-by-one errors live.
        Gen<int> nearBoundary =
            from chunks in Gen.Choose(0, 3)
            from delta in Gen.Choose(-2, 2)
            select Math.Max(0, chunks * Chunk + delta);
        Gen<int> length = Gen.OneOf(Gen.Choose(0, 3 * Chunk), nearBoundary);
        Gen<int> readSize = Gen.OneOf(Gen.Choose(1, 17), Gen.Choose(1, 2 * Chunk), Gen.Elements(4093, Chunk - 1, Chunk + 1));

        return (from l in length
                from s in Gen.Choose(0, int.MaxValue)
                from r in readSize
                select new Case(l, (ulong)s, r)).ToArbitrary();
    }

    [Fact]
    public void Streaming_import_with_odd_read_sizes_equals_import_of_the_span()
    {
        Property property = Prop.ForAll(Cases(), c =>
        {
            byte[] data = TestData.PseudoRandom(c.Length, c.Seed);
            ContentManifest expected = UnixFsImporter.Import(data);

            using var stream = new DribblingStream(data, c.ReadSize);
            ContentManifest streamed = UnixFsImporter.ImportAsync(stream).GetAwaiter().GetResult();

            return expected.Equals(streamed);
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property);
    }

    [Fact]
    public void Root_recomputed_from_the_leaves_is_the_imported_root()
    {
        Property property = Prop.ForAll(Cases(), c =>
        {
            ContentManifest manifest = UnixFsImporter.Import(TestData.PseudoRandom(c.Length, c.Seed));

            return ContentManifest.ComputeRoot(manifest.Leaves) == manifest.Root
                && manifest.TryValidate(out _)
                && manifest.Leaves.Sum(l => (long)l.Size) == c.Length;
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), property);
    }

    [Fact]
    public void Cid_text_and_bytes_round_trip_for_any_block()
    {
        Property property = Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), Gen.Elements(CidCodec.Raw, CidCodec.DagPb).ToArbitrary(), (block, codec) =>
        {
            Cid cid = codec == CidCodec.Raw ? Cid.Raw(block) : Cid.FromDagPb(block);

            return Cid.Parse(cid.ToString()) == cid && Cid.FromBytes(cid.ToBytes()) == cid && cid.IsHashOf(block);
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), property);
    }

    /// <summary>
    /// A read-only stream that hands out at most <c>readSize</c> bytes a read and completes every other
    /// asynchronous read asynchronously, as sockets and pipes do.
    /// </summary>
    private sealed class DribblingStream(byte[] data, int readSize) : Stream
    {
        private int _position;
        private int _reads;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = Math.Min(Math.Min(buffer.Length, readSize), data.Length - _position);
            data.AsSpan(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (++_reads % 2 == 0)
            {
                await Task.Yield();
            }

            return Read(buffer.Span);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
