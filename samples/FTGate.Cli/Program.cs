using FTGate.Cli;

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await FTGateCli.RunAsync(args, CliConsole.FromSystemConsole(), cancel.Token);
