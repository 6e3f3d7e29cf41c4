namespace FTGate.SmartPop;

/// <summary>Collects mail from one POP3 account, and tests an account's connection step by step.</summary>
public interface ISmartPopClient
{
    /// <summary>
    /// Connects, logs in (OAuth2 token or password), lists the mailbox, and delivers every new message to
    /// <paramref name="sink"/>; a message is recorded as seen only after the sink returns, and deleted (when configured)
    /// only after that. QUIT commits the deletions. A failure at any point loses nothing: whatever was not recorded is
    /// offered again in the next poll.
    /// </summary>
    /// <param name="account">The account.</param>
    /// <param name="sink">Where messages go.</param>
    /// <param name="progress">Receives progress reports.</param>
    /// <param name="cancellationToken">
    /// Stops after the current message: its delivery is cancelled cleanly (nothing half-delivered), QUIT is still sent so
    /// deletions of already delivered messages commit, then <see cref="OperationCanceledException"/> is thrown.
    /// </param>
    /// <returns>What was done. Failures after login (a broken connection) are reported in <see cref="FetchResult.Error"/>.</returns>
    /// <exception cref="FTGate.OAuth.ReauthorizationRequiredException">The account's provider needs a person to authorize again.</exception>
    /// <exception cref="FTGate.OAuth.TransientAuthorizationException">The provider is unavailable; try later.</exception>
    /// <exception cref="Pop3ConnectionException">The server could not be reached, TLS failed, or the connection broke before listing.</exception>
    /// <exception cref="Pop3CommandException">The server refused the login (after one forced token refresh) or a listing command.</exception>
    /// <exception cref="FTGate.OAuth.FTGateConfigurationException">The account is invalid.</exception>
    /// <example>
    /// <code>
    /// FetchResult result = await client.FetchAsync(account, new MaildirMessageSink("/var/mail/alice"), cancellationToken: ct);
    /// Console.WriteLine($"{result.Delivered} delivered, {result.SkippedTooLarge} too large");
    /// </code>
    /// </example>
    Task<FetchResult> FetchAsync(SmartPopAccount account, IMessageSink sink, IProgress<FetchProgress>? progress = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Walks the chain (resolve host, connect, TLS and certificate, capabilities, token acquisition and inspection, login,
    /// STAT) and reports each step; the failing step carries a cause and remedy. Never throws for a failing step and never
    /// changes the mailbox.
    /// </summary>
    /// <param name="account">The account.</param>
    /// <param name="cancellationToken">Cancels the test.</param>
    /// <returns>The report.</returns>
    Task<TestReport> TestAsync(SmartPopAccount account, CancellationToken cancellationToken = default);
}
