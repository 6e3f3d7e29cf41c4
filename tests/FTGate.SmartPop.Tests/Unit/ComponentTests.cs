using System.Text;
using FTGate.OAuth;
using FTGate.SmartPop.Internal;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace FTGate.SmartPop.Tests.Unit;

public sealed class ByteBudgetTests
{
    [Fact]
    public async Task AcquireAsync_OverBudget_WaitsUntilReleasedInArrivalOrder()
    {
        var budget = new ByteBudget(100);
        ByteBudget.Lease first = await budget.AcquireAsync(80, CancellationToken.None);
        ValueTask<ByteBudget.Lease> big = budget.AcquireAsync(60, CancellationToken.None);
        ValueTask<ByteBudget.Lease> small = budget.AcquireAsync(10, CancellationToken.None);

        Assert.False(big.IsCompleted);
        Assert.False(small.IsCompleted); // FIFO: the small one does not overtake the waiting big one
        first.Dispose();
        using ByteBudget.Lease b = await big;
        using ByteBudget.Lease s = await small;
        Assert.Equal(30, budget.Available);
        Assert.Equal(80, budget.PeakInUse);
    }

    [Fact]
    public async Task AcquireAsync_LargerThanCapacity_IsClampedAndGetsTheWholeBudget()
    {
        var budget = new ByteBudget(100);
        using ByteBudget.Lease lease = await budget.AcquireAsync(1_000, CancellationToken.None);
        Assert.Equal(100, lease.Amount);
        Assert.Equal(0, budget.Available);
    }

    [Fact]
    public async Task AcquireAsync_Cancelled_LeavesTheQueueAndLetsOthersThrough()
    {
        var budget = new ByteBudget(100);
        ByteBudget.Lease held = await budget.AcquireAsync(90, CancellationToken.None);
        using var cts = new CancellationTokenSource();
        ValueTask<ByteBudget.Lease> waiting = budget.AcquireAsync(50, cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await waiting);
        using ByteBudget.Lease next = await budget.AcquireAsync(10, CancellationToken.None);
        held.Dispose();
        Assert.Equal(90, budget.Available);
    }

    [Fact]
    public async Task SharedBudget_ConcurrentFetches_NeverHoldMoreThanTheBudget()
    {
        var budget = new ByteBudget(3_000_000);
        var (_, registry) = TestAccounts.Provider();
        long inUseMax = 0;
        var sink = new BudgetWatchingSink(budget, v => InterlockedMax(ref inUseMax, v));
        var tasks = Enumerable.Range(0, 8).Select(async i =>
        {
            var mailbox = new FakeMailbox().Add("m" + i, new string('x', 1_000_000));
            var store = new InMemoryUidlStore();
            SmartPopClient client = TestAccounts.Client(registry.Object, store, new FakeFactory(() => new FakePop3Connection(mailbox)), budget: budget);
            return await client.FetchAsync(TestAccounts.OAuth(a => a.Name = "acct" + i), sink);
        });

        FetchResult[] results = await Task.WhenAll(tasks);

        Assert.All(results, r => Assert.Equal(1, r.Delivered));
        Assert.True(budget.PeakInUse <= budget.Capacity);
        Assert.True(inUseMax <= budget.Capacity, $"in use {inUseMax} > {budget.Capacity}");
        Assert.Equal(budget.Capacity, budget.Available);
    }

    private static void InterlockedMax(ref long target, long value)
    {
        long current;
        while (value > (current = Interlocked.Read(ref target)) && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }

    /// <summary>Records the budget in use; the first delivery waits for a second one, so two fetches hold the budget at once.</summary>
    private sealed class BudgetWatchingSink(ByteBudget budget, Action<long> observe) : IMessageSink
    {
        private readonly TaskCompletionSource _overlap = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _entered;

        public async Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default)
        {
            observe(budget.Capacity - budget.Available);
            if (Interlocked.Increment(ref _entered) == 2)
            {
                _overlap.SetResult();
            }

            await _overlap.Task.WaitAsync(cancellationToken);
            observe(budget.Capacity - budget.Available);
            await message.CopyToAsync(Stream.Null, cancellationToken);
        }
    }
}

