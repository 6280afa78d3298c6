using Kumo.Protocol;
using Kumo.Provider.Verification;
using Microsoft.Extensions.Logging;

namespace Kumo.Provider.Tests.Verification;

/// <summary>What the machine's operator reads when the hub settles a round: why the machine does or does not get work.</summary>
public class HardwareProofResponderTests
{
    private sealed class Recorder : ILogger
    {
        public List<(LogLevel Level, string Message)> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Add((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void A_pass_is_reported_with_its_tier_and_each_devices_time()
    {
        var log = new Recorder();
        HardwareProofResponder.Report(new HardwareProofResult("hwc-1", true, 42,
            [new HardwareDeviceResult("GPU-a", true, "passed", "", 256, 130)], (long)TimeSpan.FromMinutes(45).TotalMilliseconds), log);

        (LogLevel level, string message) = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Information, level);
        Assert.Contains("passed", message);
        Assert.Contains("tier 42", message);
        Assert.Contains("GPU-a n=256 in 130 ms", message);
        Assert.Contains("45 min", message);
    }

    [Fact]
    public void A_failure_names_the_device_the_code_the_reason_and_that_no_work_comes_until_a_round_passes()
    {
        var log = new Recorder();
        HardwareProofResponder.Report(new HardwareProofResult("hwc-2", false, 0,
        [
            new HardwareDeviceResult("GPU-a", true, "passed", "", 256, 130),
            new HardwareDeviceResult("GPU-b", false, "deadline", "no commitment within 5602 ms", 256, 0),
        ], 10_000), log);

        (LogLevel level, string message) = Assert.Single(log.Lines);
        Assert.Equal(LogLevel.Warning, level);
        Assert.Contains("FAILED on GPU-b: deadline: no commitment within 5602 ms", message);
        Assert.Contains("no work until a round passes", message);
        Assert.Contains("10 s", message);
        Assert.Contains("kumo provider prove", message);
    }
}
