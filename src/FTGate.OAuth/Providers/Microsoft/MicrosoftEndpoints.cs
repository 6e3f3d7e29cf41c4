namespace FTGate.OAuth.Internal;

/// <summary>The sign-in host, POP host and scope resources of each Microsoft cloud.</summary>
internal sealed class MicrosoftEndpoints
{
    private MicrosoftEndpoints(string loginHost, string popHost, string delegatedResource, string appOnlyResource)
    {
        LoginHost = loginHost;
        PopHost = popHost;
        DelegatedResource = delegatedResource;
        AppOnlyResource = appOnlyResource;
    }

    /// <summary>The Entra sign-in host (authority host).</summary>
    public string LoginHost { get; }

    /// <summary>The Exchange Online POP3 host.</summary>
    public string PopHost { get; }

    /// <summary>The resource of the delegated scope (<c>{resource}/POP.AccessAsUser.All</c>).</summary>
    public string DelegatedResource { get; }

    /// <summary>The resource of the app-only scope (<c>{resource}/.default</c>).</summary>
    public string AppOnlyResource { get; }

    public string DelegatedPopScope => DelegatedResource + "/POP.AccessAsUser.All";

    public string AppOnlyScope => AppOnlyResource + "/.default";

    public static MicrosoftEndpoints For(MicrosoftCloud cloud) => cloud switch
    {
        MicrosoftCloud.UsGovernment => new("login.microsoftonline.us", "outlook.office365.us", "https://outlook.office365.us", "https://outlook.office365.us"),
        MicrosoftCloud.China => new("login.chinacloudapi.cn", "partner.outlook.cn", "https://partner.outlook.cn", "https://partner.outlook.cn"),
        _ => new("login.microsoftonline.com", "outlook.office365.com", "https://outlook.office.com", "https://outlook.office365.com"),
    };

    /// <summary>The authority URL: the configured <see cref="AuthProviderOptions.Authority"/>, or <c>https://{login host}/{tenant}</c>.</summary>
    public static string Authority(MicrosoftAuthOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.Authority))
        {
            return options.Authority.TrimEnd('/');
        }

        return $"https://{For(options.Cloud).LoginHost}/{options.TenantId}";
    }

    /// <summary>True when a granted scope list contains the POP scope (with or without its resource prefix).</summary>
    public static bool HasPopScope(IEnumerable<string> scopes, string required)
    {
        string shortName = required[(required.LastIndexOf('/') + 1)..];
        return scopes.Any(s =>
            string.Equals(s, required, StringComparison.OrdinalIgnoreCase)
            || string.Equals(s, shortName, StringComparison.OrdinalIgnoreCase)
            || s.EndsWith("/" + shortName, StringComparison.OrdinalIgnoreCase));
    }
}
