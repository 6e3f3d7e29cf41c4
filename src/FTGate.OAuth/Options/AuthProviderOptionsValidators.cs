using System.Net;
using Microsoft.Extensions.Options;

namespace FTGate.OAuth.Internal;

/// <summary>Checks shared by every provider type; messages name the provider and the field.</summary>
internal abstract class AuthProviderOptionsValidator<TOptions> : IValidateOptions<TOptions>
    where TOptions : AuthProviderOptions
{
    public ValidateOptionsResult Validate(string? name, TOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        string prefix = $"Provider '{name ?? Options.DefaultName}': ";
        void Fail(string message) => problems.Add(prefix + message);

        if (options.RedirectUri is { Length: > 0 } redirect && !Uri.TryCreate(redirect, UriKind.Absolute, out _))
        {
            Fail($"RedirectUri '{redirect}' is not an absolute URL; use the exact URL registered with the provider, such as 'https://mail.example.com/oauth/callback' or 'http://127.0.0.1/'.");
        }

        if (options.RefreshMargin < TimeSpan.Zero || options.RefreshMargin > TimeSpan.FromMinutes(30))
        {
            Fail($"RefreshMargin {options.RefreshMargin} is out of range; use a value between 0 and 30 minutes (default 5 minutes).");
        }

        ValidateCore(options, Fail);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    protected abstract void ValidateCore(TOptions options, Action<string> fail);

    internal static bool LooksLikeEmail(string value) => value.Contains('@', StringComparison.Ordinal);

    internal static void ValidateEndpoint(string field, string? value, bool required, bool allowInsecureHttp, Action<string> fail)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                fail($"{field} is required.");
            }

            return;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            fail($"{field} '{value}' is not an absolute http(s) URL.");
            return;
        }

        if (uri.Scheme == Uri.UriSchemeHttp && !allowInsecureHttp && !IsLoopback(uri))
        {
            fail($"{field} '{value}' uses plain http on a non-loopback host; tokens would travel unencrypted. Use https (AllowInsecureHttp exists for isolated test networks only).");
        }
    }

    internal static bool IsLoopback(Uri uri) =>
        uri.IsLoopback || (IPAddress.TryParse(uri.Host.Trim('[', ']'), out IPAddress? ip) && IPAddress.IsLoopback(ip));
}

internal sealed class MicrosoftAuthOptionsValidator : AuthProviderOptionsValidator<MicrosoftAuthOptions>
{
    private static readonly string[] s_multiTenant = ["common", "organizations", "consumers"];

    private static readonly string[] s_personalDomains = ["msn.com", "passport.com", "windowslive.com", "outlook.com", "hotmail.com", "live.com"];

    /// <summary>Outlook.com addresses: msn.com, passport.com, windowslive.com and every outlook.*, hotmail.* and live.* domain (outlook.de, hotmail.co.uk, live.nl ...).</summary>
    /// <summary>
    /// A warning (not a failure: a personal account invited as a guest can sign in to a tenant) when a personal address is
    /// configured with a specific tenant; <see langword="null"/> otherwise.
    /// </summary>
    internal static string? PersonalAccountWarning(MicrosoftAuthOptions options) =>
        options.Mode == MicrosoftAuthMode.Delegated && options.UserName is { } user && IsPersonalMicrosoftAccount(user) && options.TenantId is { } tenantId
            && !string.Equals(tenantId, "consumers", StringComparison.OrdinalIgnoreCase) && !string.Equals(tenantId, "common", StringComparison.OrdinalIgnoreCase)
            ? $"UserName '{user}' is a personal Microsoft account (Outlook.com), but TenantId is '{tenantId}': personal accounts sign in with TenantId 'consumers' (personal accounts only) or 'common' (personal and work accounts) and an app registration whose 'Supported account types' include personal Microsoft accounts; a specific tenant works only if the account was invited to it as a guest."
            : null;

    internal static bool IsPersonalMicrosoftAccount(string userName)
    {
        int at = userName.LastIndexOf('@');
        if (at < 0 || at == userName.Length - 1)
        {
            return false;
        }

        string domain = userName[(at + 1)..].Trim().ToLowerInvariant();
        string first = domain.Split('.')[0];
        return s_personalDomains.Contains(domain, StringComparer.Ordinal) || (domain.Contains('.', StringComparison.Ordinal) && first is "outlook" or "hotmail" or "live");
    }

