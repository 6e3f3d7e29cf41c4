using FTGate.WebAdmin;

// FTGate web admin sample. Everything is set up in WebAdminApp so that the tests start the same application.
WebApplication app;
try
{
    app = WebAdminApp.Create(args);
}
catch (WebAdminStartupException ex)
{
    await Console.Error.WriteLineAsync("FTGate web admin cannot start: " + ex.Message);
    return 2;
}

await app.RunAsync();
return 0;
