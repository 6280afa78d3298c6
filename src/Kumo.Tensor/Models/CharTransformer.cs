using Kumo.Tensor.Autograd;
using Kumo.Tensor.Ops;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Models;

/// <summary>
/// A decoder-only (GPT-style) character model: token + learned position embeddings, <see cref="ModelSpec.Layers"/>
/// pre-layer-norm blocks (x += attn(ln1(x)); x += mlp(ln2(x)), the MLP 4× wide with GELU), a final layer norm and
/// an output projection to the vocabulary. Matrices are input-major (x·W). Weights and embeddings are
/// U(−0.02·√3, 0.02·√3) (standard deviation 0.02, as GPT-2), biases 0, layer-norm gains 1.
/// Parameters: tok_emb.weight, pos_emb.weight, blocks.{i}.{ln1,attn.qkv,attn.proj,ln2,mlp.fc1,mlp.fc2}.{weight,bias},
/// ln_f.{weight,bias}, head.{weight,bias}.
/// </summary>
public sealed class CharTransformer : Model
{
    private const float InitBound = 0.034641016f; // 0.02·√3: the uniform bound with standard deviation 0.02

    private readonly Tensor _tokens, _positions, _lnfG, _lnfB, _headW, _headB;
    private readonly Block[] _blocks;

    internal CharTransformer(ModelSpec spec)
        : base(spec)
    {
        if (spec.Vocabulary <= 1 || spec.Context <= 0 || spec.Layers <= 0 || spec.Heads <= 0 || spec.Embed <= 0 || spec.Embed % spec.Heads != 0)
        {
            throw new ArgumentException($"a transformer needs a vocabulary > 1, positive sizes and an embedding width divisible by the heads: {spec}", nameof(spec));
        }

        int e = spec.Embed;
        _tokens = Declare("tok_emb.weight", [spec.Vocabulary, e], InitBound);
        _positions = Declare("pos_emb.weight", [spec.Context, e], InitBound);
        _blocks = new Block[spec.Layers];
        for (int i = 0; i < spec.Layers; i++)
        {
            string p = $"blocks.{i}.";
            _blocks[i] = new Block(
                Declare(p + "ln1.weight", [e], Ones), Declare(p + "ln1.bias", [e], Zeros),
                Declare(p + "attn.qkv.weight", [e, 3 * e], InitBound), Declare(p + "attn.qkv.bias", [3 * e], Zeros),
                Declare(p + "attn.proj.weight", [e, e], InitBound), Declare(p + "attn.proj.bias", [e], Zeros),
                Declare(p + "ln2.weight", [e], Ones), Declare(p + "ln2.bias", [e], Zeros),
                Declare(p + "mlp.fc1.weight", [e, 4 * e], InitBound), Declare(p + "mlp.fc1.bias", [4 * e], Zeros),
                Declare(p + "mlp.fc2.weight", [4 * e, e], InitBound), Declare(p + "mlp.fc2.bias", [e], Zeros));
        }

        _lnfG = Declare("ln_f.weight", [e], Ones);
        _lnfB = Declare("ln_f.bias", [e], Zeros);
        _headW = Declare("head.weight", [e, spec.Vocabulary], InitBound);
        _headB = Declare("head.bias", [spec.Vocabulary], Zeros);
    }

    /// <summary>
    /// Next-token logits ((batch·time) × vocabulary) for <paramref name="tokens"/>, <paramref name="batch"/>
    /// sequences of <paramref name="time"/> ≤ context tokens laid end to end.
    /// </summary>
    public Tensor Forward(Tape tape, ReadOnlySpan<int> tokens, int batch, int time)
    {
        if (time <= 0 || time > Spec.Context || tokens.Length != batch * time)
        {
            throw new ArgumentException($"{tokens.Length} tokens are not {batch} sequences of 1..{Spec.Context} tokens ({time})");
        }

        int[] positions = Positions(batch, time);
        tape.Leaf(PositionsLeaf, positions);
        Tensor x = TensorOps.Add(tape, TensorOps.Embedding(tape, _tokens, tokens), TensorOps.Embedding(tape, _positions, positions));
        foreach (Block b in _blocks)
        {
            Tensor h = TensorOps.LayerNorm(tape, x, b.Ln1G, b.Ln1B);
            h = TensorOps.Linear(tape, h, b.QkvW, b.QkvB);
            h = TensorOps.CausalSelfAttention(tape, h, batch, time, Spec.Heads);
            x = TensorOps.Add(tape, x, TensorOps.Linear(tape, h, b.ProjW, b.ProjB));
            h = TensorOps.LayerNorm(tape, x, b.Ln2G, b.Ln2B);
            h = TensorOps.Gelu(tape, TensorOps.Linear(tape, h, b.Fc1W, b.Fc1B));
            x = TensorOps.Add(tape, x, TensorOps.Linear(tape, h, b.Fc2W, b.Fc2B));
        }

        x = TensorOps.LayerNorm(tape, x, _lnfG, _lnfB);
        return TensorOps.Linear(tape, x, _headW, _headB);
    }

    /// <summary>The name under which <see cref="Forward"/> registers its positions as a batch leaf (<see cref="Tape.Leaf(string, int[])"/>).</summary>
    public const string PositionsLeaf = "positions";

    /// <summary>Each token's position within its sequence: 0 … time − 1, <paramref name="batch"/> times.</summary>
    public static int[] Positions(int batch, int time)
    {
        int[] positions = new int[batch * time];
        for (int i = 0; i < positions.Length; i++)
        {
            positions[i] = i % time;
        }

        return positions;
    }

    private sealed record Block(
        Tensor Ln1G, Tensor Ln1B, Tensor QkvW, Tensor QkvB, Tensor ProjW, Tensor ProjB,
        Tensor Ln2G, Tensor Ln2B, Tensor Fc1W, Tensor Fc1B, Tensor Fc2W, Tensor Fc2B);
}