public sealed class FetchPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Plan_UnidentifiedMessagesAreNeverPlanned_SeenByKey()
    {
        ListedMessage[] listed = [new(0, "a", 10) { Key = null }, new(1, "a", 10) { Key = "a\n00" }, new(2, "b", 10), new(3, "c", 10)];
        var seen = new Dictionary<string, DateTimeOffset> { ["b"] = Now };

        FetchPlan plan = FetchPlanner.Plan(listed, seen, TestAccounts.OAuth(a => a.LeaveOnServer = false), Now);

        Assert.Equal([1, 3], plan.Download.Select(m => m.Index));
        Assert.Equal([2], plan.DeleteSeen.Select(m => m.Index));
        Assert.Equal(2, plan.New);
    }

    [Theory]
    [InlineData(true, null, 100, false)]
    [InlineData(false, null, 0, true)]
    [InlineData(true, 0, 0, true)]
    [InlineData(true, 7, 6, false)]
    [InlineData(true, 7, 7, true)]
    public void ShouldDelete_Policy(bool leaveOnServer, int? days, int ageDays, bool expected) =>
        Assert.Equal(expected, FetchPlanner.ShouldDelete(Now.AddDays(-ageDays), TestAccounts.OAuth(a => { a.LeaveOnServer = leaveOnServer; a.DeleteAfterDays = days; }), Now));

    [Fact]
    public void ChooseMechanism_AutoPrefersXOAuth2_FallsBackToOAuthBearer_RespectsExplicitChoice()
    {
        Pop3ServerInfo Server(params string[] mechs) => new(new HashSet<string>(mechs, StringComparer.OrdinalIgnoreCase), true, false, true, true, false, null, 0, null);

        Assert.Equal(SaslMechanismKind.XOAuth2, SmartPopClient.ChooseMechanism(TestAccounts.OAuth(), Server("PLAIN", "XOAUTH2", "OAUTHBEARER")));
        Assert.Equal(SaslMechanismKind.OAuthBearer, SmartPopClient.ChooseMechanism(TestAccounts.OAuth(), Server("PLAIN", "OAUTHBEARER")));
        Assert.Equal(SaslMechanismKind.OAuthBearer, SmartPopClient.ChooseMechanism(TestAccounts.OAuth(a => a.SaslMechanism = SaslMechanismKind.OAuthBearer), Server("XOAUTH2", "OAUTHBEARER")));
        Pop3CommandException ex = Assert.Throws<Pop3CommandException>(() => SmartPopClient.ChooseMechanism(TestAccounts.OAuth(), Server("PLAIN")));
        Assert.Equal(SmartPopErrorCodes.MechanismNotOffered, ex.ErrorCode);
    }
}

public sealed class UidlStoreTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task FileUidlStore_PersistsAcrossInstances_IgnoresTornLastLine_AndPrunesAtomically()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-uidl-" + Guid.NewGuid().ToString("N"));
        try
        {
            using (var store = new FileUidlStore(dir))
            {
                await store.MarkSeenAsync("Acct One", "u1", T);
                await store.MarkSeenAsync("Acct One", "u2", T.AddDays(1));
                await store.MarkSeenAsync("Acct One", "u1", T.AddDays(5)); // keeps the first-seen time
                await File.AppendAllTextAsync(store.GetFilePath("Acct One"), "1764547200 torn-uidl"); // crash mid-append
            }

            using (var store = new FileUidlStore(dir))
            {
                IReadOnlyDictionary<string, DateTimeOffset> seen = await store.GetSeenAsync("Acct One");
                Assert.Equal(["u1", "u2"], seen.Keys.Order());
                Assert.Equal(T, seen["u1"]);
                await store.MarkSeenAsync("other", "o1", T); // the other account's file is unaffected by the torn line
            }

            using (var store = new FileUidlStore(dir))
            {
                // The next append after a torn line starts on a line of its own: u3 is recorded, the torn text is not.
                await store.MarkSeenAsync("Acct One", "u3", T);
            }

            using (var store = new FileUidlStore(dir))
            {
                Assert.Equal(["u1", "u2", "u3"], (await store.GetSeenAsync("Acct One")).Keys.Order());
                Assert.Equal(2, await store.PruneAsync("Acct One", ["u2"]));
                Assert.Single(await store.GetSeenAsync("other"));
                Assert.Empty(await store.GetSeenAsync("nobody"));
            }

            using (var store = new FileUidlStore(dir))
            {
                Assert.Equal(["u2"], (await store.GetSeenAsync("Acct One")).Keys);
            }

            Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task InMemoryUidlStore_PruneForgetsWhatIsGone()
    {
        var store = new InMemoryUidlStore();
        await store.MarkSeenAsync("a", "x", T);
        await store.MarkSeenAsync("a", "y", T);
        Assert.Equal(1, await store.PruneAsync("a", ["y"]));
        Assert.Equal(["y"], (await store.GetSeenAsync("a")).Keys);
    }
}

