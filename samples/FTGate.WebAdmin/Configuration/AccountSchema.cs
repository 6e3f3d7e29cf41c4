namespace FTGate.WebAdmin.Configuration;

/// <summary>The SmartPop account page: fields by tab, in SmartPopAccount's option names (booleans with their defaults).</summary>
internal static class AccountSchema
{
    /// <summary>The Auth Type value for password authentication (the other values are provider names).</summary>
    public const string PasswordAuthType = "Password";

    public static readonly IReadOnlyList<FieldDefinition> General =
    [
        new("Host", "POP3 server", FieldKind.Text, "outlook.office365.com for Microsoft 365, pop.gmail.com for Gmail.", Placeholder: "outlook.office365.com"),
        new("Port", "Port", FieldKind.Text, "Empty or 0: 995 for SSL on connect, 110 otherwise.", Placeholder: "995"),
        new("Security", "Security", FieldKind.Select, "SslOnConnect (POP3S) or StartTls. None only for a test server, with 'allow insecure authentication'.", ["SslOnConnect", "StartTls", "None"]),
        new("UserName", "User name", FieldKind.Text, "The mailbox: for OAuth2 the account that signed in at Authorize Now (or the shared mailbox's address).", Placeholder: "user@contoso.onmicrosoft.com"),
        new("LeaveOnServer", "Leave messages on the server", FieldKind.Checkbox, "Unticked: each message is deleted once it has been delivered."),
        new("Enabled", "Enabled", FieldKind.Checkbox, "Whether a poller collects this account."),
    ];

    public static readonly IReadOnlyList<FieldDefinition> Advanced =
    [
        new(FTGateRuntime.TrustedRootCertificateFileKey, "Trusted root certificate (PEM file)", FieldKind.Text, "Only for a server with a private CA: the server's certificate must chain to a certificate in this file (full chain validation; the host name is still checked). Leave empty to use the system's trusted roots."),
        new("CheckCertificateRevocation", "Check certificate revocation", FieldKind.Checkbox, "Untick only for a private CA that publishes no revocation list."),
        new("AllowInsecureAuthentication", "Allow insecure authentication", FieldKind.Checkbox, "Sends the token or password without encryption. Test servers only."),
        new("MaxMessageSize", "Largest message (bytes)", FieldKind.Text, "Larger messages are skipped and reported. Default 52428800 (50 MiB).", Placeholder: "52428800"),
        new("MaxMessagesPerPoll", "Messages per fetch", FieldKind.Text, "The rest follow in the next fetch. Default 1000; 0 means no limit.", Placeholder: "1000"),
        new("DeleteAfterDays", "Delete after days", FieldKind.Text, "With 'leave on server': delete a message this many days after it was collected.", Placeholder: "never"),
    ];

    /// <summary>Defaults of SmartPopAccount's boolean options (a cleared checkbox posts nothing, so each is stored explicitly).</summary>
    public static bool CheckboxDefault(string key) => key is "LeaveOnServer" or "Enabled" or "CheckCertificateRevocation";
}
