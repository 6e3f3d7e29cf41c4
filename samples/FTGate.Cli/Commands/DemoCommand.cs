using System.CommandLine;
using System.Globalization;
using System.Text;
using FTGate.Testing;

namespace FTGate.Cli.Commands;

/// <summary>
/// <c>ftgate demo</c>: the whole workflow on FTGate.Testing's in-process OAuth authority and POP3 server. It runs the very
/// commands an administrator types (shown with a <c>$</c>), against a throwaway config, and plays the browser itself.
/// </summary>
internal static class DemoCommand
{
    private const string DemoUser = "demo@example.test";
    private const string DemoClient = "ftgate-demo";
    private const int DemoMessages = 3;

    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Option<string> maildir = new("--maildir") { Description = "Where the demo delivers the mail.", DefaultValueFactory = _ => "demo-maildir", HelpName = "DIR" };
        Command command = new("demo", "Run the whole workflow (provider add, authorize, account add, test, fetch) against in-process test servers: no network, nothing to install.")
        {
            maildir,
        };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, Path.GetFullPath(parse.GetRequiredValue(maildir)), ct));
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string maildir, CancellationToken cancellationToken)
    {
        TextWriter output = context.Out;
        string work = Path.Combine(Path.GetTempPath(), "ftgate-demo-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(work);
        try
        {
            output.WriteLine("1. Starting an OAuth authority and a POP3 server in this process (FTGate.Testing) ...");
            await using TestOAuthAuthority authority = await TestOAuthAuthority.StartAsync(new TestOAuthAuthorityOptions { UserName = DemoUser }, cancellationToken);
            authority.RegisterClient(DemoClient, clientSecret: null, "http://127.0.0.1/");
            await using TestPop3Server pop3 = await TestPop3Server.StartAsync(authority, cancellationToken: cancellationToken);
            TestMailbox mailbox = pop3.GetMailbox(DemoUser);
            for (int i = 1; i <= DemoMessages; i++)
            {
                mailbox.Add($"From: alice@example.test\r\nTo: {DemoUser}\r\nSubject: Demo message {i}\r\nMessage-ID: <demo-{i}@example.test>\r\n\r\nHello from the FTGate demo ({i} of {DemoMessages}).\r\n");
            }

            string caFile = Path.Combine(work, "demo-pop3-certificate.pem");
            await File.WriteAllTextAsync(caFile, pop3.Certificate.ExportCertificatePem(), cancellationToken);
            output.WriteLine($"   OAuth authority at {authority.Issuer.AbsoluteUri}, POP3 (TLS) at {pop3.Host}:{pop3.TlsPort}, {mailbox.Count} messages for {DemoUser}.");
            var demo = new DemoShell(context, Path.Combine(work, "ftgate.json"));

            output.WriteLine("2. Adding the authorization server as a provider (a throwaway config in a temporary folder):");
            int exit = await demo.RunAsync(["provider", "add", "Demo", "--type", "oauth2", "--authority", authority.Issuer.AbsoluteUri, "--client-id", DemoClient,
                "--user", DemoUser, "--scope", "openid", "--scope", "email", "--scope", "offline_access", "--scope", TestOAuthAuthority.MailScope], cancellationToken);
            if (exit != ExitCodes.Success)
            {
                return exit;
            }

            output.WriteLine("3. Authorize Now (the demo plays the person at the browser: it follows the URL and the redirect):");
            var watcher = new LineWatcher(output);
            Task<int> authorize = demo.RunAsync(["authorize", "Demo", "--no-browser", "--timeout", "60"], cancellationToken, watcher);
            string urlLine = await watcher.WaitForLineAsync(AuthorizeCommand.UrlLinePrefix).WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            Uri redirect = await authority.SignInAsync(new Uri(urlLine[AuthorizeCommand.UrlLinePrefix.Length..]), cancellationToken);
            using (var browser = new HttpClient())
            {
                string page = await browser.GetStringAsync(redirect, cancellationToken);
                output.WriteLine($"   (browser) {(page.Contains("You may close this window", StringComparison.Ordinal) ? "\"you may close this window\"" : "redirect delivered")}");
            }

            if ((exit = await authorize) != ExitCodes.Success)
            {
                return exit;
            }

            output.WriteLine("4. Adding the POP3 account, logging in with the provider's token (XOAUTH2):");
            exit = await demo.RunAsync(["account", "add", "demo", "--host", pop3.Host, "--port", pop3.TlsPort.ToString(CultureInfo.InvariantCulture), "--security", "ssl",
                "--user", DemoUser, "--provider", "Demo", "--ca-cert", caFile], cancellationToken);
            if (exit != ExitCodes.Success)
            {
                return exit;
            }

            output.WriteLine("5. Testing the account step by step:");
            if ((exit = await demo.RunAsync(["test", "demo"], cancellationToken)) != ExitCodes.Success)
            {
                return exit;
            }

            int before = CountMessages(maildir);
            output.WriteLine($"6. Fetching the mailbox into {maildir}:");
            var fetchWatcher = new LineWatcher(output);
            Task<string> summary = fetchWatcher.WaitForLineAsync("fetched ");
            if ((exit = await demo.RunAsync(["fetch", "demo", "--maildir", maildir], cancellationToken, fetchWatcher)) != ExitCodes.Success)
            {
                return exit;
            }

            string fetched = (await summary)["fetched ".Length..].Split(' ')[0];
            int after = CountMessages(maildir);
            int added = after - before;
            string held = before == 0 || added.ToString(CultureInfo.InvariantCulture) == fetched
                ? $"it holds {after} message(s)"
                : $"{added} of them are new to this Maildir (an earlier demo run delivered the same {DemoMessages} messages, and the Maildir keeps one copy per account and UIDL); it holds {after} message(s)";
            output.WriteLine($"Demo finished: fetched {fetched} message(s) from the test server into {Path.Combine(maildir, "new")} in this run; {held}.");
            output.WriteLine("Next, the real thing: ftgate provider add --help (docs/cli.md).");
            return ExitCodes.Success;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }

    /// <summary>The messages in a Maildir's new/ folder (what the demo delivers to).</summary>
    private static int CountMessages(string maildir)
    {
        string folder = Path.Combine(maildir, "new");
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Length : 0;
    }

    /// <summary>Runs <c>ftgate</c> commands against the demo's config, echoing each one as it would be typed.</summary>
    private sealed class DemoShell(CliContext context, string configPath)
    {
        public Task<int> RunAsync(string[] args, CancellationToken cancellationToken, TextWriter? output = null)
        {
            context.Out.WriteLine("   $ ftgate " + string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"\"{a}\"" : a)));
            var console = new CliConsole(output ?? context.Out, context.Console.Error, TextReader.Null, context.Console.IsInteractive);
            return FTGateCli.RunAsync([.. args, "--config", configPath, .. context.Verbose ? new[] { "--verbose" } : []], console, cancellationToken);
        }
    }

    /// <summary>Passes output through and tells when a line starting with a given text has been written.</summary>
    private sealed class LineWatcher(TextWriter inner) : TextWriter
    {
        private readonly StringBuilder _line = new();
        private readonly List<(string Prefix, TaskCompletionSource<string> Done)> _waiters = [];

        public override Encoding Encoding => inner.Encoding;

        public Task<string> WaitForLineAsync(string prefix)
        {
            var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_waiters)
            {
                _waiters.Add((prefix, done));
            }

            return done.Task;
        }

        public override void Write(char value)
        {
            inner.Write(value);
            lock (_waiters)
            {
                if (value != '\n')
                {
                    _line.Append(value);
                    return;
                }

                string line = _line.ToString().TrimEnd('\r');
                _line.Clear();
                foreach ((string prefix, TaskCompletionSource<string> done) in _waiters)
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        done.TrySetResult(line);
                    }
                }
            }
        }

        public override void Flush() => inner.Flush();
    }
}