public sealed class MaildirMessageSinkTests
{
    private static readonly byte[] Message = Encoding.Latin1.GetBytes("Subject: caf\u00e9\r\n\r\n.dot line\r\nbare\rCR\r\nlast line without newline");

    [Theory]
    [InlineData(MaildirLineEndings.Crlf)]
    [InlineData(MaildirLineEndings.Lf)]
    public async Task DeliverAsync_WritesNewFileWithChosenLineEnds_AndRedeliveryLeavesOneFile(MaildirLineEndings endings)
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-md-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sink = new MaildirMessageSink(new MaildirMessageSinkOptions { Directory = dir, LineEndings = endings });
            var metadata = new MessageMetadata("acct", "UID/with:odd chars", Message.Length, T);
            await sink.DeliverAsync(new MemoryStream(Message), metadata);
            await sink.DeliverAsync(new MemoryStream(Message), metadata);

            string file = Assert.Single(Directory.GetFiles(Path.Combine(dir, "new")));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));
            Assert.DoesNotContain(":", Path.GetFileName(file), StringComparison.Ordinal);
            byte[] expected = endings == MaildirLineEndings.Crlf
                ? Message
                : Encoding.Latin1.GetBytes("Subject: caf\u00e9\n\n.dot line\nbare\rCR\nlast line without newline");
            Assert.Equal(expected, await File.ReadAllBytesAsync(file));

            // A mail reader moved it to cur/ with flags: still recognised as delivered.
            File.Move(file, Path.Combine(dir, "cur", Path.GetFileName(file) + ":2,S"));
            await sink.DeliverAsync(new MemoryStream(Message), metadata);
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "new")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task DeliverAsync_Cancelled_LeavesNothingHalfDelivered()
    {
        string dir = Path.Combine(Path.GetTempPath(), "sp-md-" + Guid.NewGuid().ToString("N"));
        try
        {
            var sink = new MaildirMessageSink(dir);
            using var cts = new CancellationTokenSource();
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sink.DeliverAsync(new MemoryStream(new byte[1_000_000]), new MessageMetadata("acct", "u1", 1, T), cts.Token));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "new")));
            Assert.Empty(Directory.GetFiles(Path.Combine(dir, "tmp")));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private static readonly DateTimeOffset T = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
}

