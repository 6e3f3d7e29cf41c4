namespace FTGate.SmartPop;

/// <summary>Process-wide SmartPop settings (<c>FTGate:SmartPop</c>): concurrency, the memory budget and back-off.</summary>
public sealed class SmartPopOptions
{
    /// <summary>How many accounts the hosted poller collects at the same time.</summary>
    /// <value>Default 4.</value>
    public int MaxConcurrentFetches { get; set; } = 4;

    /// <summary>
    /// How many connections the poller opens to one server host at the same time. Microsoft 365 and Gmail serve every
    /// mailbox from one host name (outlook.office365.com, pop.gmail.com), so with many accounts there this, not
    /// <see cref="MaxConcurrentFetches"/>, can be the limit: raise both together. Lower it for a small server that limits
    /// connections per client address.
    /// </summary>
    /// <value>Default 4 (the same as <see cref="MaxConcurrentFetches"/>).</value>
    public int MaxConnectionsPerHost { get; set; } = 4;

    /// <summary>
    /// The bytes of message data all concurrent fetches in the process may hold in memory together. Messages stream from
    /// the connection into the sink, so a fetch holds only its read buffer and its sink's (about 64 KiB plus 8 KiB per
    /// pipelined message) whatever the message size; each batch leases that much before its RETRs.
    /// </summary>
    /// <value>Default 67,108,864 (64 MiB).</value>
    public long MemoryBudgetBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// Where the server offers PIPELINING, messages up to this size are retrieved in pipelined batches. Messages stream into
    /// the sink whatever their size, so a larger message costs no memory in a batch; it shares the batch's single commit
    /// (file flushes, folder flush, seen records) instead of paying one of its own.
    /// </summary>
    /// <value>Default 4,194,304 (4 MiB, the same as <see cref="PipelineBatchMaxBytes"/>). 0 disables batching.</value>
    public long PipelineMessageMaxBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>
    /// The most bytes (as listed) one pipelined batch holds, also capped by half the memory budget. A batch is committed as a
    /// whole, so this bounds what a crash makes the next fetch download again.
    /// </summary>
    /// <value>Default 4,194,304 (4 MiB).</value>
    public long PipelineBatchMaxBytes { get; set; } = 4L * 1024 * 1024;

    /// <summary>The longest wait between retries of an account that keeps failing transiently.</summary>
    /// <value>Default 1 hour.</value>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long shutdown waits for a running fetch to finish its current message and send QUIT.</summary>
    /// <value>Default 30 seconds.</value>
    public TimeSpan ShutdownGracePeriod { get; set; } = TimeSpan.FromSeconds(30);
}
