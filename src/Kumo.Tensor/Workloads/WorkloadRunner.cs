using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Kumo.Jobs;
using Kumo.Tensor.Compute;
using Kumo.Tensor.Data;
using Kumo.Tensor.Formats;
using Kumo.Tensor.Models;
using Kumo.Tensor.Quantization;
using Kumo.Tensor.Training;

namespace Kumo.Tensor.Workloads;

/// <summary>
/// Runs a built-in AI workload (<see cref="TrainWorkload"/>, <see cref="InferWorkload"/>, <see cref="QuantizeWorkload"/>)
/// of a job: reads the named inputs, writes everything under the output directory, reports progress as log lines.
/// The provider agent runs this inside the sandbox (`kumo tensor run`); `kumo tensor train|infer|quantize` run it
/// locally. What is written is a pure function of the spec and the inputs, except report.json's timings.
/// </summary>
public sealed class WorkloadRunner(TextWriter log, ComputeOptions compute)
{
    /// <summary>
    /// Where a train run keeps the state after each rooted step that is not a checkpoint (<see cref="StateFileName"/>),
    /// for a provider to reveal one when a spot check of that commit interval is drawn; null keeps none.
    /// </summary>
    public StateRetention? Retention { get; init; }

    /// <summary>Metadata key holding the architecture (<see cref="ModelSpec"/> as JSON) in a model file.</summary>
    public const string ModelKey = "kumo.model";

    /// <summary>
    /// The engine's numerics version, written into every checkpoint (<c>kumo.engine</c>). A verifier re-executes only
    /// checkpoints of its own version: a run made by another version (another RNG, another kernel contract) would
    /// legitimately differ and must not be judged by this one.
    /// </summary>
    public const string EngineVersion = "kumo-tensor/1";

    /// <summary>Metadata key holding a character model's vocabulary.</summary>
    public const string VocabularyKey = "kumo.vocabulary";

    /// <summary>
    /// Metadata key of a quantized model whose linear-layer weights are stored transposed, [out, in], so that the
    /// quantizer's one scale per row is one scale per output channel (the engine itself keeps them [in, out]).
    /// </summary>
    public const string LayoutKey = "kumo.layout";

    private const string OutInLayout = "linear-out-in";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Runs the workload's one built-in kind. Throws <see cref="WorkloadException"/> with what is wrong for bad inputs.</summary>
    public void Run(Workload workload, string inputsDirectory, string outputDirectory, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(outputDirectory);
        switch (workload)
        {
            case { Train: { } train }:
                Train(train, inputsDirectory, outputDirectory, cancellationToken);
                break;
            case { Infer: { } infer }:
                Infer(infer, inputsDirectory, outputDirectory);
                break;
            case { Quantize: { } quantize }:
                Quantize(quantize, inputsDirectory, outputDirectory);
                break;
            default:
                throw new WorkloadException($"the workload's kind '{workload.Kind}' is not a built-in AI workload (train, infer or quantize)");
        }
    }

