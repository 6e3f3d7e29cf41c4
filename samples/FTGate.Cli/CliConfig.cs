using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FTGate.Cli;

/// <summary>
/// The CLI's configuration file: one JSON document whose <c>FTGate</c> section has exactly the shape the SDK binds
/// (<c>Providers:&lt;name&gt;</c>, <c>SmartPop:Accounts:&lt;name&gt;</c>, <c>TokenStore:Directory</c>), so the same
/// file can be dropped into a host's <c>appsettings.json</c>. Relative paths are relative to the file's folder.
/// </summary>
/// <remarks>
/// Besides the SDK's own keys the CLI keeps three of its own, which the SDK's binder ignores:
/// <c>ClientSecretEnvironmentVariable</c> and <c>ClientSecretInTokenStore</c> on a provider, and
/// <c>TrustedRootCertificateFile</c> on an account. The file never holds a secret written by the CLI.
/// </remarks>
internal sealed class CliConfig
{
    public const string DefaultFileName = "ftgate.json";
    public const string DefaultTokenDirectory = "ftgate.tokens";
    public const string UidlDirectoryName = "ftgate.uidls";

    private static readonly JsonSerializerOptions s_write = new() { WriteIndented = true };
    private readonly JsonObject _root;
    private bool _hasComments;

    private CliConfig(string path, JsonObject root, bool exists)
    {
        Path = path;
        _root = root;
        Exists = exists;
    }

    /// <summary>The full path of the file.</summary>
    public string Path { get; }

    /// <summary>Whether the file existed when loaded.</summary>
    public bool Exists { get; private set; }

    /// <summary>The folder holding the file; relative paths in it are relative to this folder.</summary>
    public string Directory => System.IO.Path.GetDirectoryName(Path)!; // a full path always has a folder

    public JsonObject FTGate => Section(_root, "FTGate");

    public JsonObject Providers => Section(FTGate, "Providers");

    public JsonObject Accounts => Section(Section(FTGate, "SmartPop"), "Accounts");

    /// <summary>The token store folder (the encrypted file store), absolute.</summary>
    public string TokenDirectory =>
        ResolvePath((string?)Section(FTGate, "TokenStore")["Directory"] is { Length: > 0 } dir ? dir : DefaultTokenDirectory);

    /// <summary>Where the UIDLs of collected messages are remembered, beside the file.</summary>
    public string UidlDirectory => ResolvePath(UidlDirectoryName);

    /// <summary>Resolves the config path: <c>--config</c>, else <c>FTGATE_CONFIG</c>, else <c>./ftgate.json</c>.</summary>
    public static string ResolveLocation(string? option) =>
        System.IO.Path.GetFullPath(
            option is { Length: > 0 } ? option
            : Environment.GetEnvironmentVariable("FTGATE_CONFIG") is { Length: > 0 } env ? env
            : DefaultFileName);

    /// <summary>Loads the file, or starts an empty one when it does not exist.</summary>
    /// <exception cref="CliException">The file is not valid JSON.</exception>
    public static CliConfig Load(string path)
    {
        if (!File.Exists(path))
        {
            var root = new JsonObject { ["FTGate"] = new JsonObject { ["TokenStore"] = new JsonObject { ["Directory"] = DefaultTokenDirectory } } };
            return new CliConfig(path, root, exists: false);
        }

        try
        {
            JsonNode? node = JsonNode.Parse(File.ReadAllText(path), documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (node is not JsonObject obj)
            {
                throw new CliException(ExitCodes.UsageOrConfiguration, $"Config file '{path}' does not hold a JSON object.", "Fix the file, or point --config at another one.");
            }

            var config = new CliConfig(path, obj, exists: true) { _hasComments = HasComments(File.ReadAllBytes(path)) };
            config.Check();
            return config;
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"Config file '{path}' is not valid JSON: {ex.Message}", "Fix the file, or point --config at another one.");
        }
    }

    /// <summary>
    /// Checks what the SDK's binder would otherwise reject with a raw .NET message: the sections are objects, the names follow
    /// the name rules, and every known field has a value of its type. The message names the file, the field and the type.
    /// </summary>
    /// <exception cref="CliException">A section, name or field is wrong (exit code 2).</exception>
    private void Check()
    {
        foreach ((string sectionPath, string kind, JsonNode? section) in new[]
        {
            ("FTGate:Providers", "Provider", Find(FTGate, "Providers")),
            ("FTGate:SmartPop:Accounts", "Account", Find(Find(FTGate, "SmartPop") as JsonObject, "Accounts")),
        })
        {
            if (section is null)
            {
                continue;
            }

            if (section is not JsonObject items)
            {
                throw TypeError(sectionPath, section, "an object with one entry per name");
            }

            foreach ((string name, JsonNode? item) in items)
            {
                if (global::FTGate.Samples.NameRules.Check(kind, name) is { Count: > 0 } problems)
                {
                    throw new CliException(ExitCodes.UsageOrConfiguration, $"Config file '{Path}': {string.Join(" ", problems)}", $"Rename the entry under {sectionPath} in the file.");
                }

                if (item is not JsonObject fields)
                {
                    throw TypeError($"{sectionPath}:{name}", item, "an object of settings");
                }

                foreach ((string field, JsonNode? value) in fields)
                {
                    if (s_fieldTypes.TryGetValue(field, out FieldType type) && !Fits(value, type))
                    {
                        throw TypeError($"{sectionPath}:{name}:{field}", value, Describe(type));
                    }
                }
            }
        }
    }

