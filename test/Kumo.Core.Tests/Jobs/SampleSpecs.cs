namespace Kumo.Core.Tests.Jobs;

/// <summary>Spec texts shared by the job spec tests.</summary>
internal static class SampleSpecs
{
    /// <summary>The example from docs/JOB-SPEC.md: every field, valid.</summary>
    public const string Full = """
        version: kumo/v1
        name: hello-world
        resources:
          cpu: 1
          memory: 256Mi
          disk: 1Gi
          gpu:
            count: 1
            model: "H100*"
            vram: 40Gi
            vendor: nvidia
        workload:
          exec:
            command: /bin/sh
            args: ["-c", "echo hi > out/hello.txt"]
            env: { GREETING: hello }
            network: false
          inputs:
            - name: words.txt
              path: ./words.txt
            - name: model.bin
              cid: bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
          outputs: ["out/*.txt"]
        price:
          maxPerHour: 2.5
        timeout: 10m
        """;

    /// <summary>Only the required fields.</summary>
    public const string Minimal = """
        version: kumo/v1
        name: minimal
        resources:
          cpu: 500m
          memory: 64Mi
          disk: 0
        workload:
          exec:
            command: /bin/true
        price:
          maxPerHour: 1
        timeout: 90s
        """;

    /// <summary>The cluster example from docs/JOB-SPEC.md: four H100 nodes, market terms and a checkpoint, valid.</summary>
    public const string Cluster = """
        version: kumo/v1
        name: llm-finetune
        resources:
          cpu: 32
          memory: 512Gi
          disk: 2Ti
          gpu:
            count: 8
            model: "H100*"
            vram: 80Gi
            vendor: nvidia
            interface: sxm
        workload:
          exec:
            command: torchrun
            args: ["--nnodes=4", "train.py", "--checkpoint-dir", "ckpt"]
          inputs:
            - name: dataset.tar
              cid: bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku
          outputs: ["model/**"]
        cluster:
          nodes: 4
          maxRtt: 5ms
        market:
          mode: auction
          window: 30s
          accept: manual
          minReputation: 0.8
          regions: [eu-west, us-east]
          auditor: kumo12nhs4un622p8srz6fcku6muf8330f636wvft7a
          attested: { tier: datacenter }
        checkpoint:
          path: ckpt
          every: 10m
        retries: 3
        price:
          maxPerHour: 80
        timeout: 2d
        """;

    /// <summary>A valid account id, used as an auditor.</summary>
    public const string Auditor = "kumo12nhs4un622p8srz6fcku6muf8330f636wvft7a";

    /// <summary>Another valid account id.</summary>
    public const string OtherAuditor = "kumo1tls9ndthylhp6kxf33fdqaeuyjvxcku7g27835";

    public const string Cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    public const string OtherCid = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba";

    /// <summary><see cref="Minimal"/> with <paramref name="lines"/> added at the end; the first of them is line 13.</summary>
    public static string MinimalPlus(string lines) => Minimal + "\n" + lines;

    /// <summary><see cref="Minimal"/> with the text <paramref name="find"/> replaced by <paramref name="replace"/>.</summary>
    public static string MinimalWith(string find, string replace) =>
        Minimal.Contains(find, StringComparison.Ordinal)
            ? Minimal.Replace(find, replace, StringComparison.Ordinal)
            : throw new ArgumentException($"'{find}' is not in the minimal spec", nameof(find));
}