    private static void ValidateAppOnly(MicrosoftAuthOptions options, Action<string> fail)
    {
        if (options.TenantId is { } tenant && s_multiTenant.Contains(tenant, StringComparer.OrdinalIgnoreCase))
        {
            fail($"TenantId '{tenant}' cannot be used with Mode AppOnly: client credentials need a specific tenant; use the Directory (tenant) ID GUID or a verified domain.");
        }

        if (string.IsNullOrEmpty(options.ClientSecret) && string.IsNullOrEmpty(options.CertificatePath))
        {
            fail("Mode AppOnly needs ClientSecret or CertificatePath: add a client secret or upload a certificate under 'Certificates & secrets' in Microsoft Entra.");
        }

        if (string.IsNullOrWhiteSpace(options.Mailbox) && string.IsNullOrWhiteSpace(options.UserName))
        {
            fail("Mode AppOnly needs Mailbox (or UserName): the address of the mailbox the application reads.");
        }
    }

    protected override void ValidateCore(MicrosoftAuthOptions options, Action<string> fail)
    {
        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            fail("ClientId is required: copy the 'Application (client) ID' GUID from the app's Overview page in Microsoft Entra.");
        }
        else if (!Guid.TryParse(options.ClientId, out _))
        {
            fail(LooksLikeEmail(options.ClientId)
                ? $"ClientId '{options.ClientId}' is an e-mail address, but it must be the 'Application (client) ID' GUID from the app's Overview page in Microsoft Entra (the e-mail address goes in UserName)."
                : $"ClientId '{options.ClientId}' is not a GUID; copy the 'Application (client) ID' from the app's Overview page in Microsoft Entra.");
        }

        if (string.IsNullOrWhiteSpace(options.TenantId))
        {
            fail("TenantId is required for Microsoft work/school accounts; use 'common' to allow any, 'organizations' for any work/school account, 'consumers' for Outlook.com, or your Directory (tenant) ID.");
        }
        else if (!IsValidTenant(options.TenantId))
        {
            fail($"TenantId '{options.TenantId}' is neither 'common', 'organizations', 'consumers', a GUID nor a domain name; copy the 'Directory (tenant) ID' from the app's Overview page.");
        }

        if (!string.IsNullOrEmpty(options.ClientSecret) && !string.IsNullOrEmpty(options.CertificatePath))
        {
            fail("ClientSecret and CertificatePath are both set; configure exactly one client credential.");
        }

        if (options.Mode == MicrosoftAuthMode.AppOnly)
        {
            ValidateAppOnly(options, fail);
        }
        else if (string.IsNullOrWhiteSpace(options.UserName))
        {
            fail("UserName is required: the account that signs in, such as 'user@domain.onmicrosoft.com'.");
        }

        if (!Enum.IsDefined(options.Cloud))
        {
            fail($"Cloud '{options.Cloud}' is not a Microsoft cloud; use Global, UsGovernment or China.");
        }
        else if (options.Cloud != MicrosoftCloud.Global && string.Equals(options.TenantId, "consumers", StringComparison.OrdinalIgnoreCase))
        {
            fail($"TenantId 'consumers' (personal Outlook.com accounts) exists only in the Global cloud, not in {options.Cloud}; use the tenant's Directory (tenant) ID.");
        }

        if (options.Mode == MicrosoftAuthMode.Delegated && !string.IsNullOrWhiteSpace(options.Mailbox))
        {
            // The shared-mailbox rule: the token is the signed-in user's; which mailbox is read is the SmartPop account's UserName.
            fail($"Mailbox '{options.Mailbox}' is only for Mode AppOnly. For a shared mailbox, remove Mailbox and set the SmartPop account's UserName to '{options.Mailbox}' with this provider: it logs in to that mailbox with {options.UserName ?? "the signed-in user"}'s token (grant FullAccess: Add-MailboxPermission -Identity {options.Mailbox} -User {options.UserName ?? "<user>"} -AccessRights FullAccess).");
        }

        if (!string.IsNullOrWhiteSpace(options.Mailbox) && !LooksLikeEmail(options.Mailbox))
        {
            fail($"Mailbox '{options.Mailbox}' is not an e-mail address; give the address of the mailbox to collect, such as 'shared@contoso.com'.");
        }

