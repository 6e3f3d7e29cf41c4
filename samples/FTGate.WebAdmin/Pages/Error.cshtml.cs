using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace FTGate.WebAdmin.Pages;

/// <summary>The generic error page (no exception details are rendered).</summary>
[AllowAnonymous]
internal sealed class ErrorModel : PageModel
{
    public void OnGet()
    {
    }
}
