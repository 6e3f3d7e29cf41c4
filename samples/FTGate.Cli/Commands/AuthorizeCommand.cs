using System.CommandLine;
using System.Text.Json.Nodes;
using FTGate.OAuth;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace FTGate.Cli.Commands;

/// <summary><c>ftgate authorize NAME</c>: "Authorize Now" from a terminal.</summary>
internal static class AuthorizeCommand
{
    public const string UrlLinePrefix = "Open this URL to authorize: ";

    public static Command Create(GlobalOptions globals, CliConsole console)
    {
        Argument<string> name = new("NAME") { Description = "The provider to authorize." };
        Option<bool> deviceCode = new("--device-code") { Description = "Sign in on another device with a code (for servers without a browser)." };
        Option<bool> noBrowser = new("--no-browser") { Description = "Do not open a browser; only print the URL." };
        Option<int> timeout = new("--timeout") { Description = "How long to wait for the sign-in, in seconds.", DefaultValueFactory = _ => 300, HelpName = "SECONDS" };
        Command command = new("authorize", "Sign in at the provider and store the tokens (authorization code + PKCE with a loopback redirect, or --device-code).")
        {
            name, deviceCode, noBrowser, timeout,
        };
        command.SetAction((parse, ct) =>
        {
            CliContext context = globals.Context(parse, console);
            return context.RunAsync(() => RunAsync(context, parse.GetRequiredValue(name), parse.GetValue(deviceCode), parse.GetValue(noBrowser), parse.GetValue(timeout), ct));
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, string name, bool deviceCode, bool noBrowser, int timeoutSeconds, CancellationToken cancellationToken)
    {
        if (timeoutSeconds <= 0)
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"--timeout {timeoutSeconds} must be a positive number of seconds.", "Use, for example, --timeout 300.");
        }

        CliConfig config = CliConfig.LoadExisting(context.ConfigPath);
        (string key, JsonObject entry) = ProviderCommands.FindProvider(config, name);
        if ((string?)entry["ClientSecretEnvironmentVariable"] is { Length: > 0 } variable && Environment.GetEnvironmentVariable(variable) is not { Length: > 0 })
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"Provider '{key}': environment variable {variable} (ClientSecretEnvironmentVariable) is not set.", $"Set {variable} to the client secret's value, then run the command again.");
        }

        using IHost host = await CliHost.BuildAsync(config, context, cancellationToken);
        host.Services.ValidateFTGateConfiguration();
        IAuthProvider provider = host.Services.GetRequiredService<IAuthProviderRegistry>().Get(key);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        AuthorizationResult result;
        try
        {
            result = deviceCode
                ? await provider.AuthorizeWithDeviceCodeAsync((info, _) => ShowDeviceCodeAsync(context, info, timeoutSeconds), timeout.Token)
                : await AuthorizeInBrowserAsync(context, provider, RedirectUriOf(provider, entry), noBrowser, timeoutSeconds, timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new CliException(
                ExitCodes.AuthorizationNeeded,
                $"Provider '{key}': the sign-in did not finish within {timeoutSeconds} s; nothing was stored. Nothing came back to ftgate: the provider's page may be showing an error it does not send back (for example AADSTS50011, AADSTS50194, AADSTS90094 or Google's 'Error 403: access_denied').",
                $"Look at the browser: if the page shows an error code, run 'ftgate explain CODE' for its cause and fix. Otherwise run 'ftgate authorize \"{key}\"' again and finish signing in in time (or raise --timeout).");
        }

        context.Out.WriteLine($"Authorization granted for {result.UserName} (scopes: {string.Join(' ', result.Scopes)})");
        foreach (string warning in result.Warnings)
        {
            context.Out.WriteLine("warning: " + warning);
        }

        return ExitCodes.Success;
    }

    /// <summary>
    /// The configured redirect URI; else Microsoft's loopback form <c>http://localhost</c> (what Entra's "Mobile and desktop
    /// applications" platform registers, any port); else none, and the listener picks <c>http://127.0.0.1:&lt;port&gt;/</c>.
    /// </summary>
    private static string? RedirectUriOf(IAuthProvider provider, JsonObject entry) =>
        (string?)entry["RedirectUri"] is { Length: > 0 } configured ? configured
        : provider.Kind == AuthProviderKind.Microsoft ? "http://localhost/"
        : null;

    private static Task ShowDeviceCodeAsync(CliContext context, DeviceCodeInfo info, int timeoutSeconds)
    {
        context.Out.WriteLine($"To sign in, open {info.VerificationUri.AbsoluteUri} and enter the code {info.UserCode}");
        if (info.VerificationUriComplete is { } complete)
        {
            context.Out.WriteLine($"(or open {complete.AbsoluteUri}, which has the code filled in)");
        }

        context.Out.WriteLine($"Waiting up to {timeoutSeconds} s (the code expires at {info.ExpiresOn.ToLocalTime():HH:mm:ss})...");
        return Task.CompletedTask;
    }

    private static async Task<AuthorizationResult> AuthorizeInBrowserAsync(
        CliContext context, IAuthProvider provider, string? configuredRedirect, bool noBrowser, int timeoutSeconds, CancellationToken cancellationToken)
    {
        Uri? fixedRedirect = configuredRedirect is { Length: > 0 } ? new Uri(configuredRedirect) : null;
        if (fixedRedirect is not null && !LoopbackRedirectListener.CanServe(fixedRedirect))
        {
            return await AuthorizeByPastingAsync(context, provider, fixedRedirect, noBrowser, cancellationToken);
        }

        using LoopbackRedirectListener listener = LoopbackRedirectListener.Start(fixedRedirect);
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(listener.RedirectUri), cancellationToken);
        ShowUrl(context, challenge.AuthorizationUri, noBrowser);
        context.Out.WriteLine($"Waiting up to {timeoutSeconds} s for the browser to come back to {listener.RedirectUri.AbsoluteUri} ...");

        using LoopbackRedirectListener.Callback callback = await listener.AcceptCallbackAsync(
            challenge.State, _ => context.Console.Error.WriteLine("warning: ignored a request to the redirect address with a state that does not belong to this sign-in; still waiting."), cancellationToken);
        try
        {
            AuthorizationResult result = await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback.Uri), cancellationToken);
            await callback.RespondAsync("Authorization granted", $"ftgate is now authorized for {result.UserName}. You may close this window.", cancellationToken);
            return result;
        }
        catch (FTGateException ex)
        {
            CliException? explained = ExplainProviderError(provider.Name, AuthorizationCallback.FromUri(callback.Uri));
            await callback.RespondAsync("Authorization failed", (explained?.Message ?? ex.Message) + " The ftgate window says what to do. You may close this window.", cancellationToken);
            if (explained is not null)
            {
                throw explained;
            }

            throw;
        }
    }

    /// <summary>The provider redirected with error= (and error_description=): its cause and fix from the SDK's catalogue, at once.</summary>
    internal static CliException? ExplainProviderError(string providerName, AuthorizationCallback callback)
    {
        if (callback.Error is null || !FTGateErrorCatalog.TryExplain(callback.Error, callback.ErrorDescription, out ErrorExplanation? explanation))
        {
            return null;
        }

        string said = callback.ErrorDescription is null ? callback.Error : $"{callback.Error}: {callback.ErrorDescription.ReplaceLineEndings(" ")}";
        return new CliException(
            ExitCodes.AuthorizationNeeded,
            $"Provider '{providerName}': the sign-in failed with {explanation.Code} ({said}). Cause: {explanation.Cause}",
            explanation.Fix);
    }

    /// <summary>A redirect URI on a web server this machine cannot listen on: the person pastes where the browser ended up.</summary>
    private static async Task<AuthorizationResult> AuthorizeByPastingAsync(
        CliContext context, IAuthProvider provider, Uri redirectUri, bool noBrowser, CancellationToken cancellationToken)
    {
        AuthorizationChallenge challenge = await provider.BeginAuthorizationAsync(new AuthorizationRequest(redirectUri), cancellationToken);
        ShowUrl(context, challenge.AuthorizationUri, noBrowser);
        context.Out.WriteLine($"After signing in, the browser is sent to {redirectUri.AbsoluteUri}?code=... ; paste that whole address here and press Enter:");
        string? pasted = await context.Console.In.ReadLineAsync(cancellationToken);
        if (!Uri.TryCreate(pasted?.Trim(), UriKind.Absolute, out Uri? callback))
        {
            throw new CliException(ExitCodes.AuthorizationNeeded, "No redirect address was pasted; nothing was stored.", "Run the command again and paste the full address from the browser's address bar.");
        }

        try
        {
            return await provider.CompleteAuthorizationAsync(AuthorizationCallback.FromUri(callback), cancellationToken);
        }
        catch (FTGateException) when (ExplainProviderError(provider.Name, AuthorizationCallback.FromUri(callback)) is { } explained)
        {
            throw explained;
        }
    }

    private static void ShowUrl(CliContext context, Uri url, bool noBrowser)
    {
        context.Out.WriteLine(UrlLinePrefix + url.AbsoluteUri);
        if (!noBrowser && BrowserLauncher.TryOpen(url))
        {
            context.Out.WriteLine("(opened in your browser)");
        }
    }
}
