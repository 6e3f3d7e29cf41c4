using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FTGate.OAuth;

namespace FTGate.Samples;

/// <summary>
/// Binds the secrets an administrator entered (client secret, certificate password, service-account key, mailbox password)
/// to where they may be sent: a provider's (name, type, client id, tenant, cloud, authority and every endpoint) and an
/// account's (name, host, port). The binding is kept in the encrypted token store (AES-GCM, its key name authenticated), so
/// an edit of the configuration file cannot move it: when the bound fields no longer match, the secret is withheld and the
/// item is not handed to the SDK at all until the administrator enters (or confirms) the secret again.
/// </summary>
/// <remarks>Shared by the web admin and the <c>ftgate</c> CLI (the file is linked into both projects).</remarks>
internal static class SecretBinding
{
    /// <summary>Provider fields a secret or grant is bound to (besides the provider's name).</summary>
    public static readonly IReadOnlyList<string> ProviderBoundFields =
    [
        "Type", "ClientId", "TenantId", "Cloud", "Authority", "TokenEndpoint", "AuthorizationEndpoint",
        "DeviceAuthorizationEndpoint", "RevocationEndpoint", "AllowInsecureHttp",
    ];

    /// <summary>Provider fields that hold secrets.</summary>
    public static readonly IReadOnlyList<string> ProviderSecretFields = ["ClientSecret", "CertificatePassword", "ServiceAccountKeyJson"];

    /// <summary>Account fields a password is bound to (besides the account's name); the port is taken as the effective port.</summary>
    public static readonly IReadOnlyList<string> AccountBoundFields = ["Host", "Port"];

    /// <summary>Account fields that hold secrets.</summary>
    public static readonly IReadOnlyList<string> AccountSecretFields = ["Password"];

    private static readonly JsonSerializerOptions s_json = new();

    /// <summary>The token store key of a provider's binding.</summary>
    public static string ProviderKey(string name) => "binding/provider/" + name.ToUpperInvariant();

    /// <summary>The token store key of an account's binding.</summary>
    public static string AccountKey(string name) => "binding/account/" + name.ToUpperInvariant();

    /// <summary>The bound values of a provider as the SDK's binder reads them (keys matched case-insensitively).</summary>
    public static SortedDictionary<string, string> ProviderBound(string name, JsonObject settings)
    {
        var bound = new SortedDictionary<string, string>(StringComparer.Ordinal) { ["Name"] = name.ToUpperInvariant() };
        foreach (string field in ProviderBoundFields)
        {
            bound[field] = Read(settings, field);
        }

        bound["Type"] = bound["Type"].ToUpperInvariant();
        return bound;
    }

    /// <summary>The bound values of an account (host lower-cased, the effective port).</summary>
    public static SortedDictionary<string, string> AccountBound(string name, JsonObject settings)
    {
        string port = Read(settings, "Port");
        if (port is "" or "0")
        {
            port = Read(settings, "Security") is { Length: > 0 } security && !security.Equals("SslOnConnect", StringComparison.OrdinalIgnoreCase) ? "110" : "995";
        }

        return new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["Name"] = name.ToUpperInvariant(),
            ["Host"] = Read(settings, "Host").ToLowerInvariant(),
            ["Port"] = port,
        };
    }

    /// <summary>A fingerprint of bound values.</summary>
    public static string Fingerprint(SortedDictionary<string, string> bound)
    {
        var text = new StringBuilder("v1");
        foreach ((string key, string value) in bound)
        {
            text.Append('\n').Append(key).Append('=').Append(value.Replace("\n", "\\n", StringComparison.Ordinal));
        }

        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    /// <summary>
    /// Reads a field the way configuration does: case-insensitively; when a hand-edited file holds the key twice (differing in
    /// case), every value counts, so neither copy can change without changing the fingerprint.
    /// </summary>
    public static string Read(JsonObject settings, string field)
    {
        List<string>? values = null;
        foreach ((string key, JsonNode? value) in settings)
        {
            if (string.Equals(key, field, StringComparison.OrdinalIgnoreCase))
            {
                (values ??= []).Add(value is null ? "" : value is JsonValue v && v.TryGetValue(out string? s) ? s.Trim() : value.ToJsonString());
            }
        }

        return values is null ? "" : string.Join("\u001f", values);
    }

    /// <summary>Whether the settings hold any secret field (read case-insensitively).</summary>
    public static bool HasAny(JsonObject settings, IReadOnlyList<string> secretFields) =>
        secretFields.Any(f => Read(settings, f).Length > 0);

    /// <summary>Removes every secret field (whatever its case) from settings.</summary>
    public static Dictionary<string, string> Extract(JsonObject settings, IReadOnlyList<string> secretFields)
    {
        var secrets = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string field in secretFields)
        {
            string value = Read(settings, field);
            foreach (string key in settings.Select(p => p.Key).Where(k => string.Equals(k, field, StringComparison.OrdinalIgnoreCase)).ToList())
            {
                settings.Remove(key);
            }

            if (value.Length > 0)
            {
                secrets[field] = value;
            }
        }

        return secrets;
    }

    /// <summary>Reads a binding; <see langword="null"/> when none was recorded.</summary>
    /// <exception cref="TokenStoreCorruptedException">The store entry cannot be decrypted.</exception>
    public static async Task<Record?> ReadAsync(ITokenStore store, string key, CancellationToken cancellationToken)
    {
        TokenStoreEntry? entry = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        if (entry is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<Record>(entry.Value.Span, s_json);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Writes (replaces) a binding.</summary>
    public static Task WriteAsync(ITokenStore store, string key, Record record, CancellationToken cancellationToken) =>
        store.UpdateAsync(key, _ => JsonSerializer.SerializeToUtf8Bytes(record, s_json), cancellationToken: cancellationToken);

    /// <summary>
    /// Says why a binding no longer holds: which bound fields changed (values are endpoints and ids, not secrets).
    /// </summary>
    public static string Explain(Record record, SortedDictionary<string, string> current)
    {
        var changed = new List<string>();
        foreach ((string field, string now) in current)
        {
            string before = record.Bound.TryGetValue(field, out string? b) ? b : "";
            if (!string.Equals(before, now, StringComparison.Ordinal))
            {
                changed.Add(field == "Name" ? "the name" : $"{field} ('{Shorten(before)}' → '{Shorten(now)}')");
            }
        }

        return changed.Count == 0 ? "the bound settings changed" : string.Join(", ", changed) + " changed";
    }

    private static string Shorten(string value) => value.Length <= 80 ? value : value[..77] + "...";

    /// <summary>
    /// One binding: the fingerprint and the bound values it was made for, and the secrets entered for them (the web admin
    /// keeps secrets here; the CLI keeps the names of the variables or a prompted secret).
    /// </summary>
    internal sealed record Record(string Fingerprint, SortedDictionary<string, string> Bound, Dictionary<string, string> Secrets)
    {
        public static Record For(SortedDictionary<string, string> bound, Dictionary<string, string> secrets) => new(SecretBinding.Fingerprint(bound), bound, secrets);

        public bool Matches(SortedDictionary<string, string> current) => string.Equals(Fingerprint, SecretBinding.Fingerprint(current), StringComparison.Ordinal);

        /// <summary>Never prints the secrets.</summary>
        public override string ToString() => $"Binding({Fingerprint[..12]}, {Secrets.Count} secret(s))";
    }
}
