using FTGate.OAuth;

namespace FTGate.WebAdmin.Configuration;

/// <summary>How a field is edited.</summary>
internal enum FieldKind
{
    Text,
    Secret,
    Select,
    Checkbox,
    List,
}

/// <summary>One field of a property page: its configuration key (the SDK's option name), label and help.</summary>
internal sealed record FieldDefinition(string Key, string Label, FieldKind Kind, string Help, IReadOnlyList<string>? Choices = null, bool Advanced = false, string? Placeholder = null);

/// <summary>A link on a property page.</summary>
internal sealed record HelpLink(string Text, string Url);

/// <summary>The property page of one provider type: fields, help links, and what to register at the provider.</summary>
internal sealed record ProviderTypeDefinition(AuthProviderKind Kind, string DisplayName, IReadOnlyList<FieldDefinition> Fields, IReadOnlyList<HelpLink> Links, string RedirectAdvice);

/// <summary>The provider types offered in the "Type" drop-down, with their fields, in the SDK's option names.</summary>
internal static class ProviderSchema
{
    /// <summary>Where the repository's docs/ folder is published.</summary>
    public const string DocsBaseUrl = "https://github.com/ftgate/ftgate-oauth/blob/main/docs/";

    public static readonly IReadOnlyList<ProviderTypeDefinition> Types =
    [
        new(
            AuthProviderKind.Microsoft,
            "OAuth2 Microsoft / Office 365",
            [
                new("ClientId", "Application (client) ID", FieldKind.Text, "The GUID on the app's Overview page in Microsoft Entra (not an e-mail address).", Placeholder: "00000000-0000-0000-0000-000000000000"),
                new("TenantId", "Directory (tenant) ID", FieldKind.Text, "Your tenant's GUID or verified domain; 'organizations' for any work/school account, 'consumers' for Outlook.com, 'common' for both.", Placeholder: "contoso.onmicrosoft.com"),
                new("ClientSecret", "Client secret", FieldKind.Secret, "The secret's Value (not its Secret ID) from Certificates & secrets. Secrets expire (at most 24 months): note the date."),
                new("UserName", "User name", FieldKind.Text, "The mailbox account that signs in, such as user@contoso.onmicrosoft.com.", Placeholder: "user@contoso.onmicrosoft.com"),
                new("Mailbox", "App-only mailbox", FieldKind.Text, "App-only mode only: the default mailbox. For a shared mailbox, put its address as the SmartPop account's user name instead.", Advanced: true),
                new("Mode", "Mode", FieldKind.Select, "Delegated: a person signs in with Authorize Now. AppOnly: client credentials with POP.AccessAsApp and an Exchange mailbox permission.", ["Delegated", "AppOnly"], Advanced: true),
                new("Cloud", "Cloud", FieldKind.Select, "The national cloud of the tenant.", ["Global", "UsGovernment", "China"], Advanced: true),
                new("CertificatePath", "Certificate (PFX) path", FieldKind.Text, "Instead of a client secret: the PFX file of the certificate uploaded to Microsoft Entra.", Advanced: true),
                new("CertificatePassword", "Certificate password", FieldKind.Secret, "The PFX file's password, if it has one.", Advanced: true),
                new("Scopes", "Scopes", FieldKind.List, "Leave empty for the tested default (POP.AccessAsUser.All, offline_access). Space-separated.", Advanced: true),
            ],
            [
                new("Microsoft Entra: App registrations", "https://entra.microsoft.com/#view/Microsoft_AAD_RegisteredApps/ApplicationsListBlade"),
                new("Setting up Microsoft 365 (docs/microsoft.md)", DocsBaseUrl + "microsoft.md"),
                new("Troubleshooting (docs/troubleshooting.md)", DocsBaseUrl + "troubleshooting.md"),
            ],
            "In Microsoft Entra > App registrations > your app > Authentication, add platform 'Web' with exactly this redirect URI. Microsoft accepts plain http only for 127.0.0.1/localhost; any other host name needs https."),
        new(
            AuthProviderKind.Google,
            "OAuth2 Google / Gmail",
            [
                new("ClientId", "Client ID", FieldKind.Text, "The OAuth client ID ending in .apps.googleusercontent.com (Google Cloud console > APIs & Services > Credentials).", Placeholder: "1234-abc.apps.googleusercontent.com"),
                new("ClientSecret", "Client secret", FieldKind.Secret, "The OAuth client's secret (client type 'Web application')."),
                new("UserName", "User name", FieldKind.Text, "The Gmail or Workspace address that signs in.", Placeholder: "user@gmail.com"),
                new("AppInTestingStatus", "App is in 'Testing' status", FieldKind.Checkbox, "Tick if the consent screen's publishing status is Testing with user type External: Google then expires refresh tokens after 7 days."),
                new("ServiceAccountKeyFile", "Service account key file", FieldKind.Text, "Workspace domain-wide delegation only: the service account's JSON key file (then no Authorize Now is needed).", Advanced: true),
                new("Scopes", "Scopes", FieldKind.List, "Leave empty: Gmail POP accepts only https://mail.google.com/.", Advanced: true),
            ],
            [
                new("Google Cloud console: Credentials", "https://console.cloud.google.com/apis/credentials"),
                new("Google Cloud console: OAuth consent screen", "https://console.cloud.google.com/apis/credentials/consent"),
                new("Setting up Gmail (docs/google.md)", DocsBaseUrl + "google.md"),
                new("Troubleshooting (docs/troubleshooting.md)", DocsBaseUrl + "troubleshooting.md"),
            ],
            "In Google Cloud console > Credentials > your OAuth client (type 'Web application'), add exactly this URI under 'Authorized redirect URIs'."),
        new(
            AuthProviderKind.OAuth2,
            "OAuth2 (any server)",
            [
                new("Authority", "Issuer (discovery)", FieldKind.Text, "The issuer URL whose /.well-known/openid-configuration lists the endpoints. Or leave empty and give the endpoints below.", Placeholder: "https://login.example.com"),
                new("AuthorizationEndpoint", "Authorization endpoint", FieldKind.Text, "Where the browser signs in (when no discovery document is used)."),
                new("TokenEndpoint", "Token endpoint", FieldKind.Text, "Where codes and refresh tokens are redeemed (when no discovery document is used)."),
                new("ClientId", "Client ID", FieldKind.Text, "The client id registered at the authorization server."),
                new("ClientSecret", "Client secret", FieldKind.Secret, "For a confidential client; leave empty for a public client (PKCE)."),
                new("ClientAuthentication", "Client authentication", FieldKind.Select, "How the secret is sent to the token endpoint.", ["ClientSecretBasic", "ClientSecretPost"]),
                new("UserName", "User name", FieldKind.Text, "The account that signs in.", Placeholder: "user@example.com"),
                new("Scopes", "Scopes", FieldKind.List, "Space-separated; empty means 'openid email offline_access'. Add the scope your mail server requires.", Placeholder: "openid email offline_access"),
                new("SaslMechanism", "SASL mechanism", FieldKind.Select, "What the mail server expects the token in.", ["XOAuth2", "OAuthBearer"], Advanced: true),
                new("Mode", "Mode", FieldKind.Select, "Delegated: a person signs in. ClientCredentials: the application itself (needs the secret).", ["Delegated", "ClientCredentials"], Advanced: true),
                new("DeviceAuthorizationEndpoint", "Device authorization endpoint", FieldKind.Text, "For the device sign-in (optional; taken from discovery).", Advanced: true),
                new("RevocationEndpoint", "Revocation endpoint", FieldKind.Text, "Used on sign-out (optional; taken from discovery).", Advanced: true),
                new("AllowInsecureHttp", "Allow plain http on non-loopback hosts", FieldKind.Checkbox, "Never in production: tokens would travel unencrypted.", Advanced: true),
            ],
            [
                new("Embedding the SDK (docs/embedding.md)", DocsBaseUrl + "embedding.md"),
                new("Troubleshooting (docs/troubleshooting.md)", DocsBaseUrl + "troubleshooting.md"),
            ],
            "Register exactly this redirect URI for the client at the authorization server."),
    ];

    public static ProviderTypeDefinition? Find(string? type) =>
        Enum.TryParse(type, ignoreCase: true, out AuthProviderKind kind) ? Types.FirstOrDefault(t => t.Kind == kind) : null;
}
