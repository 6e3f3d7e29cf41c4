using FTGate.OAuth.Tests.TestSupport;
using System.Collections.Concurrent;
using System.Web;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth.Tests.MicrosoftProvider;

/// <summary>Collects every formatted log line and logged exception, to prove no secret reaches the logs.</summary>
internal sealed class CapturingLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(EventId Id, LogLevel Level, string Text)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturingLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string text = formatter(state, exception);
            if (state is IEnumerable<KeyValuePair<string, object?>> values)
            {
                text += " | " + string.Join(", ", values.Select(v => $"{v.Key}={v.Value}"));
            }

            owner.Entries.Enqueue((eventId, logLevel, exception is null ? text : text + " | " + exception));
        }
    }
}

internal sealed class StaticOptionsMonitor<T>(string name, T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name1) => string.Equals(name1, name, StringComparison.Ordinal) ? value : throw new InvalidOperationException($"No options named '{name1}'.");

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}

/// <summary>One fake Entra, one token store and a log capture; builds providers (new MSAL app instances each time) over them.</summary>
internal sealed class MicrosoftTestHost : IDisposable
{
    public const string Secret = "Xy8Q~fakeClientSecretValue.1234567890abcd";
    public const string User = "alice@contoso.com";
    public static readonly Uri Redirect = new("https://mail.example.com/oauth/callback");

    public FakeEntra Entra { get; } = new();

    public ITokenStore Store { get; init; } = new InMemoryTokenStore();

    public CapturingLoggerProvider Logs { get; } = new();

    public List<string> ExceptionTexts { get; } = [];

    public MicrosoftAuthProvider Create(Action<MicrosoftAuthOptions>? configure = null, TimeProvider? time = null, string name = "Contoso", IGrantLock? grantLock = null)
    {
        var options = new MicrosoftAuthOptions
        {
            ClientId = FakeEntra.ClientId,
            TenantId = "contoso.com",
            ClientSecret = Secret,
            UserName = User,
            EnableInstanceDiscovery = false,
        };
        configure?.Invoke(options);
        var factory = LoggerFactory.Create(b => b.AddProvider(Logs).SetMinimumLevel(LogLevel.Trace));
        return new MicrosoftAuthProvider(name, new StaticOptionsMonitor<MicrosoftAuthOptions>(name, options), Store, time ?? TimeProvider.System, factory, new TestHttpClientFactory(Entra), grantLock);
    }

    public static Dictionary<string, string?> Query(Uri uri)
    {
        var values = HttpUtility.ParseQueryString(uri.Query);
        return values.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => values[k], StringComparer.Ordinal);
    }

    /// <summary>Runs Begin, "signs in" at the fake (which records the PKCE challenge and redirect URI) and Complete.</summary>
    public async Task<AuthorizationResult> AuthorizeAsync(MicrosoftAuthProvider provider, Uri? redirect = null)
    {
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(redirect ?? Redirect), TestContext.Current.CancellationToken);
        Dictionary<string, string?> q = Query(challenge.AuthorizationUri);
        string code = Entra.Authorize(q["code_challenge"]!, q["redirect_uri"]!);
        return await provider.CompleteAuthorizationAsync(new AuthorizationCallback { Code = code, State = q["state"] }, TestContext.Current.CancellationToken);
    }

    public async Task<T> CaptureAsync<T>(Func<Task> action)
        where T : Exception
    {
        T ex = await Assert.ThrowsAnyAsync<T>(action);
        ExceptionTexts.Add(ex.ToString());
        if (ex is FTGateException f)
        {
            ExceptionTexts.Add(f.Remedy ?? string.Empty);
        }

        if (ex is AuthorizationException a)
        {
            ExceptionTexts.Add(a.ErrorDescription ?? string.Empty);
        }

        return ex;
    }

    /// <summary>No token, secret, code or verifier appears in any captured log line or exception text.</summary>
    public void AssertNoSecretsLeaked(params string[] extra)
    {
        string[] secrets = [.. Entra.Secrets, Secret, .. extra];
        Assert.NotEmpty(Logs.Entries);
        foreach (string text in Logs.Entries.Select(e => e.Text).Concat(ExceptionTexts))
        {
            foreach (string secret in secrets.Where(s => s.Length > 8))
            {
                Assert.DoesNotContain(secret, text, StringComparison.Ordinal);
            }
        }
    }

    public void Dispose() => Entra.Dispose();
}
