namespace Kumo.Content;

/// <summary>
/// One chunk of a file: the raw CID of its bytes and their count. Every chunk but the last is exactly
/// <see cref="ContentManifest.ChunkSize"/> bytes; the last has 1 to <see cref="ContentManifest.ChunkSize"/>.
/// </summary>
public sealed record ContentLeaf(Cid Cid, int Size);