    private CliException TypeError(string field, JsonNode? value, string expected) => new(
        ExitCodes.UsageOrConfiguration,
        $"Config file '{Path}': {field} is {(value is null ? "null" : global::FTGate.Samples.NameRules.Printable(Shorten(value.ToJsonString())))}; expected {expected}.",
        $"Correct {field} in the file (or remove the entry and add it again with 'ftgate').");

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";

    private static JsonNode? Find(JsonObject? parent, string name)
    {
        if (parent is null)
        {
            return null;
        }

        foreach ((string key, JsonNode? value) in parent)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private enum FieldType
    {
        Port,
        Int,
        Long,
        Bool,
        TimeSpan,
        DateTime,
        Text,
        List,
        Security,
        Mode,
        Cloud,
        Sasl,
        ClientAuthentication,
        ProviderType,
    }

    private static readonly Dictionary<string, FieldType> s_fieldTypes = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Port"] = FieldType.Port,
        ["MaxMessagesPerPoll"] = FieldType.Int,
        ["DeleteAfterDays"] = FieldType.Int,
        ["MaxMessageSize"] = FieldType.Long,
        ["LeaveOnServer"] = FieldType.Bool,
        ["Enabled"] = FieldType.Bool,
        ["CheckCertificateRevocation"] = FieldType.Bool,
        ["AllowInsecureAuthentication"] = FieldType.Bool,
        ["ProtocolLog"] = FieldType.Bool,
        ["ClientSecretInTokenStore"] = FieldType.Bool,
        ["AllowInsecureHttp"] = FieldType.Bool,
        ["AppInTestingStatus"] = FieldType.Bool,
        ["EnableInstanceDiscovery"] = FieldType.Bool,
        ["PollInterval"] = FieldType.TimeSpan,
        ["ConnectTimeout"] = FieldType.TimeSpan,
        ["CommandTimeout"] = FieldType.TimeSpan,
        ["RefreshMargin"] = FieldType.TimeSpan,
        ["ClientSecretExpiresOn"] = FieldType.DateTime,
        ["Scopes"] = FieldType.List,
        ["Security"] = FieldType.Security,
        ["Mode"] = FieldType.Mode,
        ["Cloud"] = FieldType.Cloud,
        ["SaslMechanism"] = FieldType.Sasl,
        ["ClientAuthentication"] = FieldType.ClientAuthentication,
        ["Type"] = FieldType.ProviderType,
        ["Host"] = FieldType.Text,
        ["UserName"] = FieldType.Text,
        ["ClientId"] = FieldType.Text,
        ["TenantId"] = FieldType.Text,
        ["Authority"] = FieldType.Text,
        ["TokenEndpoint"] = FieldType.Text,
        ["AuthorizationEndpoint"] = FieldType.Text,
        ["DeviceAuthorizationEndpoint"] = FieldType.Text,
        ["RevocationEndpoint"] = FieldType.Text,
        ["RedirectUri"] = FieldType.Text,
        ["AuthProvider"] = FieldType.Text,
        ["PasswordEnvironmentVariable"] = FieldType.Text,
        ["ClientSecretEnvironmentVariable"] = FieldType.Text,
        ["TrustedRootCertificateFile"] = FieldType.Text,
        ["Mailbox"] = FieldType.Text,
    };

    private static bool Fits(JsonNode? value, FieldType type)
    {
        if (type == FieldType.List)
        {
            return value is null || (value is JsonArray array && array.All(v => v is JsonValue));
        }

        if (value is null)
        {
            return type is FieldType.Text or FieldType.DateTime or FieldType.Int;
        }

        if (value is not JsonValue scalar)
        {
            return false;
        }

        string text = scalar.TryGetValue(out string? s) ? s : scalar.ToJsonString();
        System.Globalization.CultureInfo invariant = System.Globalization.CultureInfo.InvariantCulture;
        return type switch
        {
            FieldType.Port => int.TryParse(text, System.Globalization.NumberStyles.Integer, invariant, out int port) && port is >= 0 and <= 65535,
            FieldType.Int => int.TryParse(text, System.Globalization.NumberStyles.Integer, invariant, out _),
            FieldType.Long => long.TryParse(text, System.Globalization.NumberStyles.Integer, invariant, out _),
            FieldType.Bool => bool.TryParse(text, out _),
            FieldType.TimeSpan => TimeSpan.TryParse(text, invariant, out _),
            FieldType.DateTime => DateTimeOffset.TryParse(text, invariant, System.Globalization.DateTimeStyles.None, out _),
            FieldType.Security => Enum.TryParse<global::FTGate.SmartPop.Pop3Security>(text, ignoreCase: true, out _),
            FieldType.Mode => Enum.TryParse<global::FTGate.OAuth.MicrosoftAuthMode>(text, ignoreCase: true, out _) || Enum.TryParse<global::FTGate.OAuth.OAuth2GrantMode>(text, ignoreCase: true, out _),
            FieldType.Cloud => Enum.TryParse<global::FTGate.OAuth.MicrosoftCloud>(text, ignoreCase: true, out _),
            FieldType.Sasl => Enum.TryParse<global::FTGate.OAuth.SaslMechanismKind>(text, ignoreCase: true, out _),
            FieldType.ClientAuthentication => Enum.TryParse<global::FTGate.OAuth.ClientAuthenticationMethod>(text, ignoreCase: true, out _),
            FieldType.ProviderType => Enum.TryParse<global::FTGate.OAuth.AuthProviderKind>(text, ignoreCase: true, out _),
            _ => true,
        };
    }

