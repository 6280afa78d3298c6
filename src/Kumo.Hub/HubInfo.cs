using System.Reflection;

namespace Kumo.Hub;

public static class HubInfo
{
    public static string Version { get; } =
        typeof(HubInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";
}
