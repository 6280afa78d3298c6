namespace Kumo.Content;

/// <summary>The multicodec of a CID: how the addressed block's bytes are to be read. Values are the multicodec codes.</summary>
public enum CidCodec
{
    /// <summary>Plain bytes: a leaf chunk of a file, or a whole file of at most one chunk.</summary>
    Raw = 0x55,

    /// <summary>A protobuf DAG node (PBNode): the UnixFS parent nodes that join leaves into a file.</summary>
    DagPb = 0x70,
}
