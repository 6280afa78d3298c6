using System.Text.RegularExpressions;
using Kumo.Tensor.Workloads;

namespace Kumo.Provider.Verification;

/// <summary>
/// The training states this agent kept after the rooted steps of its finished train jobs (outside their leases'
/// directories, which are deleted), so that it can reveal the one a spot check of a single commit interval starts from
/// (<see cref="StateRevealer"/>). A job's states are forgotten <see cref="MaxAge"/> after it ended: by then its
/// verification is long over.
/// </summary>
public sealed partial class RetainedStates(string directory, TimeProvider time)
{
    /// <summary>How long a finished job's states are kept.</summary>
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromHours(6);

    /// <summary>
    /// Moves the states a job's run kept (the files in <paramref name="keptDirectory"/>, if it exists) here, under the job,
    /// and forgets jobs older than <see cref="MaxAge"/>.
    /// </summary>
    public void Retain(string jobId, string keptDirectory)
    {
        Forget();
        if (!SafeId().IsMatch(jobId) || !Directory.Exists(keptDirectory))
        {
            return;
        }

        string target = Path.Combine(directory, jobId);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(keptDirectory, "state-*.safetensors"))
        {
            File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        Directory.SetLastWriteTimeUtc(target, time.GetUtcNow().UtcDateTime);
    }

    /// <summary>The file of the state kept after <paramref name="step"/> of <paramref name="jobId"/>, or null.</summary>
    public string? Find(string jobId, int step)
    {
        if (!SafeId().IsMatch(jobId) || step < 1)
        {
            return null; // never a path built from what the hub sent unless it is a plain job id
        }

        string path = Path.Combine(directory, jobId, WorkloadRunner.StateFileName(step));
        return File.Exists(path) ? path : null;
    }

    /// <summary>Deletes the states of jobs that ended more than <see cref="MaxAge"/> ago.</summary>
    public void Forget()
    {
        if (!Directory.Exists(directory))
        {
            return;
        }

        DateTime cutoff = (time.GetUtcNow() - MaxAge).UtcDateTime;
        foreach (string job in Directory.EnumerateDirectories(directory))
        {
            if (Directory.GetLastWriteTimeUtc(job) < cutoff)
            {
                try
                {
                    Directory.Delete(job, recursive: true);
                }
                catch (IOException)
                {
                    // in use or already gone: the next sweep tries again
                }
            }
        }
    }

    /// <summary>How many states are kept for a job (tests, status).</summary>
    public int Count(string jobId) =>
        SafeId().IsMatch(jobId) && Directory.Exists(Path.Combine(directory, jobId))
            ? Directory.EnumerateFiles(Path.Combine(directory, jobId), "state-*.safetensors").Count()
            : 0;

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex SafeId();
}