        if (options.Mode == MicrosoftAuthMode.Delegated && !string.IsNullOrWhiteSpace(options.UserName) && !LooksLikeEmail(options.UserName))
        {
            fail($"UserName '{options.UserName}' is not an e-mail address; Microsoft sign-in names look like 'user@contoso.com'.");
        }

        if (!string.IsNullOrEmpty(options.CertificatePath) && !File.Exists(options.CertificatePath))
        {
            fail($"CertificatePath '{options.CertificatePath}' does not exist; give the path of the PFX file holding the certificate uploaded to Microsoft Entra.");
        }

        if (!string.IsNullOrEmpty(options.Authority))
        {
            ValidateEndpoint(nameof(options.Authority), options.Authority, required: false, allowInsecureHttp: false, fail);
        }
    }

    internal static bool IsValidTenant(string tenant) =>
        s_multiTenant.Contains(tenant, StringComparer.OrdinalIgnoreCase)
        || Guid.TryParse(tenant, out _)
        || (tenant.Contains('.', StringComparison.Ordinal) && !tenant.Contains('@', StringComparison.Ordinal)
            && Uri.CheckHostName(tenant) == UriHostNameType.Dns);
}

internal sealed class GoogleAuthOptionsValidator : AuthProviderOptionsValidator<GoogleAuthOptions>
{
    internal const string GmailScope = "https://mail.google.com/";

    protected override void ValidateCore(GoogleAuthOptions options, Action<string> fail)
    {
        bool serviceAccount = !string.IsNullOrWhiteSpace(options.ServiceAccountKeyJson) || !string.IsNullOrWhiteSpace(options.ServiceAccountKeyFile);
        if (!serviceAccount && string.IsNullOrWhiteSpace(options.ClientId))
        {
            fail("ClientId is required: copy the OAuth client ID (ending in '.apps.googleusercontent.com') from Google Cloud console > APIs & Services > Credentials.");
        }

        if (string.IsNullOrWhiteSpace(options.UserName))
        {
            fail(serviceAccount
                ? "UserName is required: the Workspace mailbox the service account impersonates."
                : "UserName is required: the Gmail or Workspace address that signs in.");
        }

        if (!serviceAccount)
        {
            if (!string.IsNullOrWhiteSpace(options.ClientId))
            {
                if (LooksLikeEmail(options.ClientId))
                {
                    fail($"ClientId '{options.ClientId}' is an e-mail address, but it must be the OAuth client ID ending in '.apps.googleusercontent.com' (the e-mail address goes in UserName).");
                }
                else if (!options.ClientId.EndsWith(".apps.googleusercontent.com", StringComparison.OrdinalIgnoreCase))
                {
                    fail($"ClientId '{options.ClientId}' does not end in '.apps.googleusercontent.com'; copy the OAuth 2.0 client ID of a 'Desktop app' or 'Web application' client from Google Cloud console > APIs & Services > Credentials.");
                }
            }

            if (string.IsNullOrWhiteSpace(options.ClientSecret))
            {
                fail("ClientSecret is required: Google's token endpoint asks for the client secret of 'Desktop app' and 'Web application' clients alike; copy it from the same Credentials page as the ClientId.");
            }

            if (options.RedirectUri is { } redirectUri && redirectUri.StartsWith("urn:ietf:wg:oauth:2.0:oob", StringComparison.OrdinalIgnoreCase))
            {
                fail("RedirectUri 'urn:ietf:wg:oauth:2.0:oob' (copy/paste) has been blocked by Google; use a loopback URL such as 'http://127.0.0.1/' (Desktop app client) or the host's https callback URL (Web application client).");
            }
        }
        else
        {
            if (!string.IsNullOrWhiteSpace(options.ServiceAccountKeyJson) && !string.IsNullOrWhiteSpace(options.ServiceAccountKeyFile))
            {
                fail("ServiceAccountKeyJson and ServiceAccountKeyFile are both set; configure exactly one.");
            }

            if (!string.IsNullOrWhiteSpace(options.ServiceAccountKeyJson))
            {
                ValidateServiceAccountJson("ServiceAccountKeyJson", options.ServiceAccountKeyJson, fail);
            }
            else if (options.ServiceAccountKeyFile is { } file && File.Exists(file))
            {
                ValidateServiceAccountJson($"ServiceAccountKeyFile '{file}'", File.ReadAllText(file), fail);
            }
        }

        if (!string.IsNullOrWhiteSpace(options.UserName) && !LooksLikeEmail(options.UserName))
        {
            fail($"UserName '{options.UserName}' is not an e-mail address; use the full Gmail or Workspace address.");
        }

        if (!string.IsNullOrWhiteSpace(options.ServiceAccountKeyFile) && !File.Exists(options.ServiceAccountKeyFile))
        {
            fail($"ServiceAccountKeyFile '{options.ServiceAccountKeyFile}' does not exist; download the service account's JSON key from Google Cloud console > IAM & Admin > Service Accounts > Keys.");
        }

        foreach (string scope in options.Scopes)
        {
            if (!string.Equals(scope, GmailScope, StringComparison.Ordinal))
            {
                fail($"Scopes contains '{scope}', but Gmail POP accepts only '{GmailScope}' (the one scope Google grants for IMAP/POP/SMTP; the SDK adds 'openid email' itself to check which account signed in); remove the Scopes setting to use it.");
            }
        }
    }

