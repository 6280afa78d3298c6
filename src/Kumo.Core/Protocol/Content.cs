namespace Kumo.Protocol;

/// <summary>
/// Signed (<see cref="Signing.MessageTypes.UploadCreate"/>): the uploader announces the root CID, size and the
/// CID of every 256 KiB leaf. The hub checks the leaves really build that root before it accepts any byte,
/// then checks each chunk against its leaf CID as it arrives.
/// </summary>
public sealed record UploadRequest(string Cid, long Size, IReadOnlyList<UploadLeaf> Leaves);

public sealed record UploadLeaf(string Cid, int Size);

/// <summary>State of an upload: which chunks the hub has, so an interrupted upload resumes where it stopped.</summary>
public sealed record UploadView(string UploadId, string Cid, long Size, int ChunkCount, IReadOnlyList<int> MissingChunks, bool Complete);

/// <summary>A stored content object.</summary>
public sealed record ContentView(string Cid, long Size, DateTimeOffset StoredAt);
