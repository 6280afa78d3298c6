using System.Globalization;

namespace Kumo.Protocol;

/// <summary>"host:port" addresses as providers publish them (cluster peers, probes): one parser for the hub and the agents.</summary>
public static class HostPort
{
    /// <summary>Splits "host:port" (or "[v6]:port"), or says what is wrong with it. Port 0 (any free port) only for listening.</summary>
    public static bool TryParse(string address, out string host, out int port, out string? error, bool forListening = false)
    {
        host = "";
        port = 0;
        int colon = address.LastIndexOf(':');
        if (colon <= 0 || colon == address.Length - 1 || address.Length > 255 || address.AsSpan(0, colon).ContainsAny(" /\\\t\r\n"))
        {
            error = $"'{address}' is not host:port";
            return false;
        }

        host = address[..colon].Trim('[', ']');
        if (!int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port > 65535 || (port == 0 && !forListening))
        {
            error = forListening ? $"'{address}' has no valid port (0–65535, 0 for any free port)" : $"'{address}' has no valid port (1–65535)";
            return false;
        }

        error = null;
        return true;
    }
}
