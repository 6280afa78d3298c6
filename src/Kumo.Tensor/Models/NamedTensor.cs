namespace Kumo.Tensor.Models;

/// <summary>
/// A model weight (or optimizer state) as plain data: a stable dotted name ("fc1.weight",
/// "blocks.0.attn.qkv.weight"), a shape and row-major fp32 values. This is what leaves a training run, what
/// checkpoint commitments hash, and what inference is rebuilt from.
/// </summary>
public sealed record NamedTensor(string Name, int[] Shape, float[] Data);

/// <summary>A trainable tensor of a model, by its stable name.</summary>
public sealed record Parameter(string Name, Tensor Value);
