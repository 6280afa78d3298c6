namespace Kumo.Provider.Sandbox;

/// <summary>Bytes used under a directory: the apparent size of every file, never following symlinks.</summary>
internal static class DirectoryUsage
{
    private static readonly EnumerationOptions Walk = new()
    {
        RecurseSubdirectories = true,
        IgnoreInaccessible = true,
        // Symlinks are neither counted nor followed: a workload could otherwise point one at the host's /.
        AttributesToSkip = FileAttributes.ReparsePoint,
        ReturnSpecialDirectories = false,
    };

    /// <summary>
    /// Sums file lengths (so a sparse file counts at its full length, and hard links once per name: both err on the
    /// side of the limit). Files that vanish during the walk are skipped.
    /// </summary>
    public static long Measure(string directory)
    {
        long total = 0;
        try
        {
            foreach (var file in new DirectoryInfo(directory).EnumerateFiles("*", Walk))
            {
                try
                {
                    total += file.Length;
                }
                catch (FileNotFoundException)
                {
                    // Deleted between listing and stat.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The directory itself is gone or unreadable; what was counted so far stands.
        }

        return total;
    }
}