    private static string Describe(FieldType type) => type switch
    {
        FieldType.Port => "a port number from 0 to 65535 (0: the default port)",
        FieldType.Int => "a whole number (Int32)",
        FieldType.Long => "a whole number of bytes (Int64)",
        FieldType.Bool => "true or false (Boolean)",
        FieldType.TimeSpan => "a duration such as \"00:05:00\" (TimeSpan)",
        FieldType.DateTime => "a date such as \"2027-06-30\" (DateTimeOffset)",
        FieldType.List => "a list of strings such as [\"openid\", \"email\"]",
        FieldType.Security => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.SmartPop.Pop3Security>()),
        FieldType.Mode => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.OAuth.MicrosoftAuthMode>().Concat(Enum.GetNames<global::FTGate.OAuth.OAuth2GrantMode>()).Distinct()),
        FieldType.Cloud => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.OAuth.MicrosoftCloud>()),
        FieldType.Sasl => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.OAuth.SaslMechanismKind>()),
        FieldType.ClientAuthentication => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.OAuth.ClientAuthenticationMethod>()),
        FieldType.ProviderType => "one of " + string.Join(", ", Enum.GetNames<global::FTGate.OAuth.AuthProviderKind>()),
        _ => "a string",
    };

    private static bool HasComments(byte[] json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Allow, AllowTrailingCommas = true });
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.Comment)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Already parsed successfully with comments skipped; a reader disagreement is not a comment.
        }

        return false;
    }

    /// <summary>Loads the file and insists that it exists (for commands that only read).</summary>
    public static CliConfig LoadExisting(string path)
    {
        CliConfig config = Load(path);
        return config.Exists
            ? config
            : throw new CliException(
                ExitCodes.UsageOrConfiguration,
                $"Config file '{path}' does not exist.",
                "Add a provider first ('ftgate provider add NAME ...'), or point --config (or FTGATE_CONFIG) at an existing file.");
    }

    /// <summary>The JSON text, as the SDK's configuration will read it.</summary>
    public byte[] ToUtf8() => Encoding.UTF8.GetBytes(_root.ToJsonString(s_write) + "\n");

    /// <summary>Finds an entry by name the way configuration does (case-insensitively).</summary>
    public static bool TryFind(JsonObject section, string name, out string key, out JsonObject entry)
    {
        foreach (KeyValuePair<string, JsonNode?> pair in section)
        {
            if (string.Equals(pair.Key, name, StringComparison.OrdinalIgnoreCase) && pair.Value is JsonObject obj)
            {
                key = pair.Key;
                entry = obj;
                return true;
            }
        }

        key = name;
        entry = null!; // not used when false is returned
        return false;
    }

    /// <summary>Resolves a path relative to the file's folder.</summary>
    public string ResolvePath(string path) => System.IO.Path.GetFullPath(path, Directory);

    /// <summary>Writes the file atomically (temporary file, then rename), owner-only on Unix.</summary>
    /// <exception cref="CliException">The file has comments, which a rewrite would drop.</exception>
    public void Save()
    {
        if (_hasComments)
        {
            throw new CliException(
                ExitCodes.UsageOrConfiguration,
                $"Config file '{Path}' has comments (// or /* */); rewriting it would drop them, so nothing was changed.",
                "Make this change by editing the file yourself, or remove the comments (keep notes in another file) and run the command again.");
        }

        System.IO.Directory.CreateDirectory(Directory);
        string temp = Path + ".tmp";
        File.WriteAllBytes(temp, ToUtf8());
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        File.Move(temp, Path, overwrite: true);
        Exists = true;
    }

    private static JsonObject Section(JsonObject parent, string name)
    {
        if (TryFind(parent, name, out _, out JsonObject existing))
        {
            return existing;
        }

        var created = new JsonObject();
        parent[name] = created;
        return created;
    }
}
