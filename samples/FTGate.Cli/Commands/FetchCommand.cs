using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.SmartPop;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Spectre.Console;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate fetch NAME --maildir DIR</c>: collect new messages into a Maildir.</summary>
internal static class FetchCommand
{
    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The account to collect." };
        Option<string> maildir = new("--maildir") { Description = "The Maildir to deliver into (created if missing).", Required = true, HelpName = "DIR" };
        Option<bool> json = new("--json") { Description = "Print the fetch result as JSON." };
        Command command = new("fetch", "Collect new messages from an account into a Maildir (messages already collected are skipped by UIDL).") { name, maildir, json };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, parse.GetRequiredValue(name), parse.GetRequiredValue(maildir), parse.GetValue(json), ct));
        });
        return command;
    }

    internal static async Task<int> RunAsync(CliContext context, string name, string maildir, bool json, CancellationToken cancellationToken)
    {
        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        (string key, JsonObject entry) = AccountCommands.FindAccount(config, name);
        AccountCommands.RequirePasswordVariable(key, entry);
        using IHost host = await CliHost.BuildAsync(config, context, cancellationToken);
        host.Services.ValidateFTGateConfiguration();

        SmartPopAccount account = host.Services.GetRequiredService<ISmartPopAccounts>().Get(key);
        ISmartPopClient client = host.Services.GetRequiredService<ISmartPopClient>();
        var sink = new MaildirMessageSink(Path.GetFullPath(maildir));

        FetchResult result = json ? await client.FetchAsync(account, sink, null, cancellationToken)
            : context.Console.IsInteractive ? await FetchWithProgressBarAsync(context, client, account, sink, cancellationToken)
            : await client.FetchAsync(account, sink, new PlainProgress(context.Out), cancellationToken);

        if (json)
        {
            CliJson.Write(context.Out, result);
        }
        else
        {
            context.Out.WriteLine($"fetched {result.Delivered} new message(s), skipped {result.SkippedTooLarge}, deleted {result.Deleted}, {result.Bytes} bytes in {result.Duration.TotalSeconds:0.0} s");
        }

        foreach (MessageFailure failure in result.Failures)
        {
            string number = failure.MessageNumber > 0 ? $" (number {failure.MessageNumber})" : string.Empty;
            context.Console.Error.WriteLine($"warning: message {failure.Uidl}{number} was not delivered [{failure.ErrorCode}]: {failure.Message}");
        }

        foreach (MessageFailure stuck in result.StuckMessages)
        {
            context.Console.Error.WriteLine($"stuck: message {stuck.Uidl} failed in {stuck.FailedFetches} fetches in a row [{stuck.ErrorCode}]; it stays on the server. Ask the server's administrator about it (its words: {stuck.ServerReply ?? stuck.Message}).");
        }

        foreach (string warning in result.Warnings)
        {
            context.Console.Error.WriteLine("warning: " + warning);
        }

        if (result.Error is { } error)
        {
            context.Console.Error.WriteLine("error: " + error.Message.ReplaceLineEndings(" "));
            if (error.Remedy is { } remedy)
            {
                context.Console.Error.WriteLine("fix: " + CliErrors.InCliWords(remedy, account.AuthProvider));
            }

            // A FetchTimeout is the server's or the network's slowness: transient, like a timed-out read (exit 4).
            return error.ErrorCode == SmartPopErrorCodes.FetchTimeout ? ExitCodes.ConnectionFailure : CliErrors.ExitCodeOf(error.ErrorCode);
        }

        // A message whose transfer timed out or broke is the server's or the network's doing (transient, retried): exit 4.
        if (result.Failures.FirstOrDefault(f => f.ErrorCode is SmartPopErrorCodes.Timeout or SmartPopErrorCodes.TransferBroken) is { } transient)
        {
            context.Console.Error.WriteLine($"error: message {transient.Uidl} could not be retrieved [{transient.ErrorCode}]; the others were collected.");
            context.Console.Error.WriteLine("fix: Nothing was lost: it stays on the server and is retried in the next fetch. If it keeps failing, the server or the network is too slow or broken: check them, or raise CommandTimeout / FetchTimeout for this account.");
            return ExitCodes.ConnectionFailure;
        }

        return result.Failures.Count > 0 ? ExitCodes.Failure : ExitCodes.Success;
    }

    private static async Task<FetchResult> FetchWithProgressBarAsync(
        CliContext context, ISmartPopClient client, SmartPopAccount account, IMessageSink sink, CancellationToken cancellationToken)
    {
        IAnsiConsole terminal = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(context.Out) });
        return await terminal.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async progress =>
            {
                ProgressTask task = progress.AddTask($"{account.Name}: connecting", maxValue: 1);
                var reporter = new SynchronousProgress(p =>
                {
                    task.Description = $"{account.Name}: {p.Stage.ToString().ToLowerInvariant()}";
                    if (p.Stage == FetchStage.Downloading)
                    {
                        task.MaxValue = Math.Max(1, p.Total);
                        task.Value = p.Completed;
                    }
                });
                FetchResult result = await client.FetchAsync(account, sink, reporter, cancellationToken);
                task.Value = task.MaxValue;
                return result;
            });
    }

    /// <summary>Redirected output: one plain line whenever the stage changes (no bar, no escape codes).</summary>
    private sealed class PlainProgress(TextWriter output) : IProgress<FetchProgress>
    {
        private FetchStage? _last;

        public void Report(FetchProgress value)
        {
            if (value.Stage == _last || value.Stage == FetchStage.Done)
            {
                return;
            }

            _last = value.Stage;
            output.WriteLine(value.Stage == FetchStage.Downloading ? $"{value.AccountName}: downloading {value.Total} message(s)" : $"{value.AccountName}: {value.Stage.ToString().ToLowerInvariant()}");
        }
    }

    /// <summary>Reports on the caller's thread (unlike <see cref="Progress{T}"/>), so lines never arrive after the summary.</summary>
    private sealed class SynchronousProgress(Action<FetchProgress> report) : IProgress<FetchProgress>
    {
        public void Report(FetchProgress value) => report(value);
    }
}
