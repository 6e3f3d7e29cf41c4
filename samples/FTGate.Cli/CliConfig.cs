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
            return node is JsonObject obj
                ? new CliConfig(path, obj, exists: true)
                : throw new CliException(ExitCodes.UsageOrConfiguration, $"Config file '{path}' does not hold a JSON object.", "Fix the file, or point --config at another one.");
        }
        catch (JsonException ex)
        {
            throw new CliException(ExitCodes.UsageOrConfiguration, $"Config file '{path}' is not valid JSON: {ex.Message}", "Fix the file, or point --config at another one.");
        }
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
    public void Save()
    {
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
