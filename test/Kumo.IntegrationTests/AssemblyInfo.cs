// Providers need bubblewrap and cgroups: Kumo's agent, and so these tests, are Linux-only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]

// Each class starts its own network of processes; one at a time keeps a 2-core machine honest about timing.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
