using FTGate.OAuth;
using FTGate.WebAdmin.Configuration;
using FTGate.WebAdmin.Security;
using System.Net;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace FTGate.WebAdmin;

/// <summary>Builds the web admin application (used by Program and by the tests).</summary>
public static class WebAdminApp
{
    /// <summary>The environment variable (or configuration key) that holds the admin password.</summary>
    public const string AdminPasswordVariable = "FTGATE_ADMIN_PASSWORD";

    /// <summary>Creates the application.</summary>
    /// <param name="args">Command-line arguments (<c>--urls</c>, <c>--WebAdmin:DataDirectory=...</c>).</param>
    /// <param name="configure">Lets a test add configuration or services before the application is built.</param>
    /// <returns>The application, not yet started.</returns>
    /// <exception cref="WebAdminStartupException">No admin password is configured.</exception>
    public static WebApplication Create(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // Razor Pages are found through the application name; name this assembly so a test host finds them too.
            ApplicationName = typeof(WebAdminApp).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);

        // The request log line carries the query string, and /oauth/callback's query holds the authorization code: keep
        // ASP.NET Core's per-request logging off so that no code (or other secret) reaches the logs.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Routing", LogLevel.Warning);
        builder.Logging.AddFilter("Microsoft.AspNetCore.Mvc", LogLevel.Warning);

