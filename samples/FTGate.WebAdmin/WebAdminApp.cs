using FTGate.WebAdmin.Configuration;
using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Authentication.Cookies;
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
                $"set the {AdminPasswordVariable} environment variable to the password that protects this admin site.");
        }

        WebAdminOptions options = builder.Configuration.GetSection(WebAdminOptions.SectionName).Get<WebAdminOptions>() ?? new WebAdminOptions();
        string dataDirectory = Path.GetFullPath(string.IsNullOrWhiteSpace(options.DataDirectory)
            ? Path.Combine(builder.Environment.ContentRootPath, "data")
            : options.DataDirectory);
        options.DataDirectory = dataDirectory;
        DataFolder.CreateOwnerOnly(dataDirectory);

        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(new AdminPassword(password));
        // Read (or created) now, so that a broken file stops the start instead of the first request.
        builder.Services.AddSingleton(new ConfigurationFile(Path.Combine(dataDirectory, "ftgate.json"), Path.Combine(dataDirectory, "tokens")));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<FTGateRuntime>();
        builder.Services.AddSingleton<PendingAuthorizations>();
        builder.Services.AddDataProtection()
            .SetApplicationName("FTGate.WebAdmin")
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(dataDirectory, "keys")));

        builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
            .AddCookie(o =>
            {
                o.Cookie.Name = "ftgate.admin";
                o.Cookie.HttpOnly = true;
                // Lax, not Strict: the provider's redirect back to /oauth/callback is a cross-site top-level GET that must
                // carry the admin session.
                o.Cookie.SameSite = SameSiteMode.Lax;
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.LoginPath = "/login";
                o.LogoutPath = "/logout";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
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

                    context.Response.Redirect(context.RedirectUri);
                    return Task.CompletedTask;
                };
            });
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build());
        builder.Services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "ftgate.af";
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.HeaderName = null;
        });
        builder.Services.AddRazorPages(o =>
        {
            o.Conventions.AllowAnonymousToPage("/Login");
        });

        WebApplication app = builder.Build();
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

    /// <summary>The redirect URI's path: the provider sends the browser back here.</summary>
    public const string OAuthCallbackPath = "/oauth/callback";
}
