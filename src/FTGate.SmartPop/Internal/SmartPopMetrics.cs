using System.Diagnostics.Metrics;

namespace FTGate.SmartPop.Internal;

/// <summary>The <c>FTGate.SmartPop</c> meter: messages, bytes and failures, tagged by account.</summary>
internal static class SmartPopMetrics
{
    public const string MeterName = "FTGate.SmartPop";

    private static readonly Meter Meter = new(MeterName, typeof(SmartPopMetrics).Assembly.GetName().Version?.ToString());

    public static readonly Counter<long> Messages = Meter.CreateCounter<long>("ftgate.smartpop.messages", "{message}", "Messages delivered to the sink.");

    public static readonly Counter<long> Bytes = Meter.CreateCounter<long>("ftgate.smartpop.bytes", "By", "Bytes delivered to the sink.");

    public static readonly Counter<long> Failures = Meter.CreateCounter<long>("ftgate.smartpop.failures", "{failure}", "Failed polls and failed message deliveries.");

    public static readonly Counter<long> Skipped = Meter.CreateCounter<long>("ftgate.smartpop.skipped", "{message}", "Messages skipped as too large.");

    public static KeyValuePair<string, object?> Account(string name) => new("ftgate.smartpop.account", name);

    public static KeyValuePair<string, object?> Kind(string kind) => new("ftgate.smartpop.failure", kind);
}
