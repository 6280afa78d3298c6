using Kumo.Client;

namespace Kumo.Provider.Verification;

/// <summary>
/// Content a validator or a disputing party needs, fetched from the hub by CID (verified as it arrives) into a
/// per-agent cache, and dropped after a day without use.
/// </summary>
public sealed class ContentCache(HubClient hub, string directory)
{
    private readonly SemaphoreSlim _one = new(1, 1);

    /// <summary>Local paths of <paramref name="cids"/>, downloading what is not cached.</summary>
    public async Task<IReadOnlyDictionary<string, string>> FetchAsync(IEnumerable<string> cids, CancellationToken cancellationToken)
    {
        await _one.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(directory);
            Prune();
            var paths = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (string cid in cids.Distinct(StringComparer.Ordinal))
            {
                string path = Path.Combine(directory, cid);
                if (!File.Exists(path))
                {
                    string partial = path + ".part";
                    await hub.DownloadAsync(cid, partial, progress: null, cancellationToken);
                    File.Move(partial, path, overwrite: true);
                }

                File.SetLastWriteTimeUtc(path, DateTime.UtcNow);
                paths[cid] = path;
            }

            return paths;
        }
        finally
        {
            _one.Release();
        }
    }

    private void Prune()
    {
        foreach (FileInfo file in new DirectoryInfo(directory).EnumerateFiles())
        {
            if (file.LastWriteTimeUtc < DateTime.UtcNow.AddDays(-1))
            {
                file.Delete();
            }
        }
    }
}