    private static void ValidateServiceAccountJson(string field, string json, Action<string> fail)
    {
        try
        {
            using var doc = System.Text.Json.JsonDocument.Parse(json);
            System.Text.Json.JsonElement root = doc.RootElement;
            string? type = root.TryGetProperty("type", out System.Text.Json.JsonElement t) ? t.GetString() : null;
            if (!string.Equals(type, "service_account", StringComparison.Ordinal))
            {
                fail($"{field} is not a service account key (its \"type\" is '{type}', expected 'service_account'); download a JSON key under IAM & Admin > Service Accounts > Keys.");
                return;
            }

            foreach (string property in new[] { "client_email", "private_key", "client_id" })
            {
                if (!root.TryGetProperty(property, out System.Text.Json.JsonElement value) || string.IsNullOrWhiteSpace(value.GetString()))
                {
                    fail($"{field} has no '{property}'; use the JSON key file exactly as Google Cloud console downloaded it.");
                }
            }
        }
        catch (System.Text.Json.JsonException)
        {
            fail($"{field} is not valid JSON; use the JSON key file exactly as Google Cloud console downloaded it.");
        }
        catch (InvalidOperationException)
        {
            fail($"{field} is not a JSON object with string fields; use the JSON key file exactly as Google Cloud console downloaded it.");
        }
    }
}

internal sealed class OAuth2AuthOptionsValidator : AuthProviderOptionsValidator<OAuth2AuthOptions>
{
    protected override void ValidateCore(OAuth2AuthOptions options, Action<string> fail)
    {
        if (string.IsNullOrWhiteSpace(options.ClientId))
        {
            fail("ClientId is required: the client id registered at the authorization server.");
        }

        bool hasDiscovery = !string.IsNullOrWhiteSpace(options.Authority);
        bool hasEndpoints = !string.IsNullOrWhiteSpace(options.TokenEndpoint);
        if (!hasDiscovery && !hasEndpoints)
        {
            fail("Authority (an issuer with a discovery document) or TokenEndpoint (with AuthorizationEndpoint for sign-in) is required.");
        }

        ValidateEndpoint(nameof(options.Authority), options.Authority, required: false, options.AllowInsecureHttp, fail);
        ValidateEndpoint(nameof(options.AuthorizationEndpoint), options.AuthorizationEndpoint, required: false, options.AllowInsecureHttp, fail);
        ValidateEndpoint(nameof(options.TokenEndpoint), options.TokenEndpoint, required: false, options.AllowInsecureHttp, fail);
        ValidateEndpoint(nameof(options.DeviceAuthorizationEndpoint), options.DeviceAuthorizationEndpoint, required: false, options.AllowInsecureHttp, fail);
        ValidateEndpoint(nameof(options.RevocationEndpoint), options.RevocationEndpoint, required: false, options.AllowInsecureHttp, fail);

        if (options.Mode == OAuth2GrantMode.ClientCredentials && string.IsNullOrEmpty(options.ClientSecret))
        {
            fail("Mode ClientCredentials needs ClientSecret.");
        }

        if (options.Mode == OAuth2GrantMode.Delegated && string.IsNullOrWhiteSpace(options.UserName))
        {
            fail("UserName is required: the account that signs in.");
        }
    }
}
