using Kumo.Cli.Commands;
using Kumo.Cli.Devnet;
using Kumo.Client;
using Kumo.Jobs;
using Kumo.Protocol;

namespace Kumo.Cli.Bench;

/// <summary>
/// Time from `job submit` to the workload's first log line reaching the submitter, on a devnet of real
/// processes, and where that time goes: submission (read spec, sign, POST), queue to offer, offer to
/// acceptance, acceptance to sandbox start, start to the hub storing the first line, hub to the follower.
/// Hub-side moments come from the hub's own records; all processes share this machine's clock.
/// </summary>
public static class FirstLogBenchmark
{
    public sealed record Result(
        string Scenario,
        int Runs,
        double TotalMsP50,
        double TotalMsMax,
        double SubmitMsP50,
        double QueueToOfferMsP50,
        double OfferToAcceptMsP50,
        double AcceptToStartMsP50,
        double StartToHubLogMsP50,
        double HubToClientMsP50);

    public static async Task<Result> RunAsync(int runs, Action<string>? status, CancellationToken ct)
    {
        string directory = Path.Combine(Path.GetTempPath(), "kumo-bench-devnet-" + Guid.NewGuid().ToString("N")[..8]);
        await using LocalNetwork network = await LocalNetwork.StartAsync(
            new LocalNetworkOptions { Directory = directory, Providers = 1, SimulatedGpus = [] }, status, ct);
        string spec = Path.Combine(directory, "first-log.yaml");
        await File.WriteAllTextAsync(spec, """
            version: kumo/v1
            name: first-log
            resources: { cpu: 0.5, memory: 64Mi, disk: 16Mi }
            workload:
              exec: { command: /bin/echo, args: ["first line"] }
            price: { maxPerHour: 1 }
            timeout: 1m
            """, ct);

        using var client = HubClient.Create(network.HubUrl);
        var submitter = new JobSubmitter(client, new RequestSigner(KeyFile.Load(network.TenantKeyPath)));
        var samples = new List<double[]>();
        for (int i = 0; i < runs; i++)
        {
            status?.Invoke($"run {i + 1} of {runs}");
            long t0 = NowMs();
            (JobAccepted accepted, _) = await submitter.SubmitAsync(spec, null, ct);
            long submitted = NowMs();
            long firstLine = 0;
            await foreach (LogFollowItem item in client.FollowLogsAsync(accepted.JobId, 0, ct))
            {
                if (firstLine == 0 && item.Line is { Stream: LogStream.Stdout })
                {
                    firstLine = NowMs();
                }

                if (item.End is not null)
                {
                    break;
                }
            }

            JobView job = await client.GetJobAsync(accepted.JobId, ct);
            LeaseView lease = job.Leases.Single();
            if (job.State != JobState.Succeeded || lease.FirstLogAt is null || lease.AcceptedAt is null || lease.StartedAt is null)
            {
                throw new CliException($"benchmark job {job.Id} ended {job.State}; see the devnet logs in {directory}");
            }

            long created = job.CreatedAt.ToUnixTimeMilliseconds();
            samples.Add(
            [
                firstLine - t0,
                submitted - t0,
                lease.OfferedAt.ToUnixTimeMilliseconds() - created,
                lease.AcceptedAt.Value.ToUnixTimeMilliseconds() - lease.OfferedAt.ToUnixTimeMilliseconds(),
                lease.StartedAt.Value.ToUnixTimeMilliseconds() - lease.AcceptedAt.Value.ToUnixTimeMilliseconds(),
                lease.FirstLogAt.Value.ToUnixTimeMilliseconds() - lease.StartedAt.Value.ToUnixTimeMilliseconds(),
                firstLine - lease.FirstLogAt.Value.ToUnixTimeMilliseconds(),
            ]);
        }

        double P50(int column) => Median(samples.Select(s => s[column]));
        var result = new Result("first_log", runs, P50(0), samples.Max(s => s[0]), P50(1), P50(2), P50(3), P50(4), P50(5), P50(6));
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for inspection if something still holds it.
        }

        return result;
    }

    private static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