        // Loopback only unless the operator says otherwise.
        if (string.IsNullOrWhiteSpace(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(WebAdminOptions.DefaultUrl);
        }

        string? password = builder.Configuration[AdminPasswordVariable];
        if (string.IsNullOrEmpty(password))
        {
            throw new WebAdminStartupException(
                $"set the {AdminPasswordVariable} environment variable to the password that protects this admin site (at least {WebAdminOptions.MinimumPasswordLength} characters).");
        }

        if (AdminPassword.Problem(password) is { } passwordProblem)
        {
            throw new WebAdminStartupException($"{AdminPasswordVariable}: {passwordProblem}.");
        }

        WebAdminOptions options = builder.Configuration.GetSection(WebAdminOptions.SectionName).Get<WebAdminOptions>() ?? new WebAdminOptions();
        ConfigureHostAndProxies(builder, options);
        string dataDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(options.DataDirectory)
            ? Path.Combine(builder.Environment.ContentRootPath, "data")
            : options.DataDirectory);
        options.DataDirectory = dataDirectory;
        DataFolder.CreateOwnerOnly(dataDirectory);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new AdminPassword(password));
        builder.Services.AddSingleton<LoginThrottle>();
        builder.Services.AddSingleton<AdminSessions>();
        // Read (or created) now, so that a broken file stops the start instead of the first request.
        builder.Services.AddSingleton(new ConfigurationFile(Path.Combine(dataDirectory, "ftgate.json"), Path.Combine(dataDirectory, "tokens")));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton(sp => new FileTokenStore(
            new FileTokenStoreOptions { Directory = sp.GetRequiredService<ConfigurationFile>().TokenDirectory, RefuseUnsafePermissions = options.RefuseUnsafePermissions },
            sp.GetRequiredService<ILogger<FileTokenStore>>()));
        builder.Services.AddSingleton<SecretVault>(sp => new SecretVault(sp.GetRequiredService<FileTokenStore>(), sp.GetRequiredService<ILogger<SecretVault>>()));
        builder.Services.AddSingleton<FTGateRuntime>();
        builder.Services.AddSingleton<PendingAuthorizations>();
        builder.Services.AddDataProtection()
            .SetApplicationName("FTGate.WebAdmin")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "keys")));

        // Behind a TLS-terminating proxy (or with an https public URL) the cookies are Secure whatever the hop to us was.
        bool secureCookies = options.SecureCookies;
        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = "ftgate.admin";
                o.Cookie.HttpOnly = true;
                // Lax, not Strict: the provider's redirect back to /oauth/callback is a cross-site top-level GET that must
                // carry the admin session.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = secureCookies ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
                o.LoginPath = "/login";
                o.LogoutPath = "/logout";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.Events.OnValidatePrincipal = async context =>
                {
                    // Server-side sessions: a signed-out session, or one started under another admin password, is refused.
                    if (!context.HttpContext.RequestServices.GetRequiredService<AdminSessions>().IsLive(context.Principal))
                    {
                        context.RejectPrincipal();
                        await context.HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
                    }
                };
                o.Events.OnRedirectToLogin = context =>
                {
                    // An authorization response without an admin session is refused outright (never processed, never
                    // carried through the sign-in page).
                    if (context.Request.Path.StartsWithSegments(OAuthCallbackPath, StringComparison.OrdinalIgnoreCase))
                    {
                        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                        context.Response.ContentType = "text/plain; charset=utf-8";
                        return context.Response.WriteAsync(
                            "401 Unauthorized: this authorization response arrived without an admin session and was not processed. Sign in to the FTGate admin and click Authorize Now again.",
                            context.HttpContext.RequestAborted);
                    }

                    // Relative: the Location header never carries a host name taken from the request.
                    Uri redirect = new(context.RedirectUri, UriKind.RelativeOrAbsolute);
                    context.Response.Redirect(redirect.IsAbsoluteUri ? redirect.PathAndQuery : context.RedirectUri);
                    return Task.CompletedTask;
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "ftgate.af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the (forwarded) request is https; antiforgery refuses to run over http with Always.
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.HeaderName = null;
        });
        builder.Services.AddRazorPages(o =>
        {
            o.Conventions.AllowAnonymousToPage("/Login");
        });

        WebApplication app = builder.Build();
        options.BoundAddress = () => app.Services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>()?
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault() is { } bound
            ? bound.Replace("://[::]", "://localhost", StringComparison.Ordinal).Replace("://0.0.0.0", "://localhost", StringComparison.Ordinal)
                .Replace("://+", "://localhost", StringComparison.Ordinal).Replace("://*", "://localhost", StringComparison.Ordinal)
            : null;

        // Secrets are bound to their settings before the SDK sees any of them (and moved out of the file if typed into it).
        app.Services.GetRequiredService<SecretVault>()
            .LoadAsync(app.Services.GetRequiredService<ConfigurationFile>(), CancellationToken.None)
            .GetAwaiter().GetResult();
        if (options.KnownProxies.Count > 0)
        {
            var forwarded = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = 1 };
            forwarded.KnownIPNetworks.Clear();
            forwarded.KnownProxies.Clear();
            foreach (string proxy in options.KnownProxies)
            {
                forwarded.KnownProxies.Add(IPAddress.Parse(proxy)); // checked in ConfigureHostAndProxies
            }

            app.UseForwardedHeaders(forwarded);
        }

        app.UseMiddleware<SecurityHeadersMiddleware>();
        if (!app.Environment.IsDevelopment())
        {
            app.UseExceptionHandler("/error");
        }

        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGet("/site.css", () => Results.Text(SiteStyles.Css, "text/css; charset=utf-8")).AllowAnonymous();
        app.MapGet("/", () => Results.Redirect("/providers"));
        app.MapRazorPages();

        app.Logger.LogInformation(
            "FTGate web admin: data in {DataDirectory}; configuration file {ConfigurationFile}",
            dataDirectory,
            Path.Combine(dataDirectory, "ftgate.json"));
        return app;
    }

    /// <summary>
    /// Checks <c>WebAdmin:PublicUrl</c> and <c>WebAdmin:KnownProxies</c>, and sets the standard <c>AllowedHosts</c> (host
    /// filtering: any other Host header gets 400) when the operator did not: the loopback names, the host names the site is
    /// bound to, and the public URL's host.
    /// </summary>
    private static void ConfigureHostAndProxies(WebApplicationBuilder builder, WebAdminOptions options)
    {
        string? publicUrl = options.PublicUrl ?? options.PublicBaseUrl;
        if (publicUrl is not null
            && (!Uri.TryCreate(publicUrl, UriKind.Absolute, out Uri? parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
                || !string.IsNullOrEmpty(parsed.Query) || !string.IsNullOrEmpty(parsed.Fragment) || parsed.PathAndQuery != "/"))
        {
            throw new WebAdminStartupException(
                $"WebAdmin:PublicUrl '{publicUrl}' is not an absolute http(s) URL without a path, such as https://mail.example.com:8443.");
        }

        foreach (string proxy in options.KnownProxies)
        {
            if (!IPAddress.TryParse(proxy, out _))
            {
                throw new WebAdminStartupException($"WebAdmin:KnownProxies: '{proxy}' is not an IP address; list the reverse proxies' addresses, such as 127.0.0.1 or 10.0.0.5.");
            }
        }

        if (!string.IsNullOrWhiteSpace(builder.Configuration["AllowedHosts"]))
        {
            return;
        }

        var hosts = new SortedSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]" };
        string urls = builder.Configuration[WebHostDefaults.ServerUrlsKey] ?? WebAdminOptions.DefaultUrl;
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (Uri.TryCreate(url.Replace("://+", "://wildcard", StringComparison.Ordinal).Replace("://*", "://wildcard", StringComparison.Ordinal), UriKind.Absolute, out Uri? bound)
                && bound.Host is not ("wildcard" or "0.0.0.0" or "[::]"))
            {
                hosts.Add(bound.Host);
            }
        }

        if (publicUrl is not null)
        {
            hosts.Add(new Uri(publicUrl).Host);
        }

        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["AllowedHosts"] = string.Join(';', hosts) });
    }

    /// <summary>The redirect URI's path: the provider sends the browser back here.</summary>
    public const string OAuthCallbackPath = "/oauth/callback";
}
