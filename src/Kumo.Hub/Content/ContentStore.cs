using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using Kumo.Content;
using Kumo.Hub.Api;
using Kumo.Hub.Auth;
using Kumo.Hub.Storage;
using Kumo.Protocol;
using Kumo.Serialization;
using Kumo.Signing;
using Microsoft.Extensions.Logging;

namespace Kumo.Hub.Content;

/// <summary>
/// Content-addressed objects for job inputs and outputs. An upload announces its root CID and every leaf CID;
/// the hub checks the leaves build the root, then accepts 256 KiB chunks in any order, each checked against its
/// leaf CID before it is kept. Only when every chunk is present is the object assembled and made visible, in
/// one step: a reader never sees a partial object, and an interrupted upload resumes with the chunks it lacks.
/// </summary>
public sealed class ContentStore
{
    private readonly IHubStore _store;
    private readonly EnvelopeAuthenticator _auth;
    private readonly TimeProvider _time;
    private readonly HubOptions _options;
    private readonly ILogger<ContentStore> _logger;
    private readonly string _objects;
    private readonly string _uploads;

    public ContentStore(IHubStore store, EnvelopeAuthenticator auth, TimeProvider time, HubOptions options, ILogger<ContentStore> logger)
    {
        _store = store;
        _auth = auth;
        _time = time;
        _options = options;
        _logger = logger;
        _objects = Path.Combine(options.DataDirectory, "content", "objects");
        _uploads = Path.Combine(options.DataDirectory, "content", "uploads");
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_uploads);
    }

    /// <summary>Starts (or resumes) an upload from a signed <see cref="UploadRequest"/>.</summary>
    public async Task<UploadView> CreateUploadAsync(SignedEnvelope envelope, CancellationToken cancellationToken)
    {
        UploadRequest request = envelope.ReadPayload<UploadRequest>();
        ContentManifest manifest = ToManifest(request);
        string cid = manifest.Root.ToString();

        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            if (await reader.GetContentAsync(cid) is { } existing)
            {
                return new UploadView("", cid, existing.Size, manifest.Leaves.Count, [], Complete: true);
            }
        }

        UploadRecord upload;
        await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
        {
            await _auth.RecordNonceAsync(tx, envelope);
            if (await tx.FindUploadByCidAsync(cid) is { } resumable)
            {
                upload = resumable;
                await tx.CommitAsync();
            }
            else
            {
                upload = new UploadRecord
                {
                    Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
                    Cid = cid,
                    Size = manifest.Size,
                    LeavesJson = JsonSerializer.Serialize(request.Leaves, KumoJson.Options),
                    Owner = envelope.Signer.Value,
                    CreatedAt = Now(),
                };
                await tx.InsertUploadAsync(upload);
                await tx.CommitAsync();
            }
        }

        // The write transaction is closed before anything else takes the store's writer lock.
        Directory.CreateDirectory(Path.Combine(_uploads, upload.Id));

        if (manifest.Leaves.Count == 0)
        {
            // The empty object has no chunks: it is complete as soon as it is announced.
            await CompleteUploadAsync(upload.Id, cancellationToken);
            return new UploadView(upload.Id, cid, 0, 0, [], Complete: true);
        }

        return await ViewAsync(upload, cancellationToken);
    }

    public async Task<UploadView> GetUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        UploadRecord upload = await RequireUploadAsync(uploadId, cancellationToken);
        return await ViewAsync(upload, cancellationToken);
    }

    /// <summary>Stores chunk <paramref name="index"/> if its bytes hash to the announced leaf CID. Idempotent.</summary>
    public async Task<UploadView> PutChunkAsync(string uploadId, int index, Stream body, CancellationToken cancellationToken)
    {
        UploadRecord upload = await RequireUploadAsync(uploadId, cancellationToken);
        IReadOnlyList<UploadLeaf> leaves = Leaves(upload);
        if (index < 0 || index >= leaves.Count)
        {
            throw ApiProblem.BadRequest("chunk_out_of_range", $"chunk index {index} is outside 0..{leaves.Count - 1} for {upload.Cid}", "index");
        }

        UploadLeaf leaf = leaves[index];
        byte[] buffer = ArrayPool<byte>.Shared.Rent(ContentManifest.ChunkSize + 1);
        try
        {
            int length = await ReadUpToAsync(body, buffer.AsMemory(0, ContentManifest.ChunkSize + 1), cancellationToken);
            if (length != leaf.Size)
            {
                string hint = length < leaf.Size ? " (the upload was cut off?)" : "";
                throw ApiProblem.BadRequest(
                    "chunk_size_mismatch",
                    $"chunk {index} of {upload.Cid} has {length} bytes, but its leaf was announced with {leaf.Size}{hint}; nothing was stored",
                    "body");
            }

            var actual = Kumo.Content.Cid.Raw(buffer.AsSpan(0, length));
            if (actual.ToString() != leaf.Cid)
            {
                throw ApiProblem.BadRequest(
                    "cid_mismatch",
                    $"chunk {index} of {upload.Cid} hashes to {actual}, not to its announced leaf {leaf.Cid}; nothing was stored",
                    "body");
            }

            string directory = Path.Combine(_uploads, upload.Id);
            Directory.CreateDirectory(directory);
            string final = Path.Combine(directory, $"{index}.chunk");
            if (!File.Exists(final))
            {
                string temp = Path.Combine(directory, $"{index}.{Guid.NewGuid():N}.part");
                await using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.Asynchronous))
                {
                    await file.WriteAsync(buffer.AsMemory(0, length), cancellationToken);
                    await file.FlushAsync(cancellationToken);
                }

                File.Move(temp, final, overwrite: true);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
        {
            await tx.MarkChunkReceivedAsync(upload.Id, index);
            await tx.CommitAsync();
        }

        return await ViewAsync(upload, cancellationToken);
    }

    /// <summary>Assembles a fully received upload into a stored object. Refused while chunks are missing.</summary>
    public async Task<ContentView> CompleteUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        UploadRecord upload = await RequireUploadAsync(uploadId, cancellationToken);
        UploadView view = await ViewAsync(upload, cancellationToken);
        if (view.MissingChunks.Count > 0)
        {
            throw ApiProblem.Conflict(
                "upload_incomplete",
                $"{view.MissingChunks.Count} of {view.ChunkCount} chunks of {upload.Cid} are missing; send them and complete again",
                new { missingChunks = view.MissingChunks.Take(100) });
        }

        string final = ObjectPath(upload.Cid);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        string temp = final + $".{Guid.NewGuid():N}.tmp";
        string chunkDirectory = Path.Combine(_uploads, upload.Id);
        await using (var output = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
        {
            for (int i = 0; i < view.ChunkCount; i++)
            {
                await using var chunk = new FileStream(Path.Combine(chunkDirectory, $"{i}.chunk"), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.Asynchronous);
                await chunk.CopyToAsync(output, cancellationToken);
            }

            await output.FlushAsync(cancellationToken);
            output.Flush(flushToDisk: true);
        }

        if (new FileInfo(temp).Length != upload.Size)
        {
            File.Delete(temp);
            throw new InvalidOperationException($"assembled {upload.Cid} has the wrong size; chunk files were changed behind the hub's back");
        }

        File.Move(temp, final, overwrite: true);
        long storedAt = Now();
        await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
        {
            await tx.InsertContentAsync(new ContentRecord(upload.Cid, upload.Size, storedAt));
            await tx.DeleteUploadAsync(upload.Id);
            await tx.CommitAsync();
        }

        TryDeleteDirectory(chunkDirectory);
        _logger.LogInformation("stored {Cid} ({Size} bytes)", upload.Cid, upload.Size);
        return new ContentView(upload.Cid, upload.Size, DateTimeOffset.FromUnixTimeMilliseconds(storedAt));
    }

    /// <summary>
    /// Stores bytes the hub itself made (a canary's wrong answer) as a content object and returns its CID: written to a
    /// temporary file and moved into place before it is recorded, so a reader never sees part of it. Storing what is
    /// already there changes nothing.
    /// </summary>
    internal async Task<string> StoreAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        string cid = UnixFsImporter.Import(bytes).Root.ToString();
        if (await ExistsAsync(cid, cancellationToken))
        {
            return cid;
        }

        string final = ObjectPath(cid);
        Directory.CreateDirectory(Path.GetDirectoryName(final)!);
        string temp = final + $".{Guid.NewGuid():N}.tmp";
        await File.WriteAllBytesAsync(temp, bytes, cancellationToken);
        File.Move(temp, final, overwrite: true);
        await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
        {
            if (await tx.GetContentAsync(cid) is null)
            {
                await tx.InsertContentAsync(new ContentRecord(cid, bytes.Length, Now()));
            }

            await tx.CommitAsync();
        }

        return cid;
    }

    /// <summary>The file of a stored object, or a 404 problem that says whether an upload of it is under way.</summary>
    public async Task<(ContentRecord Content, string Path)> OpenAsync(string cid, CancellationToken cancellationToken)
    {
        Cid parsed = ParseCid(cid, "cid");
        string canonical = parsed.ToString();
        await using IHubReader reader = await _store.OpenReaderAsync(cancellationToken);
        if (await reader.GetContentAsync(canonical) is { } content)
        {
            return (content, ObjectPath(canonical));
        }

        if (await reader.FindUploadByCidAsync(canonical) is { } upload)
        {
            int received = (await reader.ListReceivedChunksAsync(upload.Id)).Count;
            throw ApiProblem.NotFound("content_incomplete", $"{canonical} is not stored yet: its upload has {received} of {Leaves(upload).Count} chunks");
        }

        throw ApiProblem.NotFound("unknown_cid", $"no content with CID {canonical} is stored on this hub");
    }

    /// <summary>True when the object is stored (used to check job inputs at submission).</summary>
    public async Task<bool> ExistsAsync(string cid, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await _store.OpenReaderAsync(cancellationToken);
        return await reader.GetContentAsync(cid) is not null;
    }

    /// <summary>Deletes uploads that were never completed within the TTL, and their chunks.</summary>
    public async Task<int> DeleteExpiredUploadsAsync(CancellationToken cancellationToken)
    {
        long cutoff = Now() - (long)_options.UploadTtl.TotalMilliseconds;
        IReadOnlyList<UploadRecord> expired;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            expired = await reader.ListUploadsCreatedBeforeAsync(cutoff);
        }

        foreach (UploadRecord upload in expired)
        {
            await using (IHubTransaction tx = await _store.BeginAsync(cancellationToken))
            {
                await tx.DeleteUploadAsync(upload.Id);
                await tx.CommitAsync();
            }

            TryDeleteDirectory(Path.Combine(_uploads, upload.Id));
        }

        return expired.Count;
    }

    internal static Cid ParseCid(string text, string field) =>
        Kumo.Content.Cid.TryParse(text, out Cid? cid, out string? error)
            ? cid
            : throw ApiProblem.BadRequest("invalid_cid", error, field);

    private ContentManifest ToManifest(UploadRequest request)
    {
        Cid root = ParseCid(request.Cid, "cid");
        if (request.Size < 0 || request.Size > _options.MaxContentBytes)
        {
            throw ApiProblem.TooLarge("content_too_large", $"size {request.Size} is outside 0..{_options.MaxContentBytes} bytes accepted by this hub");
        }

        var leaves = new List<ContentLeaf>(request.Leaves.Count);
        for (int i = 0; i < request.Leaves.Count; i++)
        {
            leaves.Add(new ContentLeaf(ParseCid(request.Leaves[i].Cid, $"leaves[{i}].cid"), request.Leaves[i].Size));
        }

        var manifest = new ContentManifest(root, request.Size, leaves);
        if (!manifest.TryValidate(out string? error))
        {
            throw ApiProblem.BadRequest("manifest_mismatch", $"the announced leaves do not make {request.Cid}: {error}", "leaves");
        }

        return manifest;
    }

    private async Task<UploadRecord> RequireUploadAsync(string uploadId, CancellationToken cancellationToken)
    {
        await using IHubReader reader = await _store.OpenReaderAsync(cancellationToken);
        return await reader.GetUploadAsync(uploadId)
            ?? throw ApiProblem.NotFound("unknown_upload", $"no upload {uploadId} is in progress (finished, expired, or never started)");
    }

    private async Task<UploadView> ViewAsync(UploadRecord upload, CancellationToken cancellationToken)
    {
        IReadOnlyList<int> received;
        await using (IHubReader reader = await _store.OpenReaderAsync(cancellationToken))
        {
            received = await reader.ListReceivedChunksAsync(upload.Id);
        }

        int count = Leaves(upload).Count;
        var have = received.ToHashSet();
        List<int> missing = [.. Enumerable.Range(0, count).Where(i => !have.Contains(i))];
        return new UploadView(upload.Id, upload.Cid, upload.Size, count, missing, Complete: false);
    }

    private static IReadOnlyList<UploadLeaf> Leaves(UploadRecord upload) =>
        JsonSerializer.Deserialize<List<UploadLeaf>>(upload.LeavesJson, KumoJson.Options) ?? [];

    private string ObjectPath(string cid) => Path.Combine(_objects, cid[^2..], cid);

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static async Task<int> ReadUpToAsync(Stream stream, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int read = await stream.ReadAsync(buffer[total..], cancellationToken);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }

    private void TryDeleteDirectory(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException e)
        {
            _logger.LogWarning(e, "could not delete {Path}", path);
        }
    }
}
