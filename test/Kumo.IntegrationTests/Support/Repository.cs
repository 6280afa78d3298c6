namespace Kumo.IntegrationTests.Support;

public static class Repository
{
    /// <summary>The checkout's root (where Kumo.slnx is).</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Kumo.slnx")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException("Kumo.slnx not found above " + AppContext.BaseDirectory);
    }
}
