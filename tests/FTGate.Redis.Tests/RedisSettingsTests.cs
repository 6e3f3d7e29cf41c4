using FTGate.OAuth;
using FTGate.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FTGate.Redis.Tests;

public sealed class RedisSettingsTests(RedisFixture redis)
{
    [Fact]
    public async Task Connect_ToARedisWithoutAofAndWithEviction_WarnsNamingBothSettings()
    {
        redis.Require();
        CancellationToken ct = TestContext.Current.CancellationToken;
        await using RedisServer own = await RedisServer.StartNewAsync(ct);
        await own.CommandAsync("CONFIG SET appendonly no", ct);
        await own.CommandAsync("CONFIG SET maxmemory-policy allkeys-lru", ct);
        var logs = new CapturingLoggerProvider();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(logs));
        services.AddFTGate().UseRedis(o =>
        {
            o.Configuration = own.Configuration;
            o.EncryptionKeyFile = redis.KeyFile;
        });
        await using ServiceProvider provider = services.BuildServiceProvider();
        ITokenStore store = provider.GetRequiredService<ITokenStore>();

        await store.SetAsync("k", "v"u8.ToArray(), null, ct);
        await store.GetAsync("k", ct);
        string warnings = await logs.WaitForAsync(l => l.Contains("maxmemory-policy", StringComparison.Ordinal), ct);

        Assert.Contains("appendonly is 'no'", warnings, StringComparison.Ordinal);
        Assert.Contains("maxmemory-policy is 'allkeys-lru'", warnings, StringComparison.Ordinal);
    }

    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly List<string> _lines = [];
        private readonly List<(Func<string, bool> Match, TaskCompletionSource Done)> _waiters = [];

        public ILogger CreateLogger(string categoryName) => new Logger(this);

        public async Task<string> WaitForAsync(Func<string, bool> match, CancellationToken ct)
        {
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_lines)
            {
                if (_lines.Any(match))
                {
                    return string.Join("\n", _lines);
                }

                _waiters.Add((match, done));
            }

            await done.Task.WaitAsync(TimeSpan.FromSeconds(10), ct);
            lock (_lines)
            {
                return string.Join("\n", _lines);
            }
        }

        public void Dispose()
        {
        }

        private void Add(string line)
        {
            lock (_lines)
            {
                _lines.Add(line);
                foreach ((Func<string, bool> match, TaskCompletionSource done) in _waiters.Where(w => w.Match(line)))
                {
                    done.TrySetResult();
                }
            }
        }

        private sealed class Logger(CapturingLoggerProvider owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                owner.Add($"{logLevel} {eventId.Id} {formatter(state, exception)}{(exception is null ? "" : " " + exception)}");
        }
    }
}
