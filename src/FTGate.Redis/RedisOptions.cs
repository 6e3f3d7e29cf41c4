using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;

namespace FTGate.Redis;

/// <summary>
/// Settings of the Redis stores of a farm (bound from <c>FTGate:Redis</c>). Every node of a farm must use the same
/// <see cref="Configuration"/> server, the same <see cref="KeyPrefix"/> and the same encryption key.
/// </summary>
public sealed class RedisOptions
{
    /// <summary>
    /// A StackExchange.Redis configuration string, for example <c>redis1:6379,redis2:6379,password=…,ssl=true</c>
    /// (TLS, password, sentinel <c>serviceName=</c> and cluster endpoints as that library supports them).
    /// </summary>
    public string? Configuration { get; set; }

    /// <summary>The prefix of every key FTGate writes.</summary>
    /// <value>Default <c>ftgate:</c>.</value>
    public string KeyPrefix { get; set; } = "ftgate:";

    /// <summary>
    /// The AES-256 key (32 bytes) that encrypts token-store entries at rest; bound from configuration as base64. Set this or
    /// <see cref="EncryptionKeyFile"/>, the same on every node.
    /// </summary>
    [SuppressMessage("Performance", "CA1819:Properties should not return arrays", Justification = "Bound from configuration (base64) like FileTokenStoreOptions.Key.")]
    public byte[]? EncryptionKey { get; set; }

    /// <summary>
    /// A file holding the 32-byte AES-256 key (for example the file token store's <c>ftgate.tokens.key</c>, or
    /// <c>openssl rand 32 &gt; farm.key</c>), readable only by the service account; copy the same file to every node.
    /// </summary>
    public string? EncryptionKeyFile { get; set; }

    /// <summary>How long an account's poll lease lasts without renewal: a node that dies loses it after this time.</summary>
    /// <value>Default 30 seconds; renewed every third of it while held.</value>
    public TimeSpan LeaseTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a grant's refresh lock lasts without renewal (a node that dies mid-refresh releases it after this time).</summary>
    /// <value>Default 30 seconds; renewed every third of it while held.</value>
    public TimeSpan GrantLockTime { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a caller waits for a grant's refresh lock before giving up with <see cref="RedisUnavailableException"/>.</summary>
    /// <value>Default 2 minutes.</value>
    public TimeSpan GrantLockWaitTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How long a pending Authorize Now request (token-store keys starting with <c>pending/</c>, valid 10 minutes) is kept
    /// in Redis before Redis deletes it.
    /// </summary>
    /// <value>Default 1 hour.</value>
    public TimeSpan PendingAuthorizationRetention { get; set; } = TimeSpan.FromHours(1);

    /// <summary>This node's name in lease records (shown to operators).</summary>
    /// <value>Default: the machine name and the process id.</value>
    public string NodeName { get; set; } = $"{Environment.MachineName}:{Environment.ProcessId}";
}

/// <summary>Validates <see cref="RedisOptions"/> at start, with messages that name the field and the fix.</summary>
internal sealed class RedisOptionsValidator : IValidateOptions<RedisOptions>
{
    public ValidateOptionsResult Validate(string? name, RedisOptions options)
    {
        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            failures.Add("FTGate:Redis:Configuration is required: set it to a StackExchange.Redis configuration string such as '127.0.0.1:6379' (add password=…, ssl=true as needed).");
        }

        if (string.IsNullOrEmpty(options.KeyPrefix))
        {
            failures.Add("FTGate:Redis:KeyPrefix must not be empty: leave it unset for the default 'ftgate:', or give each farm sharing one Redis its own prefix.");
        }

        bool hasKey = options.EncryptionKey is not null;
        bool hasFile = !string.IsNullOrWhiteSpace(options.EncryptionKeyFile);
        if (hasKey == hasFile)
        {
            failures.Add(hasKey
                ? "FTGate:Redis: set EncryptionKey or EncryptionKeyFile, not both."
                : "FTGate:Redis:EncryptionKeyFile (or EncryptionKey) is required: tokens are encrypted before they reach Redis. Create a key with 'openssl rand 32 > farm.key; chmod 600 farm.key' and copy the same file to every node.");
        }
        else if (options.EncryptionKey is { Length: not 32 } key)
        {
            failures.Add($"FTGate:Redis:EncryptionKey must be 32 bytes (AES-256, base64 in configuration); {key.Length} were given.");
        }

        if (options.LeaseTime < TimeSpan.FromSeconds(1) || options.LeaseTime > TimeSpan.FromMinutes(10))
        {
            failures.Add($"FTGate:Redis:LeaseTime must be between 1 second and 10 minutes ({options.LeaseTime} given); the default is 30 seconds.");
        }

        if (options.GrantLockTime < TimeSpan.FromSeconds(1) || options.GrantLockTime > TimeSpan.FromMinutes(10))
        {
            failures.Add($"FTGate:Redis:GrantLockTime must be between 1 second and 10 minutes ({options.GrantLockTime} given); the default is 30 seconds.");
        }

        if (options.GrantLockWaitTimeout <= TimeSpan.Zero)
        {
            failures.Add("FTGate:Redis:GrantLockWaitTimeout must be positive; the default is 2 minutes.");
        }

        if (options.PendingAuthorizationRetention < TimeSpan.FromMinutes(10))
        {
            failures.Add("FTGate:Redis:PendingAuthorizationRetention must be at least 10 minutes (an Authorize Now request is valid that long).");
        }

        if (string.IsNullOrWhiteSpace(options.NodeName))
        {
            failures.Add("FTGate:Redis:NodeName must not be empty.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
