using FTGate.WebAdmin.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FTGate.WebAdmin.Pages;

/// <summary>Signs the admin out (POST only, with antiforgery): the session ends on the server, so a copy of the cookie is refused.</summary>
internal sealed class LogoutModel(AdminSessions sessions) : PageModel
{
    public IActionResult OnGet() => Redirect("/providers");

    public async Task<IActionResult> OnPostAsync()
    {
        sessions.End(User);
        await HttpContext.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
        return Redirect("/login");
    }
}
