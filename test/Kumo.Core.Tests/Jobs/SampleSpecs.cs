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

    public const string Cid = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku";

    public const string OtherCid = "bafkreie7q3iidccmpvszul7kudcvvuavuo7u6gzlbobczuk5nqk3b4akba";

    /// <summary><see cref="Minimal"/> with the text <paramref name="find"/> replaced by <paramref name="replace"/>.</summary>
    public static string MinimalWith(string find, string replace) =>
        Minimal.Contains(find, StringComparison.Ordinal)
            ? Minimal.Replace(find, replace, StringComparison.Ordinal)
            : throw new ArgumentException($"'{find}' is not in the minimal spec", nameof(find));
}
