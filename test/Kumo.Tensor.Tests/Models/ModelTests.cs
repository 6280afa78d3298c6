using Kumo.Tensor.Models;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Tests.Models;

public class ModelTests
{
    [Fact]
    public void Mlp_weights_have_stable_names_and_shapes()
    {
        Model model = Model.Create(ModelSpec.Mlp(), 1);

        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"], model.ExportWeights().Select(w => w.Name));
        Assert.Equal([64, 128], model.ExportWeights()[0].Shape);
        Assert.All(model.ExportWeights()[1].Data, v => Assert.Equal(0f, v));
        float bound = MathF.Sqrt(6f / (64 + 128));
        Assert.All(model.ExportWeights()[0].Data, v => Assert.InRange(v, -bound, bound));
    }

    [Fact]
    public void Transformer_weights_have_stable_names()
    {
        Model model = Model.Create(ModelSpec.Transformer(vocabulary: 30, context: 8, embed: 8, layers: 2, heads: 2), 1);
        string[] names = [.. model.ExportWeights().Select(w => w.Name)];

        Assert.Contains("tok_emb.weight", names);
        Assert.Contains("pos_emb.weight", names);
        Assert.Contains("blocks.0.attn.qkv.weight", names);
        Assert.Contains("blocks.1.mlp.fc2.bias", names);
        Assert.Contains("ln_f.weight", names);
        Assert.Contains("head.weight", names);
        Assert.Equal(4 + (12 * 2) + 2, names.Length);
        Assert.Equal([8, 24], model.ExportWeights().Single(w => w.Name == "blocks.0.attn.qkv.weight").Shape);
    }

    [Fact]
    public void Initialization_depends_only_on_the_seed()
    {
        ModelSpec spec = ModelSpec.Transformer(vocabulary: 30, context: 8, embed: 8, layers: 1, heads: 2);

        Assert.Equal(WeightCommitment.RootHex(Model.Create(spec, 5).ExportWeights()), WeightCommitment.RootHex(Model.Create(spec, 5).ExportWeights()));
        Assert.NotEqual(WeightCommitment.RootHex(Model.Create(spec, 5).ExportWeights()), WeightCommitment.RootHex(Model.Create(spec, 6).ExportWeights()));
    }

    [Fact]
    public void A_model_rebuilt_from_its_weights_is_the_same_and_bad_weights_are_refused()
    {
        ModelSpec spec = ModelSpec.Mlp(inputs: 4, hidden: 3, classes: 2);
        IReadOnlyList<NamedTensor> weights = Model.Create(spec, 9).ExportWeights();

        Model rebuilt = Model.FromWeights(spec, weights);

        Assert.Equal(WeightCommitment.RootHex(weights), WeightCommitment.RootHex(rebuilt.ExportWeights()));
        Assert.Throws<ArgumentException>(() => Model.FromWeights(spec, weights.Skip(1).ToList()));
        Assert.Throws<ArgumentException>(() => Model.FromWeights(spec, [.. weights, new NamedTensor("extra", [1], [0f])]));
        Assert.Throws<ArgumentException>(() => Model.FromWeights(spec, [weights[0] with { Shape = [3, 4] }, .. weights.Skip(1)]));
    }
}
