using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using FTGate.OAuth;
using FTGate.Tests.Infrastructure;

namespace FTGate.SmartPop.Tests.Integration;

/// <summary>SmartPop against a REAL Dovecot 2.3 with passdb oauth2 validating REAL tokens from the loopback OAuth server.</summary>
public sealed class DovecotTests(IntegrationServers servers)
{
    private const string Alice = "alice@example.test";

    [Fact]
    public async Task Fetch_VariedCorpus_IsDeliveredByteExact_AndSecondFetchDeliversNothing()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        var corpus = new Dictionary<string, byte[]>
        {
            ["dots"] = Encoding.ASCII.GetBytes("From: a@example.test\nSubject: dots\n\n.leading dot\n..two dots\n.\nend\n"),
            ["8bit"] = Encoding.Latin1.GetBytes("From: =?x?= J\u00f6rg <j@example.test>\nSubject: Gr\u00fc\u00dfe \u00e9t\u00e9\n\nbody \u00ff\u00fe 8-bit\n"),
            ["longline"] = Encoding.ASCII.GetBytes("Subject: long\n\n" + new string('L', 100_000) + "\n"),
            ["nonewline"] = Encoding.ASCII.GetBytes("Subject: no trailing newline\n\nlast line"),
            ["attachment"] = BigMessage(20 * 1024 * 1024, seed: 1),
        };
        var uidlToName = corpus.ToDictionary(kv => servers.Dovecot.AddMessage(Alice, kv.Value), kv => kv.Key);
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));
        using var harness = new Harness(servers, provider);
        string maildir = Infra.NewTempDirectory("sp-md");
        var sink = new MaildirMessageSink(maildir);

        FetchResult first = await harness.Client.FetchAsync(harness.Account(), sink);

        Assert.True(first.Completed, first.Error?.Message);
        Assert.Equal(5, first.Delivered);
        foreach ((string uidl, string name) in uidlToName)
        {
            byte[] expected = corpus[name];
            if (expected[^1] != (byte)'\n')
            {
                expected = [.. expected, (byte)'\n']; // Dovecot ends the last line with CRLF before the terminating dot
            }

            byte[] actual = await File.ReadAllBytesAsync(Path.Combine(maildir, "new", MaildirMessageSink.GetFileName("it-alice", uidl)));
            Assert.True(SHA256.HashData(expected).AsSpan().SequenceEqual(SHA256.HashData(actual)), $"message '{name}' differs: {expected.Length} bytes expected, {actual.Length} delivered");
        }

        FetchResult second = await harness.Client.FetchAsync(harness.Account(), sink);
        Assert.Equal(5, second.Listed);
        Assert.Equal(0, second.New);
        Assert.Equal(0, second.Delivered);
        Assert.Equal(5, servers.Dovecot.ListMessages(Alice).Count);
        Assert.DoesNotContain(provider.CurrentAccessToken, harness.AllLog, StringComparison.Ordinal);
        Assert.Contains("C: ********", harness.AllLog, StringComparison.Ordinal);
        Assert.DoesNotContain(new string('L', 1000), harness.AllLog, StringComparison.Ordinal); // no message body in the protocol log
    }

    [Fact]
    public async Task Fetch_DeleteMode_SinkThrowingOnOne_LeavesExactlyThatOneOnTheServerAndUnseen()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        string keep = servers.Dovecot.AddMessage(Alice, "Subject: fails\n\nx\n"u8);
        servers.Dovecot.AddMessage(Alice, "Subject: ok 1\n\nx\n"u8);
        servers.Dovecot.AddMessage(Alice, "Subject: ok 2\n\nx\n"u8);
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));
        using var harness = new Harness(servers, provider);
        var sink = new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")), m => m.Uidl == keep);

        FetchResult result = await harness.Client.FetchAsync(harness.Account(configure: a => a.LeaveOnServer = false), sink);

        Assert.True(result.Completed);
        Assert.Equal(2, result.Delivered);
        Assert.Equal(2, result.Deleted);
        Assert.Equal(keep, Assert.Single(result.Failures).Uidl);
        Assert.Equal([keep], servers.Dovecot.ListMessages(Alice));
        Assert.DoesNotContain(keep, (await harness.Store.GetSeenAsync("it-alice")).Keys);
    }

    [Fact]
    public async Task Fetch_RevokedGrant_GivesReauthorizationRequired_AndRecordsDovecotsReply()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        servers.Dovecot.AddMessage(Alice, "Subject: a\n\nx\n"u8);
        TokenSet tokens = await servers.OAuth.GetUserTokensAsync(Alice, "alice-password");
        var provider = new RealTokenProvider(servers.OAuth, Alice, tokens);
        using var harness = new Harness(servers, provider);
        Assert.True((await harness.Client.FetchAsync(harness.Account(), new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md"))))).Completed);

        // RFC 7009 revocation of the refresh token (revokes the grant), then the access tokens' hour "passes".
        using (var http = new HttpClient())
        {
            using HttpResponseMessage revoke = await http.PostAsync(servers.OAuth.RevocationEndpoint, new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["token"] = tokens.RefreshToken!,
                ["token_type_hint"] = "refresh_token",
                ["client_id"] = OAuthServer.NativeClientId,
            }));
            Assert.True(revoke.IsSuccessStatusCode, $"revocation answered {(int)revoke.StatusCode}");
        }

        await servers.OAuth.ExpireAccessTokensAsync(Alice);

        ReauthorizationRequiredException ex = await Assert.ThrowsAsync<ReauthorizationRequiredException>(() => harness.Client.FetchAsync(harness.Account(), new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")))));

        Assert.Equal(1, provider.Refreshes);
        string log = harness.AllLog;
        Note("Dovecot replies on a revoked token:\n" + string.Join("\n", log.Split('\n').Where(l => l.Contains(" S: ", StringComparison.Ordinal) && (l.Contains("-ERR", StringComparison.Ordinal) || l.Contains("S: +", StringComparison.Ordinal)))));
        Assert.Contains("-ERR [AUTH] Authentication failed.", log, StringComparison.Ordinal);
        Assert.Contains("cached token rejected", log, StringComparison.Ordinal);
        Assert.DoesNotContain(tokens.AccessToken, log + ex, StringComparison.Ordinal);
        Assert.DoesNotContain(tokens.RefreshToken!, log + ex, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fetch_BogusTokenNotFromCache_IsRejectedOnceWithTheServersWords_ForXOAuth2AndOAuthBearer()
    {
        servers.Require();
        foreach (SaslMechanismKind mechanism in new[] { SaslMechanismKind.XOAuth2, SaslMechanismKind.OAuthBearer })
        {
            var provider = new RealTokenProvider(servers.OAuth, Alice, new TokenSet("bogus-token-" + Guid.NewGuid().ToString("N"), null, null, 3600));
            using var harness = new Harness(servers, provider);

            Pop3Exception ex = await Assert.ThrowsAnyAsync<Pop3Exception>(() => harness.Client.FetchAsync(harness.Account(configure: a => a.SaslMechanism = mechanism), new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")))));

            Note($"{mechanism} bogus token: {ex.GetType().Name} fatal={ex.IsFatal} code={ex.ErrorCode} reply={ex.ServerReply}");
            Assert.Equal(SmartPopErrorCodes.AuthenticationRejected, ex.ErrorCode);
            Assert.False(ex.IsFatal); // the error challenge was answered: the session stayed in sync
            Assert.StartsWith("-ERR [AUTH] Authentication failed.", ex.ServerReply, StringComparison.Ordinal);
            Assert.Contains("error challenge", ex.ServerReply, StringComparison.Ordinal);
            Assert.Equal(0, provider.Refreshes);
            Assert.NotNull(ex.Remedy);
            Assert.DoesNotContain(provider.CurrentAccessToken, harness.AllLog + ex, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Fetch_ConnectionCutMidDownload_LosesNothing_TheOthersOnANewConnection_AndTheNextFetchCompletes()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        var uidls = Enumerable.Range(0, 4).Select(i => servers.Dovecot.AddMessage(Alice, BigMessage(300_000, seed: 10 + i))).ToList();
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));
        using var harness = new Harness(servers, provider);
        var sink = new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")));
        await using var proxy = new CuttingProxy(servers.Dovecot.Pop3sPort, cutAfter: 700_000);

        FetchResult cut = await harness.Client.FetchAsync(harness.Account(configure: a => { a.Port = proxy.Port; a.LeaveOnServer = false; }), sink);

        Note($"cut fetch: delivered {cut.Delivered}, deleted {cut.Deleted}, failures {string.Join("; ", cut.Failures.Select(f => f.ErrorCode + " " + f.Message))}");
        // The proxy drops every connection (RST) after 700,000 bytes. The four messages are pipelined in one batch, so the
        // message being read when a connection drops is reported broken (the RST may also discard bytes the client had not
        // read yet) and the rest of the batch is asked for again on a new connection: each message is either delivered or
        // reported, none twice, and a later connection always finishes.
        Assert.NotEmpty(cut.Failures);
        Assert.All(cut.Failures, f => Assert.Equal(SmartPopErrorCodes.TransferBroken, f.ErrorCode));
        Assert.Equal(4, cut.Delivered + cut.Failures.Count);
        Assert.Equal(cut.Failures.Count, cut.Failures.Select(f => f.Uidl).Distinct().Count());
        Assert.InRange(cut.Delivered, 1, 3);
        Assert.Equal(cut.Delivered, cut.Deleted); // each deleted only after its own delivery, on a session that QUIT
        Assert.Equal(4 - cut.Deleted, servers.Dovecot.ListMessages(Alice).Count);

        FetchResult next = await harness.Client.FetchAsync(harness.Account(configure: a => a.LeaveOnServer = false), sink);

        Assert.True(next.Completed, next.Error?.Message);
        Assert.Equal(4 - cut.Delivered, next.Delivered);
        Assert.Equal(4 - cut.Deleted, next.Deleted);
        Assert.Empty(servers.Dovecot.ListMessages(Alice));
        Assert.Equal(uidls.Order(), sink.Count.Keys.Order());
        Assert.All(sink.Count.Values, n => Assert.Equal(1, n));
    }

    [Fact]
    public async Task Connect_CertificateFromUntrustedCa_IsRefused()
    {
        servers.Require();
        var provider = new RealTokenProvider(servers.OAuth, Alice, new TokenSet("never-sent-token", null, null, 3600));
        using var harness = new Harness(servers, provider);

        Pop3ConnectionException ex = await Assert.ThrowsAsync<Pop3ConnectionException>(() => harness.Client.FetchAsync(harness.Account(configure: a => a.TrustedRootCertificates = null), new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")))));

        Note("untrusted certificate: " + ex.Message);
        Assert.Equal(SmartPopErrorCodes.TlsFailed, ex.ErrorCode);
        Assert.DoesNotContain("never-sent-token", harness.AllLog, StringComparison.Ordinal);

        TestReport report = await harness.Client.TestAsync(harness.Account(configure: a => a.TrustedRootCertificates = null));
        Assert.Equal(TestStepKind.TlsHandshake, report.FailedStep?.Kind);
        Assert.NotNull(report.FailedStep?.Remedy);
    }

    [Fact]
    public async Task PlainText_XOAuth2IsRefusedUnlessAllowed_AndStartTlsWorks()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        servers.Dovecot.AddMessage(Alice, "Subject: s\n\nx\n"u8);
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));
        using var harness = new Harness(servers, provider);
        var sink = new CountingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")));

        FTGateConfigurationException refused = await Assert.ThrowsAsync<FTGateConfigurationException>(() => harness.Client.FetchAsync(harness.Account(configure: a => { a.Security = Pop3Security.None; a.Port = servers.Dovecot.Pop3Port; }), sink));
        Assert.Contains("AllowInsecureAuthentication", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("AUTH XOAUTH2", harness.AllLog, StringComparison.Ordinal);

        FetchResult allowed = await harness.Client.FetchAsync(harness.Account(configure: a => { a.Security = Pop3Security.None; a.Port = servers.Dovecot.Pop3Port; a.AllowInsecureAuthentication = true; }), sink);
        Assert.Equal(1, allowed.Delivered);

        servers.Dovecot.AddMessage(Alice, "Subject: t\n\nx\n"u8);
        FetchResult tls = await harness.Client.FetchAsync(harness.Account(configure: a => { a.Security = Pop3Security.StartTls; a.Port = servers.Dovecot.Pop3Port; }), sink);
        Assert.True(tls.Completed);
        Assert.Equal(1, tls.Delivered);
        Assert.Contains("C: STLS", harness.AllLog, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PasswordAccount_AndTestReport_AgainstDovecot()
    {
        servers.Require();
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));
        using var harness = new Harness(servers, provider);

        TestReport ok = await harness.Client.TestAsync(harness.Account());
        foreach (TestStep step in ok.Steps)
        {
            Note($"{step.Kind}: {step.Status} {step.Duration.TotalMilliseconds:0} ms {step.Detail}");
        }

        Assert.True(ok.Succeeded, ok.FailedStep?.Cause);
        Assert.Contains("XOAUTH2 offered: yes", ok.Steps.Single(s => s.Kind == TestStepKind.Capabilities).Detail, StringComparison.Ordinal);
        Assert.Equal(TestStepStatus.Passed, ok.Steps.Single(s => s.Kind == TestStepKind.Stat).Status);

        TestReport carol = await harness.Client.TestAsync(harness.Account("carol@example.test", a => { a.AuthProvider = null; a.Password = "carol-password"; }));
        Assert.True(carol.Succeeded, carol.FailedStep?.Cause);
        TestReport wrong = await harness.Client.TestAsync(harness.Account("carol@example.test", a => { a.AuthProvider = null; a.Password = "wrong-password-xyz"; }));
        Assert.Equal(TestStepKind.Login, wrong.FailedStep?.Kind);
        Note("wrong password: " + wrong.FailedStep?.ServerReply);
        Assert.Contains("-ERR", wrong.FailedStep?.ServerReply, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-password-xyz", harness.AllLog, StringComparison.Ordinal);

        var bogus = new Harness(servers, new RealTokenProvider(servers.OAuth, Alice, new TokenSet("bogus-" + Guid.NewGuid().ToString("N"), null, null, 60)));
        using (bogus)
        {
            TestReport rejected = await bogus.Client.TestAsync(bogus.Account());
            Assert.Equal(TestStepKind.Login, rejected.FailedStep?.Kind);
            Assert.StartsWith("-ERR [AUTH] Authentication failed.", rejected.FailedStep?.ServerReply, StringComparison.Ordinal);
            Assert.NotNull(rejected.FailedStep?.Remedy);
        }
    }

    [Fact]
    public async Task Memory_OneLargeMessageAndEightConcurrentAccounts_StayWithinTheirBounds()
    {
        servers.Require();
        servers.Dovecot.ClearMailbox(Alice);
        var provider = new RealTokenProvider(servers.OAuth, Alice, await servers.OAuth.GetUserTokensAsync(Alice, "alice-password"));

        // (1) one 50 MB message into the Maildir sink: peak RSS growth <= 2x its size.
        const int fifty = 50 * 1024 * 1024;
        servers.Dovecot.AddMessage(Alice, BigMessage(fifty, seed: 50));
        using (var harness = new Harness(servers, provider))
        {
            SmartPopAccount account = harness.Account(configure: a => { a.MaxMessageSize = 60L * 1024 * 1024; a.ProtocolLog = false; });
            (long growth, FetchResult result) = await MeasureAsync(peak => harness.Client.FetchAsync(account, new SamplingSink(new MaildirMessageSink(Infra.NewTempDirectory("sp-md")), peak)));
            Report($"one 50 MB message: peak RSS growth {growth / 1048576.0:0.0} MB (limit {2 * fifty / 1048576} MB), delivered {result.Delivered}");
            Assert.Equal(1, result.Delivered);
            Assert.True(growth <= 2L * fifty, $"peak RSS grew {growth} bytes");
        }

        // (2) eight accounts fetching 20 MB messages at once under a 64 MB budget: growth <= budget + 64 MB.
        servers.Dovecot.ClearMailbox(Alice);
        servers.Dovecot.AddMessage(Alice, BigMessage(20 * 1024 * 1024, seed: 20));
        const long budget = 64L * 1024 * 1024;
        using (var harness = new Harness(servers, provider, budget))
        {
            string root = Infra.NewTempDirectory("sp-md");
            var sink = new MaildirMessageSink(new MaildirMessageSinkOptions { Directory = root, FolderPerAccount = true });
            (long growth, FetchResult[] results) = await MeasureAsync(peak => Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
                harness.Client.FetchAsync(harness.Account(configure: a => { a.Name = "mem-" + i; a.ProtocolLog = false; }), new SamplingSink(sink, peak)))));
            Report($"8 accounts x 20 MB under a 64 MB budget: peak RSS growth {growth / 1048576.0:0.0} MB (limit {(budget + (64L << 20)) / 1048576} MB), budget peak in use {harness.Client.Budget.PeakInUse / 1048576.0:0.0} MB, delivered {results.Sum(r => r.Delivered)}");
            Assert.All(results, r => Assert.Equal(1, r.Delivered));
            Assert.True(harness.Client.Budget.PeakInUse <= budget);
            Assert.True(growth <= budget + (64L << 20), $"peak RSS grew {growth} bytes");
        }

        servers.Dovecot.ClearMailbox(Alice);
    }

    private static void Note(string line)
    {
        TestContext.Current.SendDiagnosticMessage(line);
        File.AppendAllText(Path.Combine(Path.GetTempPath(), "smartpop-observed.txt"), line + "\n");
    }

    private static void Report(string line)
    {
        Console.WriteLine("MEMORY: " + line);
        TestContext.Current.SendDiagnosticMessage("MEMORY: " + line);
        File.AppendAllText(Path.Combine(Path.GetTempPath(), "smartpop-memory-figures.txt"), DateTime.UtcNow.ToString("u", System.Globalization.CultureInfo.InvariantCulture) + " " + line + "\n");
    }

    /// <summary>
    /// The growth of the working set while <paramref name="action"/> runs: sampled as the messages' bytes flow into the sink
    /// (every 256 KiB read, through <see cref="SamplingSink"/>), so the measure follows the transfer instead of a timer.
    /// </summary>
    private static async Task<(long Growth, T Result)> MeasureAsync<T>(Func<PeakWorkingSet, Task<T>> action)
    {
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        using var peak = new PeakWorkingSet();
        T result = await action(peak);
        peak.Sample();
        return (peak.Peak - peak.Baseline, result);
    }

    /// <summary>The highest working set seen at the samples taken.</summary>
    private sealed class PeakWorkingSet : IDisposable
    {
        private readonly Process _self = Process.GetCurrentProcess();
        private readonly object _gate = new();

        public PeakWorkingSet()
        {
            Baseline = Peak = _self.WorkingSet64;
        }

        public long Baseline { get; }

        public long Peak { get; private set; }

        public void Sample()
        {
            lock (_gate)
            {
                _self.Refresh();
                Peak = Math.Max(Peak, _self.WorkingSet64);
            }
        }

        public void Dispose() => _self.Dispose();
    }

    /// <summary>Passes every message (batched or not) to the inner sink through a stream that samples the working set as it is read.</summary>
    private sealed class SamplingSink(MaildirMessageSink inner, PeakWorkingSet peak) : IBatchingMessageSink
    {
        public Task DeliverAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
            inner.DeliverAsync(new SamplingStream(message, peak), metadata, cancellationToken);

        public IMessageSinkBatch BeginBatch(string accountName) => new Batch(inner.BeginBatch(accountName), peak);

        private sealed class Batch(IMessageSinkBatch inner, PeakWorkingSet peak) : IMessageSinkBatch
        {
            public Task AddAsync(Stream message, MessageMetadata metadata, CancellationToken cancellationToken = default) =>
                inner.AddAsync(new SamplingStream(message, peak), metadata, cancellationToken);

            public Task CommitAsync(CancellationToken cancellationToken = default) => inner.CommitAsync(cancellationToken);

            public ValueTask DisposeAsync() => inner.DisposeAsync();
        }
    }

    private sealed class SamplingStream(Stream inner, PeakWorkingSet peak) : Stream
    {
        private const long Every = 256 * 1024;
        private long _sinceSample = Every;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            int n = await inner.ReadAsync(buffer, cancellationToken);
            Count(n);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = inner.Read(buffer, offset, count);
            Count(n);
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private void Count(int n)
        {
            _sinceSample += n;
            if (_sinceSample >= Every || n == 0)
            {
                _sinceSample = 0;
                peak.Sample();
            }
        }
    }

    private static byte[] BigMessage(int size, int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder("From: big@example.test\nSubject: big ").Append(seed).Append("\nMIME-Version: 1.0\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n");
        byte[] chunk = new byte[57];
        while (text.Length < size - 80)
        {
            random.NextBytes(chunk);
            text.Append(Convert.ToBase64String(chunk)).Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString());
    }
}