    private void Train(TrainWorkload train, string inputs, string output, CancellationToken cancellationToken)
    {
        string dataPath = Input(inputs, train.Data, "data");
        TrainingData data = LoadTrainingData(train, dataPath);
        ModelSpec spec = ModelSpecFor(train);
        TrainOptions options = OptionsFor(train, compute);
        log.WriteLine($"training {Describe(spec, data)} for {train.Steps} steps of {train.BatchSize} ({train.Optimizer}, lr {train.LearningRate.ToString(CultureInfo.InvariantCulture)}, seed {train.Seed}) on {compute.Threads} thread(s)");
        log.Flush();

        TrainingState? start = null;
        if (train.ResumeFrom is { } resume)
        {
            start = ReadCheckpoint(File.ReadAllBytes(Input(inputs, resume, "resumeFrom")));
            if (!Trainer.Schedule(options).Contains(start.Step) || start.Step >= train.Steps)
            {
                throw new WorkloadException($"the checkpoint in '{resume}' is at step {start.Step}, which is not one of this run's checkpoints before step {train.Steps}");
            }

            log.WriteLine($"resumed at step {start.Step} from '{resume}' (state root {start.RootHex()})");
        }

        var observer = new ProgressLog(log, train.Steps, train.CheckpointEvery, output, spec, Retention);
        var clock = Stopwatch.StartNew();
        TrainResult result = Trainer.Train(spec, data, options, start, observer, cancellationToken);
        clock.Stop();

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ModelKey] = JsonSerializer.Serialize(result.Spec),
            ["kumo.steps"] = train.Steps.ToString(CultureInfo.InvariantCulture),
            ["kumo.seed"] = train.Seed.ToString(CultureInfo.InvariantCulture),
            ["kumo.commitment"] = result.Commitments.Count > 0 ? result.Commitments[^1].RootHex : "",
        };
        if (result.Vocabulary is { } vocabulary)
        {
            metadata[VocabularyKey] = vocabulary;
        }

        File.WriteAllBytes(Path.Combine(output, "model.safetensors"), SafeTensorsWriter.ToBytes(result.Weights.Select(ToEntry), metadata));
        var loss = new StringBuilder("step,loss\n");
        foreach (LossPoint point in result.LossLog)
        {
            loss.Append(CultureInfo.InvariantCulture, $"{point.Step},{point.Loss.ToString("R", CultureInfo.InvariantCulture)}\n");
        }

        File.WriteAllText(Path.Combine(output, "loss.csv"), loss.ToString());
        var commitments = new JsonArray([.. result.Commitments.Select(c => (JsonNode)new JsonObject { ["step"] = c.Step, ["root"] = c.RootHex })]);
        File.WriteAllText(Path.Combine(output, "commitments.json"), commitments.ToJsonString(Indented) + "\n");
        File.WriteAllText(Path.Combine(output, StepRootsFileName), StepRoots.ToJson((start?.Step ?? 0) + observer.StepRootEvery, observer.StepRootEvery, observer.StepRoots) + "\n");

        var report = new JsonObject
        {
            ["model"] = JsonNode.Parse(JsonSerializer.Serialize(result.Spec)),
            ["steps"] = train.Steps,
            ["final_loss"] = result.LossLog.Count > 0 ? result.LossLog[^1].Loss : null,
            ["accuracy"] = result.Evaluation.Accuracy,
            ["validation_loss"] = result.Evaluation.ValidationLoss,
            ["unigram_loss"] = result.Evaluation.UnigramLoss,
            ["samples_per_s"] = Math.Round(train.Steps * (double)train.BatchSize / Math.Max(clock.Elapsed.TotalSeconds, 1e-9), 1),
            ["threads"] = compute.Threads,
            ["seconds"] = Math.Round(clock.Elapsed.TotalSeconds, 3),
            ["commitment"] = metadata["kumo.commitment"],
        };
        File.WriteAllText(Path.Combine(output, "report.json"), report.ToJsonString(Indented) + "\n");

        log.WriteLine(result.Evaluation.Accuracy is { } accuracy
            ? string.Create(CultureInfo.InvariantCulture, $"done: held-out accuracy {accuracy:P2}; final commitment {metadata["kumo.commitment"]}")
            : string.Create(CultureInfo.InvariantCulture, $"done: validation loss {result.Evaluation.ValidationLoss:0.0000} nats/char (unigram {result.Evaluation.UnigramLoss:0.0000}); final commitment {metadata["kumo.commitment"]}"));
    }

    private void Infer(InferWorkload infer, string inputs, string output)
    {
        (ModelSpec spec, IReadOnlyList<NamedTensor> weights, string? vocabulary, _) = LoadModel(Input(inputs, infer.Model, "model"), infer.Model);
        var report = new JsonObject { ["model"] = JsonNode.Parse(JsonSerializer.Serialize(spec)) };
        if (spec.Kind == ModelSpec.MlpKind)
        {
            if (infer.Data is null)
            {
                throw new WorkloadException("an mlp model classifies the rows of a data input: set workload.infer.data");
            }

            (float[] features, int[] labels) = ReadDigits(Input(inputs, infer.Data, "data"), infer.Data);
            int[] predicted = Inference.Classify(spec, weights, features, compute);
            var csv = new StringBuilder("row,predicted,label\n");
            int correct = 0;
            for (int i = 0; i < predicted.Length; i++)
            {
                csv.Append(CultureInfo.InvariantCulture, $"{i},{predicted[i]},{labels[i]}\n");
                correct += predicted[i] == labels[i] ? 1 : 0;
            }

            File.WriteAllText(Path.Combine(output, "predictions.csv"), csv.ToString());
            report["rows"] = predicted.Length;
            report["accuracy"] = predicted.Length == 0 ? null : (double)correct / predicted.Length;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"classified {predicted.Length} rows; accuracy against their labels {(double)correct / Math.Max(1, predicted.Length):P2}"));
        }
        else
        {
            string prompt = infer.Data is { } data ? File.ReadAllText(Input(inputs, data, "data")) : infer.Prompt ?? "";
            if (prompt.Length == 0)
            {
                throw new WorkloadException("a transformer continues a prompt: set workload.infer.prompt or workload.infer.data");
            }

            string known = vocabulary ?? throw new WorkloadException($"the model {infer.Model} has no vocabulary in its metadata ({VocabularyKey})");
            if (prompt.FirstOrDefault(c => !known.Contains(c, StringComparison.Ordinal)) is var unknown and not '\0')
            {
                throw new WorkloadException($"the prompt has the character {JsonSerializer.Serialize(unknown.ToString())}, which the model never saw; its vocabulary is {known.Length} characters");
            }

            string text = Inference.Generate(spec, weights, known, prompt, infer.Tokens, temperature: 0f, seed: (ulong)infer.Seed, compute: compute);
            File.WriteAllText(Path.Combine(output, "generated.txt"), prompt + text);
            report["prompt_chars"] = prompt.Length;
            report["generated_chars"] = text.Length;
            log.WriteLine($"generated {text.Length} characters after a {prompt.Length}-character prompt:");
            log.WriteLine(prompt + text);
        }

        File.WriteAllText(Path.Combine(output, "report.json"), report.ToJsonString(Indented) + "\n");
    }

    private void Quantize(QuantizeWorkload quantize, string inputs, string output)
    {
        string path = Input(inputs, quantize.Model, "model");
        (ModelSpec spec, IReadOnlyList<NamedTensor> weights, string? vocabulary, SafeTensorsFile file) = LoadModel(path, quantize.Model);
        if (!QuantizationSchemes.TryParse(quantize.Scheme, out QuantizationScheme scheme))
        {
            throw new WorkloadException($"unknown quantization scheme '{quantize.Scheme}'");
        }

        // Per output channel: linear weights go in as [out, in], so each quantized row is one output channel.
        var metadata = new Dictionary<string, string>(file.Metadata, StringComparer.Ordinal) { [LayoutKey] = OutInLayout };
        var outIn = new SafeTensorsFile(file.Tensors.Values.Select(t => IsLinear(t.Name, t.Shape.Count) ? Transpose(t) : t), metadata);
        QuantizedModel quantized = Quantizer.Quantize(outIn, scheme);
        File.WriteAllBytes(Path.Combine(output, "model-int8.safetensors"), quantized.File);
        IReadOnlyList<NamedTensor> restored = ToNamed(InEngineLayout(Quantizer.Dequantize(SafeTensorsFile.Parse(quantized.File))));
        long fp32Bytes;
        using (FileStream source = File.OpenRead(path))
        {
            fp32Bytes = source.Length;
        }

        var report = new JsonObject
        {
            ["scheme"] = QuantizationSchemes.Name(scheme),
            ["fp32_bytes"] = fp32Bytes,
            ["quantized_bytes"] = quantized.File.Length,
            ["tensors"] = new JsonArray([.. quantized.Reports.Select(r => (JsonNode)new JsonObject
            {
                ["name"] = r.Tensor,
                ["elements"] = r.Elements,
                ["max_abs_error"] = r.MaxAbsError,
                ["relative_rms_error"] = r.RelativeRmsError,
            })]),
        };
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"quantized {quantized.Reports.Count} weight matrices to {QuantizationSchemes.Name(scheme)}: {fp32Bytes} → {quantized.File.Length} bytes"));

        if (quantize.Eval is { } eval)
        {
            string evalPath = Input(inputs, eval, "eval");
            if (spec.Kind == ModelSpec.MlpKind)
            {
                (float[] features, int[] labels) = ReadDigits(evalPath, eval);
                double before = Inference.Accuracy(spec, weights, features, labels, compute);
                double after = Inference.Accuracy(spec, restored, features, labels, compute);
                report["fp32_accuracy"] = before;
                report["quantized_accuracy"] = after;
                report["accuracy_change"] = after - before;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"accuracy on {labels.Length} rows: fp32 {before:P2}, quantized {after:P2} ({(after - before) * 100:+0.00;-0.00;0.00} points)"));
            }
            else
            {
                var chars = new CharVocabulary(vocabulary ?? throw new WorkloadException($"the model {quantize.Model} has no vocabulary in its metadata"));
                int[] tokens = chars.Encode(File.ReadAllText(evalPath));
                double before = Inference.EvaluationLoss(spec, weights, tokens, 64, compute);
                double after = Inference.EvaluationLoss(spec, restored, tokens, 64, compute);
                report["fp32_loss"] = before;
                report["quantized_loss"] = after;
                report["loss_change"] = after - before;
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"loss: fp32 {before:0.0000}, quantized {after:0.0000} nats/char"));
            }
        }

        File.WriteAllText(Path.Combine(output, "report.json"), report.ToJsonString(Indented) + "\n");
    }

    /// <summary>
    /// Quantizes weights (per output channel for linear layers, as the quantize workload does) and returns them
    /// dequantized: what the int8 model computes with. For measuring what quantization costs.
    /// </summary>
    public static IReadOnlyList<NamedTensor> QuantizeRoundTrip(IReadOnlyList<NamedTensor> weights, QuantizationScheme scheme)
    {
        var outIn = new SafeTensorsFile(weights.Select(ToEntry).Select(t => IsLinear(t.Name, t.Shape.Count) ? Transpose(t) : t),
            new Dictionary<string, string>(StringComparer.Ordinal) { [LayoutKey] = OutInLayout });
        QuantizedModel quantized = Quantizer.Quantize(outIn, scheme);
        return ToNamed(InEngineLayout(Quantizer.Dequantize(SafeTensorsFile.Parse(quantized.File))));
    }

    /// <summary>The model a train workload asks for.</summary>
    public static ModelSpec ModelSpecFor(TrainWorkload train) => train.Model == ModelSpec.MlpKind
        ? ModelSpec.Mlp(hidden: train.Hidden)
        : ModelSpec.Transformer(context: train.Context, embed: train.Embed, layers: train.Layers, heads: train.Heads);

    /// <summary>The trainer's options for a train workload (what a validator must use to re-run its segments).</summary>
    public static TrainOptions OptionsFor(TrainWorkload train, ComputeOptions compute) => new()
    {
        Steps = train.Steps,
        BatchSize = train.BatchSize,
        LearningRate = (float)train.LearningRate,
        Optimizer = train.Optimizer,
        Seed = (ulong)train.Seed,
        CheckpointEvery = train.CheckpointEvery,
        Compute = compute,
    };

    /// <summary>The data set of a train workload from its file: digits for an MLP, text for a transformer.</summary>
    public static TrainingData LoadTrainingData(TrainWorkload train, string path) =>
        train.Model == ModelSpec.MlpKind ? LoadDigits(path, train.Data) : LoadText(path, train.Data);

    /// <summary>The output naming the commitment root after every step (<see cref="StepRoots"/>).</summary>
    public const string StepRootsFileName = "step-roots.json";

    /// <summary>The file a kept state after <paramref name="step"/> is written to under <see cref="StateRetention.Directory"/> (checkpoint format).</summary>
    public static string StateFileName(int step) => string.Create(CultureInfo.InvariantCulture, $"state-{step:D7}.safetensors");

    /// <summary>The name of the checkpoint file a train job writes after <paramref name="step"/> steps.</summary>
    public static string CheckpointFileName(int step) => string.Create(CultureInfo.InvariantCulture, $"checkpoint-{step:D7}.safetensors");

    /// <summary>Reads a checkpoint file written by a train job back into the state it holds.</summary>
    /// <exception cref="WorkloadException">It was written by another engine version, or is not a checkpoint.</exception>
    public static TrainingState ReadCheckpoint(byte[] file)
    {
        SafeTensorsFile parsed = SafeTensorsFile.Parse(file);
        if (parsed.Metadata.GetValueOrDefault("kumo.engine") is var engine && engine != EngineVersion)
        {
            throw new WorkloadException($"the checkpoint was written by engine version '{engine ?? "unknown"}', not {EngineVersion}");
        }

        if (!parsed.Metadata.TryGetValue("kumo.step", out string? stepText) || !int.TryParse(stepText, NumberStyles.None, CultureInfo.InvariantCulture, out int step))
        {
            throw new WorkloadException("a checkpoint file names its step in kumo.step");
        }

        var weights = new List<NamedTensor>();
        var state = new List<NamedTensor>();
        foreach (TensorEntry t in parsed.Tensors.Values)
        {
            bool optimizer = t.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal);
            var named = new NamedTensor(optimizer ? t.Name[OptimizerPrefix.Length..] : t.Name, [.. t.Shape.Select(d => checked((int)d))], t.ToFloat32Array());
            (optimizer ? state : weights).Add(named);
        }

        return new TrainingState(step, [.. weights.OrderBy(w => w.Name, StringComparer.Ordinal)], [.. state.OrderBy(w => w.Name, StringComparer.Ordinal)]);
    }

    private const string OptimizerPrefix = "optimizer/";

    /// <summary>A checkpoint file of <paramref name="state"/> (what <see cref="ReadCheckpoint"/> reads back).</summary>
    public static byte[] WriteCheckpoint(TrainingState state, ModelSpec spec) =>
        SafeTensorsWriter.ToBytes(
            [.. state.Weights.Select(ToEntry), .. state.OptimizerState.Select(t => ToEntry(t with { Name = OptimizerPrefix + t.Name }))],
            new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ModelKey] = JsonSerializer.Serialize(spec),
                ["kumo.step"] = state.Step.ToString(CultureInfo.InvariantCulture),
                ["kumo.root"] = state.RootHex(),
                ["kumo.engine"] = EngineVersion,
            });

    private static string Input(string inputs, string name, string what)
    {
        string path = Path.Combine(inputs, name);
        return File.Exists(path) ? path : throw new WorkloadException($"the {what} input '{name}' is not in {inputs}");
    }

    private static ClassificationData LoadDigits(string path, string name)
    {
        try
        {
            return Digits.Load(path);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            throw new WorkloadException($"the data input '{name}' is not scikit-learn's digits.csv.gz (gzip CSV of 64 pixels and a label per row): {e.Message}", e);
        }
    }

    private static (float[] Features, int[] Labels) ReadDigits(string path, string name)
    {
        try
        {
            using FileStream stream = File.OpenRead(path);
            return Digits.Read(stream);
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or IOException)
        {
            throw new WorkloadException($"the input '{name}' is not digits CSV (gzip, 64 pixels and a label per row): {e.Message}", e);
        }
    }

    private static CharCorpus LoadText(string path, string name)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(path));
        }
        catch (DecoderFallbackException e)
        {
            throw new WorkloadException($"the data input '{name}' is not UTF-8 text: {e.Message}", e);
        }

        return text.Length < 1000
            ? throw new WorkloadException($"the data input '{name}' has {text.Length} characters; a character model needs at least 1000")
            : CharCorpus.FromText(text);
    }

    /// <summary>A model written by <see cref="Train"/> (or its dequantized int8 form).</summary>
    /// <summary>A model file as an infer job reads it (architecture from its metadata; int8 files dequantized).</summary>
    /// <exception cref="WorkloadException">It is not a model a train job wrote.</exception>
    public static (ModelSpec Spec, IReadOnlyList<NamedTensor> Weights, string? Vocabulary) ReadModel(string path)
    {
        (ModelSpec spec, IReadOnlyList<NamedTensor> weights, string? vocabulary, _) = LoadModel(path, Path.GetFileName(path));
        return (spec, weights, vocabulary);
    }

    private static (ModelSpec Spec, IReadOnlyList<NamedTensor> Weights, string? Vocabulary, SafeTensorsFile File) LoadModel(string path, string name)
    {
        SafeTensorsFile file;
        try
        {
            using FileStream stream = File.OpenRead(path);
            file = SafeTensorsFile.Read(stream);
        }
        catch (SafeTensorsFormatException e)
        {
            throw new WorkloadException($"the model input '{name}' is not a valid safetensors file: {e.Message}", e);
        }

        if (!file.Metadata.TryGetValue(ModelKey, out string? specJson))
        {
            throw new WorkloadException($"the model input '{name}' does not say its architecture (no '{ModelKey}' in its metadata); was it written by a train job?");
        }

        ModelSpec spec;
        try
        {
            spec = JsonSerializer.Deserialize<ModelSpec>(specJson) ?? throw new JsonException("null");
        }
        catch (JsonException e)
        {
            throw new WorkloadException($"the model input '{name}' has an unreadable architecture in '{ModelKey}': {e.Message}", e);
        }

        SafeTensorsFile fp32 = InEngineLayout(file.Metadata.ContainsKey(Quantizer.SchemeKey) ? Quantizer.Dequantize(file) : file);
        return (spec, ToNamed(fp32), file.Metadata.GetValueOrDefault(VocabularyKey), fp32);
    }

    /// <summary>A linear layer's weight matrix (embedding tables are looked up by row and stay as they are).</summary>
    private static bool IsLinear(string name, int rank) =>
        rank == 2 && name.EndsWith(".weight", StringComparison.Ordinal) && !name.Contains("emb", StringComparison.Ordinal);

    /// <summary>Undoes the [out, in] layout of a quantized file's linear weights.</summary>
    private static SafeTensorsFile InEngineLayout(SafeTensorsFile file) =>
        file.Metadata.GetValueOrDefault(LayoutKey) == OutInLayout
            ? new SafeTensorsFile(file.Tensors.Values.Select(t => IsLinear(t.Name, t.Shape.Count) ? Transpose(t) : t),
                file.Metadata.Where(m => m.Key != LayoutKey).ToDictionary(m => m.Key, m => m.Value, StringComparer.Ordinal))
            : file;

    private static TensorEntry Transpose(TensorEntry t)
    {
        int rows = checked((int)t.Shape[0]), cols = checked((int)t.Shape[1]);
        float[] source = t.ToFloat32Array();
        float[] transposed = new float[source.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++)
            {
                transposed[(c * rows) + r] = source[(r * cols) + c];
            }
        }

        return TensorEntry.FromFloat32(t.Name, [cols, rows], transposed);
    }

    private static List<NamedTensor> ToNamed(SafeTensorsFile file) =>
        [.. file.Tensors.Values.Select(t => new NamedTensor(t.Name, [.. t.Shape.Select(d => checked((int)d))], t.ToFloat32Array()))];

    private static TensorEntry ToEntry(NamedTensor tensor) => TensorEntry.FromFloat32(tensor.Name, tensor.Shape.Select(d => (long)d), tensor.Data);

    private static string Describe(ModelSpec spec, TrainingData data) => spec.Kind == ModelSpec.MlpKind
        ? $"an MLP {spec.Inputs}→{spec.Hidden}→{spec.Classes} on {((ClassificationData)data).TrainLabels.Length} digits"
        : $"a character transformer ({spec.Layers} layers, {spec.Heads} heads, embed {spec.Embed}, context {spec.Context}) on {((CharCorpus)data).Train.Length} characters";

    /// <summary>
    /// About a hundred progress lines per run, plus one per checkpoint; each checkpoint's full state is written as
    /// <c>checkpoint-NNNNNNN.safetensors</c> so validators can re-run any segment from it.
    /// </summary>
    private sealed class ProgressLog(TextWriter log, int steps, int checkpointEvery, string output, ModelSpec spec, StateRetention? retention)
        : ICheckpointObserver, IStepRootObserver
    {
        private long _keptBytes;
        private bool _keeping = retention is not null;

        public List<string> StepRoots { get; } = [];

        public int StepRootEvery { get; } = Workloads.StepRoots.IntervalFor(steps, checkpointEvery);

        public bool KeepsStepStates => _keeping;

        public void OnStepRoot(int step, string rootHex) => StepRoots.Add(rootHex);

        /// <summary>
        /// Keeps the state within the budget; past it, or when the disk refuses, it stops keeping (the job goes on: a
        /// spot check that would start from a state not kept starts from the segment's checkpoint instead).
        /// </summary>
        public void OnStepState(TrainingState state)
        {
            byte[] bytes = WriteCheckpoint(state, spec);
            if (_keptBytes + bytes.Length > retention!.MaxBytes)
            {
                StopKeeping($"keeping no more step states: {_keptBytes + bytes.Length} bytes would pass the budget of {retention.MaxBytes}");
                return;
            }

            string path = Path.Combine(retention.Directory, StateFileName(state.Step));
            try
            {
                Directory.CreateDirectory(retention.Directory);
                File.WriteAllBytes(path + ".tmp", bytes);
                File.Move(path + ".tmp", path, overwrite: true);
                _keptBytes += bytes.Length;
            }
            catch (IOException e)
            {
                File.Delete(path + ".tmp");
                StopKeeping($"keeping no more step states: {e.Message}");
            }
        }

        private void StopKeeping(string why)
        {
            _keeping = false;
            log.WriteLine(why);
            log.Flush();
        }

        public void OnCheckpointState(TrainingState state) =>
            File.WriteAllBytes(Path.Combine(output, CheckpointFileName(state.Step)), WriteCheckpoint(state, spec));

        private readonly int _every = Math.Max(1, steps / 100);
        private double _throughput;

        public void OnStep(int step, float loss, double samplesPerSecond)
        {
            _throughput = _throughput == 0 ? samplesPerSecond : (0.9 * _throughput) + (0.1 * samplesPerSecond);
            if (step % _every == 0 || step == 1 || step == steps)
            {
                log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {step}/{steps}  loss {loss:0.0000}  {_throughput:0} samples/s"));
                log.Flush();
            }
        }

        public void OnCheckpoint(int step, string rootHex)
        {
            log.WriteLine($"checkpoint at step {step}: commitment {rootHex}");
            log.Flush();
        }
    }
}

/// <summary>A built-in workload cannot run as asked; the message says what is wrong with which input or field.</summary>
public sealed class WorkloadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>Where a train run keeps its step states (<see cref="WorkloadRunner.Retention"/>), and at most how many bytes of them.</summary>
public sealed record StateRetention(string Directory, long MaxBytes);
