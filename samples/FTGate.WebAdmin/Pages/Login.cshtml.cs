using System.Globalization;
using System.Net;
using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FTGate.WebAdmin.Pages;

/// <summary>The admin sign-in: throttled per client address, every failure logged with the address (never the password).</summary>
internal sealed class LoginModel(AdminPassword adminPassword, LoginThrottle throttle, AdminSessions sessions, ILogger<LoginModel> logger) : PageModel
{
    public bool Failed { get; private set; }

    /// <summary>Set while this address must wait before trying again.</summary>
    public TimeSpan? RetryAfter { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(string? password)
    {
        IPAddress address = HttpContext.Connection.RemoteIpAddress ?? IPAddress.None;
        if (throttle.RetryAfter(address) is { } wait)
        {
            // Refused without looking at the password: during the delay the right password is refused too.
            logger.LogWarning("Admin sign-in from {Address} refused: too many failed attempts; allowed again in {Seconds} s.", address, Math.Ceiling(wait.TotalSeconds));
            return TooManyAttempts(wait);
        }

        if (!adminPassword.Matches(password))
        {
            (int failures, TimeSpan? delay) = throttle.Failed(address);
            logger.LogWarning(
                "Admin sign-in failed from {Address}: wrong password ({Failures} failure(s) in a row){Delay}.",
                address,
                failures,
                delay is { } d ? $"; further attempts refused for {d.TotalSeconds:0} s" : "");
            Failed = true;
            return Page();
        }

        throttle.Succeeded(address);
        await HttpContext.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, sessions.Start());
        logger.LogInformation("Admin signed in from {Address}.", address);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/providers");
    }

    private PageResult TooManyAttempts(TimeSpan wait)
    {
        RetryAfter = wait;
        Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return new PageResult { StatusCode = StatusCodes.Status429TooManyRequests };
    }
}
