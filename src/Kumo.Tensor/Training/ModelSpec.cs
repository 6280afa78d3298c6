namespace Kumo.Tensor.Training;

/// <summary>
/// What to build: <see cref="Kind"/> "mlp" (a one-hidden-layer classifier) or "transformer" (a decoder-only
/// character model). Only the sizes of the chosen kind matter. Together with the seed it determines the initial
/// weights exactly, and with stored weights it rebuilds a model for inference (attention heads cannot be read off
/// weight shapes, so the spec travels with the weights).
/// </summary>
public sealed record ModelSpec
{
    public const string MlpKind = "mlp";
    public const string TransformerKind = "transformer";

    public string Kind { get; init; } = MlpKind;

    /// <summary>MLP: input features.</summary>
    public int Inputs { get; init; } = 64;

    /// <summary>MLP: hidden units.</summary>
    public int Hidden { get; init; } = 128;

    /// <summary>MLP: output classes.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>MLP: "relu" or "gelu".</summary>
    public string Activation { get; init; } = "relu";

    /// <summary>Transformer: token vocabulary (0 = take it from the training corpus).</summary>
    public int Vocabulary { get; init; }

    /// <summary>Transformer: context length (positions).</summary>
    public int Context { get; init; } = 64;

    /// <summary>Transformer: embedding width (a multiple of <see cref="Heads"/>).</summary>
    public int Embed { get; init; } = 64;

    public int Layers { get; init; } = 2;

    public int Heads { get; init; } = 4;

    public static ModelSpec Mlp(int inputs = 64, int hidden = 128, int classes = 10, string activation = "relu") =>
        new() { Kind = MlpKind, Inputs = inputs, Hidden = hidden, Classes = classes, Activation = activation };

    public static ModelSpec Transformer(int vocabulary = 0, int context = 64, int embed = 64, int layers = 2, int heads = 4) =>
        new() { Kind = TransformerKind, Vocabulary = vocabulary, Context = context, Embed = embed, Layers = layers, Heads = heads };
}