public sealed class ProtocolLoggerTests
{
    [Fact]
    public void LogClient_DuringAuthentication_MasksEverythingButTheCommand()
    {
        var lines = new List<string>();
        var logger = new RedactingProtocolLogger("acct", new ListLogger(lines)) { Authenticating = true };
        string blob = Convert.ToBase64String(Encoding.ASCII.GetBytes("user=a\u0001auth=Bearer SECRET-TOKEN\u0001\u0001"));
        logger.LogClient(Encoding.ASCII.GetBytes("AUTH XOAUTH2\r\n"), 0, 14);
        byte[] line = Encoding.ASCII.GetBytes(blob + "\r\n");
        logger.LogClient(line, 0, line.Length);
        logger.Authenticating = false;
        byte[] pass = Encoding.ASCII.GetBytes("PASS hunter2\r\n");
        logger.LogClient(pass, 0, pass.Length);
        byte[] server = Encoding.ASCII.GetBytes("-ERR [AUTH] Authentication failed.\r\n");
        logger.LogServer(server, 0, server.Length);

        Assert.Contains(lines, l => l.EndsWith("C: AUTH XOAUTH2", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("C: ********", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EndsWith("C: PASS ********", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains(blob, StringComparison.Ordinal) || l.Contains("hunter2", StringComparison.Ordinal));
        Assert.Equal("-ERR [AUTH] Authentication failed.", logger.LastError);
    }

    [Fact]
    public void LogServer_WhileRetrieving_KeepsAndLogsNoMessageData()
    {
        var lines = new List<string>();
        var logger = new RedactingProtocolLogger("acct", new ListLogger(lines)) { SuppressServerData = true };
        byte[] body = Encoding.ASCII.GetBytes("+OK\r\nSubject: private body\r\n.\r\n");
        logger.LogServer(body, 0, body.Length);
        logger.SuppressServerData = false;
        Assert.Empty(lines);
        Assert.Null(logger.LastServerLine);
    }
}

public sealed class AccountValidationTests
{
    [Fact]
    public void Validate_NamesAccountAndField()
    {
        var validator = new SmartPopAccountValidator();
        ValidateOptionsResult result = validator.Validate("work", new SmartPopAccount { Security = Pop3Security.None, Password = "x", AuthProvider = "p", DeleteAfterDays = 3, LeaveOnServer = false });

        Assert.True(result.Failed);
        string all = string.Join("\n", result.Failures);
        Assert.Contains("SmartPop account 'work': Host is required.", all, StringComparison.Ordinal);
        Assert.Contains("SmartPop account 'work': UserName is required.", all, StringComparison.Ordinal);
        Assert.Contains("'work': Security None", all, StringComparison.Ordinal);
        Assert.Contains("several are set", all, StringComparison.Ordinal);
        Assert.Contains("DeleteAfterDays applies only with LeaveOnServer", all, StringComparison.Ordinal);
        Assert.DoesNotContain("x", result.Failures!.Where(f => f.Contains("Password", StringComparison.Ordinal)).Select(f => f.Replace("exactly", "", StringComparison.Ordinal).Replace("XOAuth2", "", StringComparison.Ordinal)).Where(f => f.Contains(" x ", StringComparison.Ordinal)));
    }

    [Fact]
    public void AddSmartPop_BindsAccountsFromConfiguration_AndValidatesOnStart()
    {
        IConfiguration config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FTGate:SmartPop:MemoryBudgetBytes"] = "33554432",
            ["FTGate:SmartPop:Accounts:work:Host"] = "outlook.office365.com",
            ["FTGate:SmartPop:Accounts:work:UserName"] = "alice@contoso.com",
            ["FTGate:SmartPop:Accounts:work:AuthProvider"] = "contoso",
            ["FTGate:SmartPop:Accounts:work:LeaveOnServer"] = "false",
            ["FTGate:SmartPop:Accounts:broken:UserName"] = "bob@contoso.com",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddFTGate(config.GetSection("FTGate")).AddSmartPop();
        using ServiceProvider sp = services.BuildServiceProvider();

        ISmartPopAccounts accounts = sp.GetRequiredService<ISmartPopAccounts>();
        Assert.Equal(["broken", "work"], accounts.Names.Order(StringComparer.Ordinal));
        SmartPopAccount work = accounts.Get("work");
        Assert.Equal("work", work.Name);
        Assert.False(work.LeaveOnServer);
        Assert.Equal(995, work.EffectivePort);
        Assert.Equal(33554432, sp.GetRequiredService<IOptions<SmartPopOptions>>().Value.MemoryBudgetBytes);
        FTGateConfigurationException unknown = Assert.Throws<FTGateConfigurationException>(() => accounts.Get("nope"));
        Assert.Contains("'work'", unknown.Message, StringComparison.Ordinal);
        Assert.Equal(SmartPopErrorCodes.AccountUnknown, unknown.ErrorCode);
        Assert.Equal("smartpop_account_unknown", unknown.ErrorCode);
        Exception startup = Assert.ThrowsAny<Exception>(() => sp.ValidateFTGateConfiguration());
        Assert.Contains("SmartPop account 'broken': Host is required.", startup.ToString(), StringComparison.Ordinal);
        Assert.NotNull(sp.GetRequiredService<ISmartPopClient>());
    }
}

public sealed class JwtInspectorTests
{
    private static string Jwt(string payload) =>
        "eyJhbGciOiJub25lIn0." + Convert.ToBase64String(Encoding.UTF8.GetBytes(payload)).TrimEnd('=').Replace('+', '-').Replace('/', '_') + ".sig";

    [Fact]
    public void Inspect_GraphTokenForOtherUser_ListsAudienceScopeAndUserProblems()
    {
        JwtFindings findings = JwtInspector.Inspect(Jwt("{\"aud\":\"https://graph.microsoft.com\",\"iss\":\"https://sts.windows.net/t/\",\"scp\":\"Mail.Read\",\"upn\":\"bob@contoso.com\"}"), TestAccounts.OAuth(a => a.UserName = "alice@contoso.com"));

        Assert.True(findings.IsJwt);
        Assert.Equal(3, findings.Problems.Count);
        Assert.Contains(findings.Problems, p => p.Contains("audience", StringComparison.Ordinal));
        Assert.Contains(findings.Problems, p => p.Contains("POP.AccessAsUser.All", StringComparison.Ordinal));
        Assert.Contains(findings.Problems, p => p.Contains("bob@contoso.com", StringComparison.Ordinal));
    }

    [Fact]
    public void Inspect_GoodDelegatedAndAppOnlyTokens_HaveNoProblems_AndOpaqueIsRecognised()
    {
        SmartPopAccount account = TestAccounts.OAuth(a => a.UserName = "alice@contoso.com");
        Assert.Empty(JwtInspector.Inspect(Jwt("{\"aud\":\"https://outlook.office.com\",\"scp\":\"POP.AccessAsUser.All User.Read\",\"upn\":\"Alice@contoso.com\"}"), account).Problems);
        JwtFindings app = JwtInspector.Inspect(Jwt("{\"aud\":\"https://outlook.office.com\",\"roles\":[\"POP.AccessAsApp\"]}"), account);
        Assert.True(app.AppOnly);
        Assert.Empty(app.Problems);
        Assert.False(JwtInspector.Inspect("opaque-token-value", account).IsJwt);
    }

    [Fact]
    public void ServerReplyCatalog_MapsKnownReplies()
    {
        SmartPopAccount account = TestAccounts.OAuth(a => a.UserName = "alice@contoso.com");
        Assert.Equal(SmartPopErrorCodes.PopDisabled, ServerReplyCatalog.Explain("-ERR [SYS/PERM] Your account is not enabled for POP access. Please visit your Gmail settings page and enable your account for POP access.", account).ErrorCode);
        Assert.Contains("Set-CASMailbox -Identity alice@contoso.com -PopEnabled $true", ServerReplyCatalog.Explain("-ERR Authentication failure: unknown user name or bad password.", account).Remedy, StringComparison.Ordinal);
        Assert.Contains("New-ServicePrincipal", ServerReplyCatalog.Explain("-ERR Authentication failure: unknown user name or bad password.", account).Remedy, StringComparison.Ordinal);
        Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, ServerReplyCatalog.Explain("-ERR [AUTH] Authentication failed.", account).ErrorCode);
    }
}

internal sealed class ListLogger(List<string> lines) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (lines)
        {
            lines.Add(formatter(state, exception) + (exception is null ? string.Empty : " " + exception));
        }
    }
}
